// The board's buttons: the toolbar above it (add, delete, the colours with the selected
// node's pressed, notes, tidy, the layout choice, kept on this device), the zoom buttons
// over it with the zoom level, and the shortcut sheet (the ? button). What each does is
// the view's (`on`); the focus goes back to the board after a colour or the sheet.

const LAYOUT_KEY = "moa-board-layout";
const $ = (id) => document.getElementById(id);

// on: {addChild, addSibling, remove, notes, tidy, colour(color), zoomIn, zoomOut, zoomReset, fit}
export function createToolbar({ svg, on }) {
  let mode = localStorage.getItem(LAYOUT_KEY) === "balanced" ? "balanced" : "right";
  const swatches = [...document.querySelectorAll("#node-colors button[data-color]")];
  const back = () => svg.focus({ preventScroll: true });

  $("add-child").addEventListener("click", on.addChild);
  $("add-sibling").addEventListener("click", on.addSibling);
  $("delete-node").addEventListener("click", on.remove);
  $("node-notes").addEventListener("click", on.notes);
  $("tidy-up").addEventListener("click", on.tidy);
  $("node-colors").addEventListener("click", (event) => {
    const color = event.target.closest("button[data-color]")?.dataset.color;
    if (color) on.colour(color);
    back();
  });
  for (const swatch of swatches) swatch.style.background = swatch.dataset.color;  // CSSOM: the CSP allows it
  const layoutChoice = $("board-layout");
  layoutChoice.value = mode;
  layoutChoice.addEventListener("change", () => {
    mode = layoutChoice.value === "balanced" ? "balanced" : "right";
    localStorage.setItem(LAYOUT_KEY, mode);
  });
  $("zoom-in").addEventListener("click", on.zoomIn);
  $("zoom-out").addEventListener("click", on.zoomOut);
  $("zoom-reset").addEventListener("click", on.zoomReset);
  $("zoom-fit").addEventListener("click", on.fit);

  const sheet = $("board-shortcuts");
  const openSheet = () => { if (!sheet.open) sheet.showModal(); };
  $("board-help").addEventListener("click", openSheet);
  $("board-shortcuts-close").addEventListener("click", () => sheet.close());
  sheet.addEventListener("close", back);

  const level = $("zoom-level");
  return {
    get mode() { return mode; },
    openSheet,
    // The selected node's colour pressed, and whether it has notes.
    showNode(node) {
      for (const swatch of swatches) swatch.setAttribute("aria-pressed", String(node?.color === swatch.dataset.color));
      $("node-notes").textContent = node?.body ? "Notes •" : "Notes";
    },
    // On every pan: the text is set only when it changed (no relayout).
    showZoom(scale) {
      const label = `${Math.round(scale * 100)}%`;
      if (level.textContent !== label) level.textContent = label;
    },
  };
}
