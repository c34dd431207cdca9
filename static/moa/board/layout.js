// Where nodes go, as pure functions (no DOM; Node runs them in tests/js/).
//
// A node's x, y is the centre of its box; a box is sized to its wrapped title
// (`nodeBox`). Two layouts: "right" (every branch to the right of the root) and
// "balanced" (the root's branches split between both sides; a branch keeps the side of
// the root it is on). Positions people chose are kept: a new node goes next to its parent
// where there is room (`childPosition`), and only `tidy` moves existing nodes, as ops.
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
function sideForChild(nodes, parent, root, mode, index) {
  if (parent.id !== root.id) return sideOf(nodes, parent.id, root);
  if (mode !== "balanced") return 1;
  const kids = index.get(root.id) ?? [];
  const left = kids.filter((kid) => kid.x < root.x).length;
  return left < kids.length - left ? -1 : 1;
}

// The nearest y to `want` (downward only when `downOnly`) where a box of half-height
// `half` fits between the vertical intervals `taken` ([top, bottom] pairs).
function freeY(want, half, taken, downOnly) {
  const blocks = taken.map(([top, bottom]) => [top - half, bottom + half]).sort((a, b) => a[0] - b[0]);
  const inside = (y) => blocks.find(([top, bottom]) => y > top && y < bottom);
  if (!inside(want)) return want;
  let down = want;
  for (let block = inside(down); block; block = inside(down)) down = block[1];
  if (downOnly) return down;
  let up = want;
  for (let block = inside(up); block; block = inside(up)) up = block[0];
  return want - up < down - want ? up : down;
}

// The vertical extents of the boxes that overlap the column [left, right].
function columnTaken(nodes, left, right, sizeOf) {
  const taken = [];
  for (const node of nodes.values()) {
    const { width, height } = sizeOf(node);
    if (node.x + width / 2 + GAP.y > left && node.x - width / 2 - GAP.y < right) {
      taken.push([node.y - height / 2 - GAP.y, node.y + height / 2 + GAP.y]);
    }
  }
  return taken;
}

// Where a new child of `parentId`, of box `size` ({width, height}), goes: beside its
// parent on its side, below its last sibling, in the nearest place no box covers.
export function childPosition(nodes, parentId, size, { mode = "right", sizeOf } = {}) {
  const parent = nodes.get(parentId);
  const root = rootOf(nodes);
  if (!parent || !root) return { x: 0, y: 0 };
  const index = orderedChildren(nodes);
  const side = sideForChild(nodes, parent, root, mode, index);
  const kids = index.get(parent.id) ?? [];
  const siblings = parent.id === root.id ? kids.filter((kid) => sideOf(nodes, kid.id, root) === side) : kids;
  const parentSize = sizeOf(parent);
  let x = parent.x + side * (parentSize.width / 2 + GAP.x + size.width / 2);
  let y = parent.y;
  const last = siblings.at(-1);
  if (last) {  // the column of the siblings, under the last one
    const lastSize = sizeOf(last);
    x = last.x + side * (size.width - lastSize.width) / 2;
    y = last.y + lastSize.height / 2 + GAP.y + size.height / 2;
  }
  const taken = columnTaken(nodes, x - size.width / 2, x + size.width / 2, sizeOf);
  return { x: Math.round(x), y: Math.round(freeY(y, size.height / 2, taken, Boolean(last))) };
}

// Heights of every visible subtree under `root` (children of a collapsed node are not
// laid out), computed bottom-up without recursion (a 10,000-deep chain is allowed).
function subtreeHeights(root, index, sizeOf) {
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
  const heights = new Map();
  for (let i = order.length - 1; i >= 0; i -= 1) {
    const node = order[i];
    const kids = node.collapsed ? [] : (index.get(node.id) ?? []).filter((kid) => heights.has(kid.id));
    const stacked = kids.reduce((sum, kid) => sum + heights.get(kid.id), 0) + GAP.y * Math.max(0, kids.length - 1);
    heights.set(node.id, Math.max(sizeOf(node).height, stacked));
  }
  return heights;
}

