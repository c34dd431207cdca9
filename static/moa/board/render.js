// Draws the tree into the board's SVG incrementally: one <g> per node and one <line> per
// edge, kept by node id and changed only when what they show changed, so an op touches a
// few elements. Only what lies near the view is drawn (culling): panning on adds the
// nodes coming near and removes those left behind, not the rest. Peers' cursors live in a
// layer that takes no pointer events: they never block a click on the node under them.

import { BOX, nodeBox } from "./layout.js";

const NS = "http://www.w3.org/2000/svg";
const FONT = "14px system-ui, sans-serif";  // as #board text in board.css

function element(tag, attributes, parent) {
  const made = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attributes)) made.setAttribute(key, value);
  parent?.append(made);
  return made;
}

// Text widths from the browser's own font metrics, remembered per string.
function textMeasure() {
  const context = document.createElement("canvas").getContext("2d");
  context.font = FONT;
  const widths = new Map();
  return (text) => {
    let width = widths.get(text);
    if (width === undefined) {
      if (widths.size > 50_000) widths.clear();
      width = context.measureText(text).width;
      widths.set(text, width);
    }
    return width;
  };
}

export function peerHue(clientId) {
  return [...clientId].reduce((sum, ch) => sum + ch.charCodeAt(0), 0) % 360;
}

