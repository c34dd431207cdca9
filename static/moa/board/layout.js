// Where nodes go, as pure functions (no DOM; Node runs them in tests/js/).
//
// A node's x, y is the centre of its box; a box is sized to its wrapped title
// (`nodeBox`). Two layouts: "right" (every branch to the right of the root) and
// "balanced" (the root's branches split between both sides; a branch keeps the side of
// the root it is on). In both a node's children hang from it: the first level with its
// top, each next one below the branch of the one before, so a branch grows downward and
// adding to it moves only what lies below (placement.js). `tidy` lays out the whole map.
// Every walk starts from the root and marks what it visited, so a corrupted parent table
// (a cycle) can never make it loop.

import { childrenIndex } from "./state.js";

export const BOX = { minWidth: 80, maxWidth: 220, padX: 12, padY: 8, lineHeight: 18, maxLines: 10 };
export const GAP = { x: 56, y: 14 };

// Roughly what 14px sans-serif takes: the browser passes a measuring function instead.
export function estimateWidth(text) {
  let width = 0;
  for (const ch of text) width += ch.codePointAt(0) >= 0x2e80 ? 14 : 7.6;
  return width;
}

// The lines a title wraps to in `maxWidth`: at spaces, inside a word only when the word
// alone is wider; explicit line breaks kept; past maxLines the last line ends in "…".
export function wrapTitle(title, measure = estimateWidth, maxWidth = BOX.maxWidth - 2 * BOX.padX) {
  const lines = [];
  for (const paragraph of (title || "untitled").split("\n")) {
    let line = "";
    for (const word of paragraph.split(" ")) {
      const candidate = line ? `${line} ${word}` : word;
      if (measure(candidate) <= maxWidth) { line = candidate; continue; }
      if (line) lines.push(line);
      line = "";
      for (const ch of word) {  // a word wider than a line is cut where it must be
        if (line && measure(line + ch) > maxWidth) { lines.push(line); line = ""; }
        line += ch;
      }
    }
    lines.push(line);
  }
  if (lines.length > BOX.maxLines) {
    lines.length = BOX.maxLines;
    lines[BOX.maxLines - 1] = `${lines[BOX.maxLines - 1].slice(0, -1)}…`;
  }
  return lines;
}

export function nodeBox(title, measure = estimateWidth) {
  const lines = wrapTitle(title, measure);
  const widest = Math.max(...lines.map((line) => measure(line)));
  return {
    lines,
    width: Math.ceil(Math.min(BOX.maxWidth, Math.max(BOX.minWidth, widest + 2 * BOX.padX))),
    height: lines.length * BOX.lineHeight + 2 * BOX.padY,
  };
}

export function rootOf(nodes) {
  for (const node of nodes.values()) if (!node.parent) return node;
  return null;
}

// parent id -> child nodes sorted top to bottom (the order people see).
export function orderedChildren(nodes) {
  const index = new Map();
  for (const [parent, ids] of childrenIndex(nodes)) {
    if (parent != null) index.set(parent, ids.map((id) => nodes.get(id)).sort((a, b) => a.y - b.y || a.x - b.x));
  }
  return index;
}

// +1 right of the root, -1 left of it, 0 for the root itself.
export function sideOf(nodes, id, root = rootOf(nodes)) {
  const node = nodes.get(id);
  if (!node || !root || node.id === root.id) return 0;
  return node.x < root.x ? -1 : 1;
}

// The side a new child of `parent` goes to.
export function sideForChild(nodes, parent, root, mode, index) {
  if (parent.id !== root.id) return sideOf(nodes, parent.id, root);
  if (mode !== "balanced") return 1;
  const kids = index.get(root.id) ?? [];
  const left = kids.filter((kid) => kid.x < root.x).length;
  return left < kids.length - left ? -1 : 1;
}

// The visible tree under `root` (nothing under a collapsed node), each node after its
// parent, without recursion (a 10,000-deep chain is allowed); `index` as orderedChildren.
export function visibleTree(root, index) {
  const order = [];
  const seen = new Set([root.id]);
  for (let stack = [root]; stack.length;) {
    const node = stack.pop();
    order.push(node);
    if (node.collapsed) continue;
    for (const kid of index.get(node.id) ?? []) {
      if (!seen.has(kid.id)) { seen.add(kid.id); stack.push(kid); }
    }
  }
  return order;
}

