// Where the board puts what the person adds, as pure functions returning ops (no DOM;
// Node runs them in tests/js/). A new node goes where the layout (layout.js) would put
// it: its inner edge GAP.x beyond its parent, its top level with its parent's top when
// it is the first child, else below the branch of the sibling it follows. Then room is
// made: the branches after it on the way up to the root (its following siblings, its
// parent's, and so on) move down just as far as they must and no further than the
// branches above them grew, each as a whole (a branch someone arranged by hand keeps its
// shape, and branches that already interleaved stay as they were); nothing above or
// beside it moves. A title that makes its box bigger, and a branch unfolded, make room
// the same way. Built this way, node after node, a map is what "Tidy up" would make of it.
//
// Only the visible tree takes room (a folded branch's children do not, as in a tidy-up);
// they move with their folded parent. Walks start at the root and mark what they visit.
//
// Room costs one op per node moved (positions are absolute), so it is bounded: when an
// edit would move more than ROOM_BUDGET nodes, nothing else moves. An added node (or an
// imported block) then goes to the free spot nearest its place (freeSpot: no box on
// another, with room for its title to grow; its line to its parent may cross others), a
// title that grows out of budget moves its node (when it has no children) to such a spot
// if its box would cover another, and an unfold just unfolds. Each time, `crowded()` is
// called so the page can say once that "Tidy up" rearranges the map.

import { BOX, GAP, childX, layoutTree, orderedChildren, rootOf, sideForChild, sideOf, visibleTree } from "./layout.js";
import { childrenIndex, subtree } from "./state.js";

// The most nodes one edit moves to make room. 28: the keyboard-built maps of the tests
// need at most 27; an add (create, unfold, 28 moves: 30 ops, a second of the live op rate
// of 30/s) and the title typed on it (at most 29 more) fit the burst of 60 together, so
// both go out at once; a move costs about 100 bytes, 3 KB an edit.
export const ROOM_BUDGET = 28;
const FREE_COLUMNS = 8;                       // columns tried outward for a free spot
const FREE_STEP = (BOX.maxWidth + GAP.x) / 2;  // between them
const GROWTH = 2 * BOX.lineHeight;            // a title typed later may add lines

// id -> {top, bottom} of each visible branch (the node and what is unfolded under it),
// positions read through `at`; bottom-up.
function branchSpans(root, index, sizeOf, at) {
  const order = visibleTree(root, index);
  const spans = new Map();
  for (let i = order.length - 1; i >= 0; i -= 1) spans.set(order[i].id, spanOf(order[i], index, spans, sizeOf, at));
  return spans;
}

function spanOf(node, index, spans, sizeOf, at) {
  const half = sizeOf(node).height / 2;
  const y = at(node).y;
  let top = y - half;
  let bottom = y + half;
  if (!node.collapsed) {
    for (const kid of index.get(node.id) ?? []) {
      const span = spans.get(kid.id);
      if (span) { top = Math.min(top, span.top); bottom = Math.max(bottom, span.bottom); }
    }
  }
  return { top, bottom };
}