export function createRenderer(svg) {
  const measure = textMeasure();
  const boxes = new Map();  // title -> nodeBox
  const edges = element("g", { class: "edges" }, svg);
  const nodesLayer = element("g", { class: "nodes" }, svg);
  const peersLayer = element("g", { class: "peers", "aria-hidden": "true" }, svg);
  const drawn = new Map();  // id -> {group, edge, key, edgeKey}

  function boxOf(title) {
    let box = boxes.get(title);
    if (!box) {
      if (boxes.size > 20_000) boxes.clear();
      box = nodeBox(title, measure);
      boxes.set(title, box);
    }
    return box;
  }

  function fill(group, node, box, side, hasChildren) {
    const { width: w, height: h, lines } = box;
    const rect = element("rect", { x: -w / 2, y: -h / 2, width: w, height: h, rx: 6, fill: node.color || "#ffffff" });
    const text = element("text", { "text-anchor": "middle" });
    const first = -h / 2 + BOX.padY + BOX.lineHeight / 2;
    lines.forEach((line, i) => {
      element("tspan", { x: 0, y: first + i * BOX.lineHeight, "dominant-baseline": "central" }, text).textContent = line;
    });
    const parts = [rect, text];
    if (node.body) parts.push(element("path", { class: "note-mark", d: `M${w / 2 - 12} ${-h / 2 + 3}h9v9z` }));
    if (hasChildren) {  // the fold button, on the side away from the root
      const fold = element("g", { class: "fold", "data-fold": node.id,
        transform: `translate(${side < 0 ? -w / 2 - 9 : w / 2 + 9} 0)` });
      element("circle", { r: 7 }, fold);
      element("path", { d: node.collapsed ? "M-4 0h8M0 -4v8" : "M-4 0h8" }, fold);
      parts.push(fold);
    }
    group.replaceChildren(...parts);
  }

  function dropGroup(entry) {
    entry.group?.remove();
    Object.assign(entry, { group: null, key: "", transform: "", selected: null });
  }

  function dropEdge(entry) {
    entry.edge?.remove();
    Object.assign(entry, { edge: null, edgeKey: "" });
  }

  function drawGroup(entry, node, box, side, kids, selected) {
    entry.group ??= element("g", { "data-id": node.id, role: "treeitem" }, nodesLayer);
    const key = `${node.title}\0${node.color}\0${Boolean(node.body)}\0${node.collapsed}\0${kids}\0${side}`;
    if (entry.key !== key) {
      fill(entry.group, node, box, side, kids);
      entry.group.setAttribute("aria-label", node.title || "untitled");
      if (kids) entry.group.setAttribute("aria-expanded", String(!node.collapsed));
      else entry.group.removeAttribute("aria-expanded");
      entry.key = key;
    }
    const transform = `translate(${node.x} ${node.y})`;
    if (entry.transform !== transform) { entry.group.setAttribute("transform", transform); entry.transform = transform; }
    const isSelected = node.id === selected;
    if (entry.selected !== isSelected) {
      entry.group.setAttribute("class", isSelected ? "node selected" : "node");
      entry.group.setAttribute("aria-selected", String(isSelected));
      entry.selected = isSelected;
    }
  }

  function drawEdge(entry, parent, node) {
    const edgeKey = `${parent.x} ${parent.y} ${node.x} ${node.y}`;
    if (edgeKey === entry.edgeKey) return;
    entry.edge ??= element("line", { class: "edge" }, edges);
    entry.edge.setAttribute("x1", parent.x); entry.edge.setAttribute("y1", parent.y);
    entry.edge.setAttribute("x2", node.x); entry.edge.setAttribute("y2", node.y);
    entry.edgeKey = edgeKey;
  }

  // nodes: id -> node (positions as shown); hidden: ids folded away; sides: id -> ±1;
  // withChildren: ids that have children; area: the world box {left, top, right,
  // bottom} to draw: only the nodes and edges that touch it are in the DOM (what a
  // browser lays out and paints on every pan grows with the elements, not the screen);
  // keep: ids drawn wherever they are (the selection, the node being edited).
  function draw({ nodes, hidden, selected, sides, withChildren, area, keep }) {
    const touches = (left, top, right, bottom) =>
      right >= area.left && left <= area.right && bottom >= area.top && top <= area.bottom;
    for (const [id, entry] of drawn) {
      if (!nodes.has(id) || hidden.has(id)) {
        dropGroup(entry);
        dropEdge(entry);
        drawn.delete(id);
      }
    }
    for (const node of nodes.values()) {
      if (hidden.has(node.id)) continue;
      const box = boxOf(node.title);
      const showNode = keep.has(node.id) || touches(node.x - box.width / 2, node.y - box.height / 2,
                                                     node.x + box.width / 2, node.y + box.height / 2);
      const parent = nodes.get(node.parent);
      const showEdge = parent !== undefined && touches(Math.min(parent.x, node.x), Math.min(parent.y, node.y),
                                                       Math.max(parent.x, node.x), Math.max(parent.y, node.y));
      let entry = drawn.get(node.id);
      if (!showNode && !showEdge && !entry) continue;
      if (!entry) {
        entry = { group: null, key: "", transform: "", selected: null, edge: null, edgeKey: "" };
        drawn.set(node.id, entry);
      }
      if (showNode) drawGroup(entry, node, box, sides.get(node.id) ?? 1, withChildren.has(node.id), selected);
      else dropGroup(entry);
      if (showEdge) drawEdge(entry, parent, node);
      else dropEdge(entry);
      if (!entry.group && !entry.edge) drawn.delete(node.id);
    }
  }

  // Peers' cursors with their names, and their selections, in their colours.
  function drawPeers(peers, nodes) {
    const parts = [];
    for (const peer of peers.values()) {
      const hue = peerHue(peer.client_id);
      for (const id of peer.selection ?? []) {
        const node = nodes.get(id);
        if (!node) continue;
        const { width, height } = boxOf(node.title);
        parts.push(element("rect", { class: "peer-selection", x: node.x - width / 2 - 4, y: node.y - height / 2 - 4,
          width: width + 8, height: height + 8, rx: 8, stroke: `hsl(${hue} 70% 45%)` }));
      }
      if (!peer.cursor) continue;
      const cursor = element("g", { class: "peer", transform: `translate(${peer.cursor.x} ${peer.cursor.y})` });
      element("circle", { r: 5, fill: `hsl(${hue} 70% 45%)` }, cursor);
      element("text", { x: 8, y: -8, fill: `hsl(${hue} 70% 35%)` }, cursor).textContent = peer.user?.name ?? "";
      parts.push(cursor);
    }
    peersLayer.replaceChildren(...parts);
  }

  return { draw, drawPeers, boxOf, measure, groupOf: (id) => drawn.get(id)?.group ?? null };
}