// Stack `kids` (subtree heights in `heights`) on `side` of the node at (x, y).
function stackChildren(node, at, kids, side, heights, index, sizeOf, placed, queue) {
  const total = kids.reduce((sum, kid) => sum + heights.get(kid.id), 0) + GAP.y * Math.max(0, kids.length - 1);
  let top = at.y - total / 2;
  const width = sizeOf(node).width;
  for (const kid of kids) {
    const h = heights.get(kid.id);
    const kidAt = { x: at.x + side * (width / 2 + GAP.x + sizeOf(kid).width / 2), y: top + h / 2 };
    placed.set(kid.id, kidAt);
    queue.push([kid, kidAt, side]);
    top += h + GAP.y;
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
  stackChildren(root, rootAt, right, 1, heights, index, sizeOf, placed, queue);
  stackChildren(root, rootAt, left, -1, heights, index, sizeOf, placed, queue);
  while (queue.length) {
    const [node, at, side] = queue.pop();
    if (node.collapsed) continue;
    const visible = (index.get(node.id) ?? []).filter((kid) => heights.has(kid.id) && !placed.has(kid.id));
    stackChildren(node, at, visible, side, heights, index, sizeOf, placed, queue);
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

// node.create ops for `trees` ([{title, body, color, children}], e.g. an import) under
// `parentId`: laid out as a block beside the parent, where there is room; parents come
// before their children, as the server needs them.
export function placeTrees(nodes, parentId, trees, { mode = "right", sizeOf, newId }) {
  const parent = nodes.get(parentId);
  const root = rootOf(nodes);
  if (!parent || !root) return [];
  const virtual = new Map();  // the imported forest as a tree of its own, rooted at 0,0
  const anchor = { id: "\0anchor", parent: null, x: 0, y: 0, title: parent.title };
  virtual.set(anchor.id, anchor);
  const made = [];
  const walk = [[anchor.id, trees]];
  let order = 0;
  while (walk.length) {
    const [under, list] = walk.pop();
    for (const tree of list) {
      const node = { id: newId(), parent: under, x: 0, y: (order += 1), title: tree.title, body: tree.body ?? "",
                     color: tree.color ?? "#ffffff" };
      virtual.set(node.id, node);
      made.push(node);
      walk.push([node.id, tree.children ?? []]);
    }
  }
  const side = sideForChild(nodes, parent, root, mode, orderedChildren(nodes));
  const placed = layoutTree(virtual, { mode: "right", sizeOf });
  let top = Infinity; let bottom = -Infinity; let left = Infinity; let right = -Infinity;
  for (const node of made) {
    const at = placed.get(node.id);
    const { width, height } = sizeOf(node);
    const x = side * at.x;
    top = Math.min(top, at.y - height / 2); bottom = Math.max(bottom, at.y + height / 2);
    left = Math.min(left, x - width / 2); right = Math.max(right, x + width / 2);
  }
  // Where the block's box goes: as if it were one child of that size.
  const block = { width: right - left, height: bottom - top };
  const spot = childPosition(nodes, parentId, block, { mode, sizeOf });
  const dx = spot.x - (left + right) / 2;
  const dy = spot.y - (top + bottom) / 2;
  const byId = new Map(made.map((node) => [node.id, node]));
  const ops = [];
  for (const node of made.sort((a, b) => a.y - b.y)) {  // creation order: parents first
    const at = placed.get(node.id);
    ops.push({ kind: "node.create", node: {
      id: node.id, parent: byId.has(node.parent) ? node.parent : parentId, title: node.title,
      body: node.body, color: node.color, x: Math.round(side * at.x + dx), y: Math.round(at.y + dy) } });
  }
  return ops;
}
