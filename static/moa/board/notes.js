// The notes panel: a node's notes (its `body`) in a text box over the board's corner.
// Save (or Ctrl+Enter) saves them to the node the panel was opened on, whatever is
// selected by then; Escape or Cancel closes it unsaved.

const $ = (id) => document.getElementById(id);

export function createNotes({ board, svg }) {
  const panel = $("board-notes");
  const text = $("board-notes-text");
  let notesFor = null;

  function open(node) {
    notesFor = node.id;
    $("board-notes-title").textContent = `Notes: ${node.title || "untitled"}`;
    text.value = node.body ?? "";
    panel.hidden = false;
    text.focus();
  }

  function close(save = false) {
    if (panel.hidden) return;
    const node = board.nodes().get(notesFor);
    if (save && node && text.value !== (node.body ?? "")) {
      board.submit([{ kind: "node.update", id: notesFor, set: { body: text.value } }]);
    }
    panel.hidden = true;
    notesFor = null;
    svg.focus({ preventScroll: true });
  }

  $("board-notes-save").addEventListener("click", () => close(true));
  $("board-notes-cancel").addEventListener("click", () => close(false));
  text.addEventListener("keydown", (event) => {
    event.stopPropagation();  // the page's keys (undo) do not act while typing notes
    if (event.key === "Escape") close(false);
    else if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) close(true);
  });
  return { open, close };
}