// Move the branches after `id` down until none overlaps the one before it, from `id`'s
// siblings up to the root's children on its side, each by no more than the branches
// before it grew. `nodes` is the tree as it is now (the new node in it, the new title
// set), `before` as it was; `moved` (id -> {x, y}) holds positions already changed and
// receives the new ones.
export function makeRoom(nodes, id, { sizeOf, before, moved = new Map() }) {
  const root = rootOf(nodes);
  if (!root) return moved;
  const index = orderedChildren(nodes);
  const children = childrenIndex(nodes);
  const at = (node) => moved.get(node.id) ?? node;
  const spans = branchSpans(root, index, sizeOf, at);
  const was = branchSpans(rootOf(before), orderedChildren(before), sizeOf, (node) => node);
  const lower = (branch, dy) => {
    for (const id of subtree(nodes, branch.id, children)) {
      const { x, y } = at(nodes.get(id));
      moved.set(id, { x, y: y + dy });
    }
    const span = spans.get(branch.id);
    spans.set(branch.id, { top: span.top + dy, bottom: span.bottom + dy });
  };
  const seen = new Set();
  for (let node = nodes.get(id); node && node.id !== root.id && !seen.has(node.id); node = nodes.get(node.parent)) {
    seen.add(node.id);
    const parent = nodes.get(node.parent);
    if (!parent || !spans.has(node.id)) break;  // folded away or detached: it takes no room
    const side = sideOf(nodes, node.id, root);
    const row = (index.get(parent.id) ?? [])
      .filter((kid) => spans.has(kid.id) && (parent.id !== root.id || sideOf(nodes, kid.id, root) === side))
      .sort((a, b) => spans.get(a.id).top - spans.get(b.id).top || (b.id === node.id) - (a.id === node.id));
    let bottom = spans.get(node.id).bottom;  // of the branches so far, now and before
    let bottomWas = was.get(node.id)?.bottom ?? spans.get(node.id).top - GAP.y;  // new: it took no room
    for (const kid of row.slice(row.indexOf(node) + 1)) {
      const dy = Math.min(bottom + GAP.y - spans.get(kid.id).top, bottom - bottomWas);
      if (dy > 0) lower(kid, dy);
      bottom = Math.max(bottom, spans.get(kid.id).bottom);
      bottomWas = Math.max(bottomWas, was.get(kid.id)?.bottom ?? -Infinity);
    }
    spans.set(parent.id, spanOf(parent, index, spans, sizeOf, at));
  }
  return moved;
}

function moves(nodes, moved, skip) {
  const ops = [];
  for (const [id, { x, y }] of moved) {
    const node = nodes.get(id);
    if (id === skip || !node || (node.x === x && node.y === y)) continue;
    ops.push({ kind: "node.update", id, set: { x, y } });
  }
  return ops;
}

// The boxes the visible tree takes, but those of `skip` (a set of ids).
function takenBoxes(nodes, sizeOf, skip = new Set()) {
  const root = rootOf(nodes);
  const boxes = [];
  for (const node of root ? visibleTree(root, orderedChildren(nodes)) : []) {
    if (skip.has(node.id)) continue;
    const { width, height } = sizeOf(node);
    boxes.push({ left: node.x - width / 2, right: node.x + width / 2, top: node.y - height / 2,
                 bottom: node.y + height / 2 });
  }
  return boxes;
}

// The top nearest `want` of a gap `height` tall between `spans` ([top, bottom]).
function nearestGap(spans, want, height) {
  let best = null;
  let from = -Infinity;
  const consider = (top, bottom) => {
    if (bottom - top < height) return;
    const at = Math.min(Math.max(want, top), bottom - height);
    if (best === null || Math.abs(at - want) < Math.abs(best - want)) best = at;
  };
  for (const [top, bottom] of spans.sort((a, b) => a[0] - b[0])) {
    consider(from, top);
    from = Math.max(from, bottom);
  }
  consider(from, Infinity);
  return best;
}

// The centre {x, y} of the free spot nearest a box `size` whose side facing its parent
// would be at `edge` on `side`, its top at `top`: in that column or one further out,
// with room around it for its title to grow (GROWTH lines, BOX.maxWidth wide, either way
// retitle keeps it) and GAP.y clear of every box in `boxes`.
export function freeSpot(boxes, { edge, top, size, side }) {
  const spare = Math.max(0, BOX.maxWidth - size.width) / 2;
  const height = size.height + 2 * (GROWTH + GAP.y);
  let best = null;
  for (let column = 0; column < FREE_COLUMNS; column += 1) {
    const inner = edge + side * column * FREE_STEP;
    const ends = [inner - side * (spare + GAP.y), inner + side * (Math.max(BOX.maxWidth, size.width) + GAP.y)];
    const [left, right] = [Math.min(...ends), Math.max(...ends)];
    const spans = boxes.filter((box) => box.left < right && box.right > left).map((box) => [box.top, box.bottom]);
    const at = nearestGap(spans, top - GROWTH - GAP.y, height) + GROWTH + GAP.y;
    const cost = Math.abs(at - top) + column * FREE_STEP;
    if (!best || cost < best.cost) best = { cost, x: inner + side * size.width / 2, y: at + size.height / 2 };
  }
  return { x: Math.round(best.x), y: Math.round(best.y) };
}