// Heights of every visible subtree under `root` (children of a collapsed node are not
// laid out), computed bottom-up.
function subtreeHeights(root, index, sizeOf) {
  const order = visibleTree(root, index);
  const heights = new Map();
  for (let i = order.length - 1; i >= 0; i -= 1) {
    const node = order[i];
    const kids = node.collapsed ? [] : (index.get(node.id) ?? []).filter((kid) => heights.has(kid.id));
    const stacked = kids.reduce((sum, kid) => sum + heights.get(kid.id), 0) + GAP.y * Math.max(0, kids.length - 1);
    heights.set(node.id, Math.max(sizeOf(node).height, stacked));
  }
  return heights;
}

// The x of a child `width` wide of a node `parentWidth` wide at `x`: its inner edge
// GAP.x beyond the parent's outer edge on `side`, so siblings line up on the side
// facing their parent.
export function childX(x, parentWidth, width, side) {
  return x + side * (parentWidth / 2 + GAP.x + width / 2);
}

// Stack `kids` (subtree heights in `heights`) on `side` of the node at `at`: the first
// one's top level with the node's top, each next one below the branch of the one before.
// Positions are whole pixels, as the ops that store them (so placement.js, which adds
// nodes one at a time, lands where a tidy-up would).
function stackChildren(node, at, kids, side, heights, sizeOf, placed, queue) {
  let top = at.y - sizeOf(node).height / 2;
  for (const kid of kids) {
    const kidAt = { x: Math.round(childX(at.x, sizeOf(node).width, sizeOf(kid).width, side)),
                    y: Math.round(top + sizeOf(kid).height / 2) };
    placed.set(kid.id, kidAt);
    queue.push([kid, kidAt, side]);
    top += heights.get(kid.id) + GAP.y;
  }
}

// Positions for the whole visible tree under the root (which stays where it is).
export function layoutTree(nodes, { mode = "right", sizeOf } = {}) {
  const root = rootOf(nodes);
  const placed = new Map();
  if (!root) return placed;
  const index = orderedChildren(nodes);
  const heights = subtreeHeights(root, index, sizeOf);
  const rootAt = { x: root.x, y: root.y };
  placed.set(root.id, rootAt);
  const kids = (index.get(root.id) ?? []).filter((kid) => heights.has(kid.id));
  let right = kids;
  let left = [];
  if (mode === "balanced") {  // the right side first, each in its order, split at half height
    const ordered = [...kids.filter((kid) => kid.x >= root.x), ...kids.filter((kid) => kid.x < root.x)];
    const half = ordered.reduce((sum, kid) => sum + heights.get(kid.id), 0) / 2;
    right = [];
    let filled = 0;
    for (const kid of ordered) {
      if (filled < half || !right.length) { right.push(kid); filled += heights.get(kid.id); } else left.push(kid);
    }
  }
  const queue = [];
  stackChildren(root, rootAt, right, 1, heights, sizeOf, placed, queue);
  stackChildren(root, rootAt, left, -1, heights, sizeOf, placed, queue);
  while (queue.length) {
    const [node, at, side] = queue.pop();
    if (node.collapsed) continue;
    const visible = (index.get(node.id) ?? []).filter((kid) => heights.has(kid.id) && !placed.has(kid.id));
    stackChildren(node, at, visible, side, heights, sizeOf, placed, queue);
  }
  return placed;
}

// "Tidy up": the node.update ops that move every node to its place in the layout. The
// children of a collapsed node move with it, keeping their arrangement.
export function tidy(nodes, options) {
  const placed = layoutTree(nodes, options);
  const index = orderedChildren(nodes);
  const ops = [];
  const moveTo = (node, x, y) => {
    const set = { x: Math.round(x), y: Math.round(y) };
    if (set.x !== Math.round(node.x) || set.y !== Math.round(node.y)) ops.push({ kind: "node.update", id: node.id, set });
  };
  for (const [id, at] of placed) {
    const node = nodes.get(id);
    moveTo(node, at.x, at.y);
    if (!node.collapsed) continue;
    const dx = at.x - node.x;
    const dy = at.y - node.y;
    const seen = new Set([id]);
    for (let stack = [...(index.get(id) ?? [])]; stack.length;) {
      const hidden = stack.pop();
      if (seen.has(hidden.id) || placed.has(hidden.id)) continue;
      seen.add(hidden.id);
      moveTo(hidden, hidden.x + dx, hidden.y + dy);
      stack.push(...(index.get(hidden.id) ?? []));
    }
  }
  return ops;
}
