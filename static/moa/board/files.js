// Export (PNG, SVG, Markdown, OPML) and import (Markdown, OPML) on the board page: the
// toolbar's Export menu (closed after a choice, a click elsewhere or Escape) and its
// Import… button. The formats are exchange.js's; this module reads and writes the files.
// An import becomes node.create ops under the selected node, queued as one edit (one
// batch of ops); a file of another kind is refused by its name, saying which are read.

import { ImportRefused, LIMITS, importFormat, parseMarkdown, parseOpml, textSize, toMarkdown, toOpml,
         toSvg } from "./exchange.js";

const OUTLINES = "outlines only, from Markdown (.md) or OPML (.opml) files";
const MAX_PNG_SIDE = 8000;        // pixels; canvases past ~16k px or ~260M px fail
const MAX_PNG_AREA = 40_000_000;

function download(blob, name) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

// The SVG picture drawn on a canvas, as PNG (the page's CSP allows blob: images).
async function png(svgText) {
  const url = URL.createObjectURL(new Blob([svgText], { type: "image/svg+xml" }));
  try {
    const image = new Image();
    image.src = url;
    await image.decode();
    const { width, height } = image;
    const scale = Math.min(2, MAX_PNG_SIDE / width, MAX_PNG_SIDE / height, Math.sqrt(MAX_PNG_AREA / (width * height)));
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.floor(width * scale));
    canvas.height = Math.max(1, Math.floor(height * scale));
    canvas.getContext("2d").drawImage(image, 0, 0, canvas.width, canvas.height);
    return await new Promise((done, failed) => canvas.toBlob(
      (blob) => (blob ? done(blob) : failed(new Error("the picture is too large to draw"))), "image/png"));
  } finally {
    URL.revokeObjectURL(url);
  }
}

// `under()` the id of the node an import goes under.
export function createFiles({ board, place, title, measure, hidden, toast, under }) {
  const base = (title || "map").replace(/[^\p{L}\p{N}]+/gu, "-").replace(/^-|-$/g, "").slice(0, 60) || "map";

  async function exportAs(format) {
    const nodes = board.nodes();
    try {
      if (format === "md") download(new Blob([toMarkdown(nodes)], { type: "text/markdown" }), `${base}.md`);
      else if (format === "opml") download(new Blob([toOpml(nodes, title)], { type: "text/x-opml" }), `${base}.opml`);
      else {
        const picture = toSvg(nodes, { hidden: hidden(), measure });
        if (format === "svg") download(new Blob([picture], { type: "image/svg+xml" }), `${base}.svg`);
        else download(await png(picture), `${base}.png`);
      }
    } catch (error) {
      console.error("board: export failed", error);
      toast(`The ${format.toUpperCase()} export failed: ${error.message}.`, { alert: true });
    }
  }

  // The text of an outline file -> ops under `parentId`, or a refusal the person reads.
  async function importFile(file, parentId) {
    const nodes = board.nodes();
    const parent = nodes.get(parentId);
    const format = importFormat(file.name);
    if (!format) throw new ImportRefused(`Moa imports ${OUTLINES}.`);
    if (file.size > LIMITS.bytes) {
      throw new ImportRefused(`The file is larger than ${LIMITS.bytes / 1024 / 1024} MiB.`);
    }
    let content = 0;
    for (const node of nodes.values()) content += textSize(node.title) + textSize(node.body ?? "");
    const limits = { nodes: LIMITS.nodes - nodes.size, content: LIMITS.content - content };
    if (limits.nodes <= 0) throw new ImportRefused("This map already holds 10,000 nodes, the most a map can.");
    const text = await file.text();
    if (text.includes("\0")) throw new ImportRefused(`it is not a text file: Moa imports ${OUTLINES}.`);
    const opml = format === "opml" || /^\s*</.test(text.slice(0, 200));
    const { trees, count } = (opml ? parseOpml : parseMarkdown)(text, limits);
    const ops = place(parentId, trees);
    return { ops, count, under: parent?.title || "untitled" };
  }

  async function importChosen(file, parentId) {
    try {
      const { ops, count, under } = await importFile(file, parentId);
      if (board.submit(ops, { label: `Import of ${file.name}` })) {
        toast(`Imported ${count.toLocaleString("en")} item${count === 1 ? "" : "s"} from ${file.name} under “${under}”.`);
      }
    } catch (error) {
      if (!(error instanceof ImportRefused)) console.error("board: import failed", error);
      toast(`${file.name} was not imported: ${error.message}`, { alert: true });
    }
  }

  const menu = document.getElementById("board-export").closest("details");
  const closeMenu = () => { menu.open = false; };
  document.getElementById("board-export").addEventListener("click", (event) => {
    const format = event.target.closest("button[data-format]")?.dataset.format;
    if (!format) return;
    closeMenu();
    exportAs(format);
  });
  document.addEventListener("pointerdown", (event) => { if (!menu.contains(event.target)) closeMenu(); });
  document.addEventListener("focusin", (event) => { if (!menu.contains(event.target)) closeMenu(); });
  menu.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || !menu.open) return;
    event.stopPropagation();
    closeMenu();
    menu.querySelector("summary").focus();
  });
  const input = document.getElementById("board-import-file");
  document.getElementById("board-import").addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    const [file] = input.files;
    input.value = "";
    if (file) importChosen(file, under());
  });
}