// Where a new child of `parent` of box `size` goes: {x, top, side}. After the sibling
// `after` when it is one of them, else after the last one on its side.
function childSlot(nodes, parent, size, { after = null, mode, sizeOf }) {
  const root = rootOf(nodes);
  const index = orderedChildren(nodes);
  const spans = branchSpans(root, index, sizeOf, (node) => node);
  const side = after && nodes.get(after)?.parent === parent.id ? sideOf(nodes, after, root) || 1
    : sideForChild(nodes, parent, root, mode, index);
  const siblings = (index.get(parent.id) ?? [])
    .filter((kid) => spans.has(kid.id) && (parent.id !== root.id || sideOf(nodes, kid.id, root) === side));
  const previous = siblings.find((kid) => kid.id === after) ? [nodes.get(after)] : siblings;
  const top = previous.length ? Math.max(...previous.map((kid) => spans.get(kid.id).bottom)) + GAP.y
    : parent.y - sizeOf(parent).height / 2;
  return { x: childX(parent.x, sizeOf(parent).width, size.width, side), top, side };
}

// The ops that add `fields` ({id, title, body, color}) under `parentId`, after the
// sibling `after` (else after the last one): the create where the layout puts it (the
// edit's own op, first), the unfolding of a folded parent (the new node is to be seen)
// and the moves that make room.
export function placeNode(nodes, parentId, fields, { after = null, mode = "right", sizeOf, crowded = () => {} }) {
  const folded = nodes.get(parentId);
  if (!folded || !rootOf(nodes)) return [];
  const parent = { ...folded, collapsed: false };
  const tree = new Map(nodes).set(parentId, parent);
  const node = { body: "", color: "#ffffff", ...fields, parent: parentId };
  const size = sizeOf(node);
  const slot = childSlot(tree, parent, size, { after, mode, sizeOf });
  Object.assign(node, { x: Math.round(slot.x), y: Math.round(slot.top + size.height / 2) });
  const ops = [{ kind: "node.create", node }];
  if (folded.collapsed) ops.push({ kind: "node.update", id: parentId, set: { collapsed: false } });
  const boxes = takenBoxes(tree, sizeOf);
  tree.set(node.id, node);
  const room = moves(tree, makeRoom(tree, node.id, { sizeOf, before: nodes }), node.id);
  if (room.length <= ROOM_BUDGET) return ops.concat(room);
  crowded();
  Object.assign(node, freeSpot(boxes, { edge: slot.x - slot.side * size.width / 2, top: slot.top, size, side: slot.side }));
  return ops;
}

// Where a child `width` wide of a node `parentWidth` wide at `x` goes across on `side`,
// in whole pixels as the layout rounds them.
function column(x, parentWidth, width, side) {
  return Math.round(childX(x, parentWidth, width, side));
}

// The ops that give node `id` the title `title`: the update, and when its box changes
// size, the moves that keep its box in its parent's column and its top where it was (if
// the layout put it there: a node placed by hand keeps its centre), its children that
// are in its column in the column, and make room below.
export function retitle(nodes, id, title, { sizeOf, crowded = () => {} }) {
  const node = nodes.get(id);
  const root = rootOf(nodes);
  if (!node || !root) return [{ kind: "node.update", id, set: { title } }];  // planned (and refused) as it is
  const before = sizeOf(node);
  const after = sizeOf({ ...node, title });
  const set = { title };
  if (after.width === before.width && after.height === before.height) return [{ kind: "node.update", id, set }];
  const side = sideOf(nodes, id, root);
  const parent = nodes.get(node.parent);
  if (parent && Math.abs(node.x - column(parent.x, sizeOf(parent).width, before.width, side)) <= 1) {
    set.x = column(parent.x, sizeOf(parent).width, after.width, side);
    set.y = node.y + (after.height - before.height) / 2;
  }
  const changed = { ...node, ...set };
  const tree = new Map(nodes).set(id, changed);
  const children = childrenIndex(tree);
  const moved = new Map();
  for (const kid of (children.get(id) ?? []).map((key) => tree.get(key))) {
    const kidSide = side || sideOf(tree, kid.id, root);
    const width = sizeOf(kid).width;
    if (Math.abs(kid.x - column(node.x, before.width, width, kidSide)) > 1) continue;  // placed by hand
    const dx = column(changed.x, after.width, width, kidSide) - kid.x;
    for (const below of subtree(tree, kid.id, children)) {
      const { x, y } = tree.get(below);
      moved.set(below, { x: x + dx, y });
    }
  }
  const own = new Set(moved.keys());  // its children in its column, and theirs
  makeRoom(tree, id, { sizeOf, before: nodes, moved });
  const room = moves(tree, moved, id);
  if (room.filter((op) => !own.has(op.id)).length <= ROOM_BUDGET) return [{ kind: "node.update", id, set }, ...room];
  crowded();
  if (parent && !children.get(id)?.length) {  // a leaf whose grown box covers another goes to a free spot
    const box = { left: changed.x - after.width / 2, right: changed.x + after.width / 2,
                  top: changed.y - after.height / 2, bottom: changed.y + after.height / 2 };
    const boxes = takenBoxes(tree, sizeOf, new Set([id]));
    if (boxes.some((other) => other.left < box.right && other.right > box.left && other.top < box.bottom
                            && other.bottom > box.top)) {
      const edge = parent.x + (side || 1) * (sizeOf(parent).width / 2 + GAP.x);
      Object.assign(set, freeSpot(boxes, { edge, top: box.top, size: after, side: side || 1 }));
    }
  }
  return [{ kind: "node.update", id, set }, ...room.filter((op) => own.has(op.id))];
}

