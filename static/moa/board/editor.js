// Editing a title on the node itself: a textarea laid over the node's box. Enter saves,
// Shift+Enter starts a new line, Escape cancels, leaving the editor (a click elsewhere)
// saves. The title always goes to the node the editor was opened on, whatever is
// selected by then. `save(id, title)` returns false when the title cannot be saved now
// (the board turned read-only while the person typed): the editor then stays open with
// the text, so nothing typed is dropped unseen (Escape closes it).

export function createEditor({ frame, save, closed }) {
  const area = document.createElement("textarea");
  area.className = "node-editor";
  area.maxLength = 200;
  area.rows = 1;
  area.spellcheck = true;
  area.hidden = true;
  area.setAttribute("aria-label", "Title");
  frame.append(area);
  let editing = null;  // {id, original}

  // True when the editor closed (false: the title could not be saved, the text stays).
  function finish(keep) {
    if (!editing) return true;
    const { id, original } = editing;
    const title = area.value.replace(/\r/g, "");
    if (keep && title !== original && save(id, title) === false) return false;
    editing = null;
    area.hidden = true;
    closed(id);
    return true;
  }

  area.addEventListener("keydown", (event) => {
    event.stopPropagation();  // the board's keys do not act while typing
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      finish(true);
    } else if (event.key === "Escape") {
      event.preventDefault();
      finish(false);
    } else if (event.key === "Tab") {  // save; the board then adds a child or sibling
      event.preventDefault();
      const id = editing?.id;
      if (finish(true)) frame.dispatchEvent(new CustomEvent("editor-tab", { detail: { id, shift: event.shiftKey } }));
    }
  });
  area.addEventListener("input", () => grow());
  area.addEventListener("blur", () => finish(true));

  function grow() {
    area.style.height = "auto";
    area.style.height = `${area.scrollHeight}px`;
  }

  return {
    get editing() { return editing?.id ?? null; },
    // Open on node `id`; `text` replaces the title (typing on a selected node), else
    // the whole title is selected.
    open(id, title, text = null) {
      if (editing && !finish(true)) return;
      editing = { id, original: title };
      area.value = text ?? title;
      area.hidden = false;
      area.focus();
      if (text === null) area.select();
      else area.setSelectionRange(area.value.length, area.value.length);
    },
    // Lay the editor over the node's box (screen rectangle relative to the frame).
    place({ left, top, width, height, scale }) {
      if (!editing) return;
      area.style.left = `${left}px`;
      area.style.top = `${top}px`;
      area.style.width = `${Math.max(width, 120)}px`;
      area.style.minHeight = `${height}px`;
      area.style.fontSize = `${Math.max(12, Math.min(28, 14 * scale))}px`;
      grow();
    },
    cancel() { finish(false); },
    commit() { finish(true); },
  };
}
