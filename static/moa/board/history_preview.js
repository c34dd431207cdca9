// The map as it was at an earlier seq, drawn read-only over the board: nodes at their
// x/y with their colours and edges to their parents, drawn once per preview (a 2,000-node
// map is a few thousand elements, built off-document and added in one go). Drag the
// background to pan, the wheel to zoom; a click or the arrow keys choose a node (the
// branch "Restore only this branch" brings back). It never sends anything.

import { neighbour } from "./navigate.js";

const NS = "http://www.w3.org/2000/svg";
const WIDTH = 150;
const HEIGHT = 32;
const CHARS = 20;

function shape(tag, attributes, parent) {
  const made = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attributes)) made.setAttribute(key, value);
  parent?.append(made);
  return made;
}

// `svg` the preview's drawing; `chosen(node)` after the chosen node changes.
export function createPreview({ svg, chosen }) {
  let nodes = new Map();  // id -> node, as it was
  let selected = null;
  let view = { x: 0, y: 0, width: 1, height: 1 };
  let pan = null;

  function place() {
    svg.setAttribute("viewBox", `${view.x} ${view.y} ${view.width} ${view.height}`);
  }

  // The whole map in view, keeping the drawing's proportions.
  function fit() {
    let [left, top, right, bottom] = [Infinity, Infinity, -Infinity, -Infinity];
    for (const node of nodes.values()) {
      left = Math.min(left, node.x - WIDTH / 2);
      right = Math.max(right, node.x + WIDTH / 2);
      top = Math.min(top, node.y - HEIGHT / 2);
      bottom = Math.max(bottom, node.y + HEIGHT / 2);
    }
    if (!nodes.size) [left, top, right, bottom] = [0, 0, 1, 1];
    const box = svg.getBoundingClientRect();
    const aspect = box.width > 0 && box.height > 0 ? box.width / box.height : 2;
    let width = right - left + 80;
    let height = bottom - top + 80;
    if (width / height < aspect) width = height * aspect; else height = width / aspect;
    view = { x: (left + right - width) / 2, y: (top + bottom - height) / 2, width, height };
    place();
  }

  function select(id) {
    const before = svg.querySelector("g.preview-node.selected");
    before?.classList.remove("selected");
    before?.removeAttribute("aria-selected");
    selected = nodes.has(id) ? id : null;
    const group = selected && svg.querySelector(`g.preview-node[data-id="${selected}"]`);
    group?.classList.add("selected");
    group?.setAttribute("aria-selected", "true");
    chosen(selected ? nodes.get(selected) : null);
  }

  // Draw `list` (the map's nodes at a seq); `preferred` is chosen when it is there.
  function show(list, preferred) {
    nodes = new Map(list.map((node) => [node.id, { ...node, collapsed: false }]));
    const edges = shape("g", { class: "preview-edges" });
    const groups = shape("g", { class: "preview-nodes" });
    for (const node of nodes.values()) {
      const parent = nodes.get(node.parent);
      if (parent) shape("line", { x1: parent.x, y1: parent.y, x2: node.x, y2: node.y }, edges);
      const title = node.title || "untitled";
      const group = shape("g", { class: "preview-node", "data-id": node.id, "aria-label": title,
                                 transform: `translate(${node.x} ${node.y})` }, groups);
      shape("rect", { x: -WIDTH / 2, y: -HEIGHT / 2, width: WIDTH, height: HEIGHT, rx: 6,
                      fill: node.color || "#ffffff" }, group);
      shape("text", { "text-anchor": "middle", "dominant-baseline": "central" }, group).textContent =
        title.length > CHARS ? `${title.slice(0, CHARS - 1)}…` : title;
      shape("title", {}, group).textContent = title;
    }
    svg.replaceChildren(edges, groups);
    fit();
    select(nodes.has(preferred) ? preferred : null);
  }

  function clear() {
    nodes = new Map();
    selected = null;
    svg.replaceChildren();
  }

  function point(event) {
    const box = svg.getBoundingClientRect();
    return { x: view.x + ((event.clientX - box.left) / box.width) * view.width,
             y: view.y + ((event.clientY - box.top) / box.height) * view.height };
  }

  svg.addEventListener("pointerdown", (event) => {
    const id = event.target.closest?.("g.preview-node")?.dataset.id;
    if (id) { select(id); return; }
    pan = { clientX: event.clientX, clientY: event.clientY, x: view.x, y: view.y };
    svg.setPointerCapture(event.pointerId);
  });
  svg.addEventListener("pointermove", (event) => {
    if (!pan) return;
    const box = svg.getBoundingClientRect();
    view.x = pan.x - ((event.clientX - pan.clientX) / box.width) * view.width;
    view.y = pan.y - ((event.clientY - pan.clientY) / box.height) * view.height;
    place();
  });
  svg.addEventListener("pointerup", () => { pan = null; });
  svg.addEventListener("wheel", (event) => {
    event.preventDefault();
    const at = point(event);
    const factor = event.deltaY < 0 ? 1 / 1.2 : 1.2;
    view = { x: at.x - (at.x - view.x) * factor, y: at.y - (at.y - view.y) * factor,
             width: view.width * factor, height: view.height * factor };
    place();
  }, { passive: false });
  svg.addEventListener("keydown", (event) => {
    if (!event.key.startsWith("Arrow") && event.key !== "Home") return;
    event.preventDefault();
    const root = [...nodes.values()].find((node) => !nodes.has(node.parent))?.id;
    const next = event.key === "Home" || !selected ? root : neighbour(nodes, selected, event.key);
    if (next) select(next);
  });

  return { show, clear, fit, get selected() { return selected; } };
}