// The ops that unfold node `id`: the update, and room made for what comes into view.
export function unfold(nodes, id, { sizeOf, crowded = () => {} }) {
  const node = nodes.get(id);
  const own = { kind: "node.update", id, set: { collapsed: false } };
  if (!node) return [own];
  const tree = new Map(nodes).set(id, { ...node, collapsed: false });
  const room = moves(tree, makeRoom(tree, id, { sizeOf, before: nodes }), id);
  if (room.length <= ROOM_BUDGET) return [own, ...room];
  crowded();
  return [own];
}

// node.create ops for `trees` ([{title, body, color, children}], e.g. an import) under
// `parentId`, laid out as a block after its last child, and the moves that make room;
// parents come before their children, as the server needs them.
export function placeTrees(nodes, parentId, trees, { mode = "right", sizeOf, newId, crowded = () => {} }) {
  const parent = nodes.get(parentId);
  if (!parent || !rootOf(nodes)) return [];
  const virtual = new Map();  // the imported forest as a tree of its own, its root at 0,0
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
  const placed = layoutTree(virtual, { mode: "right", sizeOf });
  let top = Infinity; let left = Infinity; let right = -Infinity;
  for (const node of made) {
    const at = placed.get(node.id);
    const { width, height } = sizeOf(node);
    top = Math.min(top, at.y - height / 2);
    left = Math.min(left, at.x - width / 2); right = Math.max(right, at.x + width / 2);
  }
  const slot = childSlot(nodes, parent, { width: right - left }, { mode, sizeOf });
  const byId = new Set(made.map((node) => node.id));
  made.sort((a, b) => a.y - b.y);  // creation order: parents first
  // The creates with the block's inner edge at `edge` (where a child's goes) and its top at `blockTop`.
  const creates = (edge, blockTop) => made.map((node) => {
    const at = placed.get(node.id);
    return { kind: "node.create", node: { id: node.id, parent: byId.has(node.parent) ? node.parent : parentId,
                                          title: node.title, body: node.body, color: node.color,
                                          x: Math.round(slot.side * (at.x - left) + edge),
                                          y: Math.round(at.y - top + blockTop) } };
  });
  const edge = slot.x - slot.side * (right - left) / 2;
  const ops = creates(edge, slot.top);
  const tree = new Map(nodes);
  for (const op of ops) tree.set(op.node.id, op.node);
  const last = ops.findLast((op) => op.node.parent === parentId);
  const room = last ? moves(tree, makeRoom(tree, last.node.id, { sizeOf, before: nodes }), null) : [];
  if (room.length <= ROOM_BUDGET) return ops.concat(room);
  crowded();
  const size = { width: right - left, height: Math.max(...made.map((node) => placed.get(node.id).y + sizeOf(node).height / 2)) - top };
  const spot = freeSpot(takenBoxes(nodes, sizeOf), { edge, top: slot.top, size, side: slot.side });
  return creates(spot.x - slot.side * size.width / 2, spot.y - size.height / 2);
}
