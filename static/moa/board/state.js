// The board's tree as plain data: no DOM, no socket, importable by Node for the tests.
//
// A tree is {live: Map id -> node, deleted: Map id -> {node, by}}: `deleted` remembers
// what each node.delete removed (`by` is the deleted top), so node.restore can bring a
// subtree back with the same ids, as the server does. `plan` mirrors the server's rules
// (collab/ops.py) for the tree: an op the server would refuse is refused here first and
// never laid over the view. Every walk keeps a visited set, so even a corrupted table
// (a cycle the server never made) cannot make it loop.

export const NODE_DEFAULTS = { title: "", body: "", x: 0, y: 0, color: "#ffffff", collapsed: false };

export function tree(nodes = []) {
  const live = new Map();
  for (const node of nodes) live.set(node.id, node);
  return { live, deleted: new Map() };
}

export function copy(from) {
  return { live: new Map(from.live), deleted: new Map(from.deleted) };
}

// The chain of parents above `id`, nearest first; stops at a node seen twice.
export function ancestors(nodes, id) {
  const found = [];
  const seen = new Set([id]);
  let up = nodes.get(id)?.parent;
  while (up != null && !seen.has(up) && nodes.has(up)) {
    seen.add(up);
    found.push(up);
    up = nodes.get(up).parent;
  }
  return found;
}

export function childrenIndex(nodes) {
  const children = new Map();
  for (const node of nodes.values()) {
    if (!children.has(node.parent)) children.set(node.parent, []);
    children.get(node.parent).push(node.id);
  }
  return children;
}

// `top` and every node under it (top first, parents before children), each once.
export function subtree(nodes, top, children = childrenIndex(nodes)) {
  if (!nodes.has(top)) return [];
  const found = [top];
  const seen = new Set(found);
  for (let i = 0; i < found.length; i += 1) {
    for (const child of children.get(found[i]) ?? []) {
      if (!seen.has(child)) { seen.add(child); found.push(child); }
    }
  }
  return found;
}

// Whether `id` is `top` or lies under it.
export function within(nodes, id, top) {
  return id === top || ancestors(nodes, id).includes(top);
}

// The ids a collapsed ancestor hides: one pass from every collapsed node down.
export function hiddenByCollapse(nodes) {
  const children = childrenIndex(nodes);
  const hidden = new Set();
  for (const node of nodes.values()) {
    if (!node.collapsed || hidden.has(node.id)) continue;
    for (const id of subtree(nodes, node.id, children).slice(1)) hidden.add(id);
  }
  return hidden;
}

export function isRoot(nodes, id) {
  const node = nodes.get(id);
  return node !== undefined && node.parent == null;
}

function refusal(code, detail) {
  return { code, detail };
}

function missing(state, id, what) {
  const reason = state.deleted.has(id) ? "was deleted" : "does not exist";
  return refusal("gone", `${what} ${reason}`);
}

// Why the server would refuse `op` on this tree (`{code, detail}`), or null.
export function plan(state, op) {
  const { live, deleted } = state;
  if (op.kind === "node.create") {
    const id = op.node.id;
    if (live.has(id) || deleted.has(id)) return refusal("conflict", "the node already exists");
    if (!live.has(op.node.parent)) return missing(state, op.node.parent, "its parent");
    return null;
  }
  if (op.kind === "node.restore") {
    if (live.has(op.id)) return refusal("conflict", "the node is not deleted");
    // The server's event (or one slice of a big restore, named after its first node):
    // it says what came back.
    if (op.nodes) return null;
    const gone = deleted.get(op.id);
    if (!gone) return refusal("gone", "the node does not exist");
    if (!live.has(gone.node.parent)) return refusal("gone", "its parent is deleted: restore that first");
    return null;
  }
  if (op.kind === "node.reparent" && op.parent === op.id) {
    return refusal("cycle", "a node cannot be its own parent");  // checked first, as the server does
  }
  if (!live.has(op.id)) return missing(state, op.id, "the node");
  if (op.kind === "node.update") return null;
  if (isRoot(live, op.id)) return refusal("invalid", "the central topic cannot be moved or deleted");
  if (op.kind === "node.delete") return null;
  if (op.kind === "node.reparent") {
    if (!live.has(op.parent)) return missing(state, op.parent, "the new parent");
    if (within(live, op.parent, op.id)) return refusal("cycle", "a node cannot move under its own subtree");
    return null;
  }
  return refusal("invalid", `unknown op kind ${op.kind}`);
}

// Nodes that come back with a restore: the top and every node the same delete removed
// under it, parents before children.
function restored(state, id) {
  const by = state.deleted.get(id).by;
  const group = new Map();
  for (const [key, entry] of state.deleted) if (entry.by === by) group.set(key, entry.node);
  return subtree(group, id);
}

// Apply `op` to `state` when the server's rules allow it; returns the refusal (and
// changes nothing) when they do not.
export function apply(state, op) {
  const refused = plan(state, op);
  if (refused) return refused;
  const { live, deleted } = state;
  if (op.kind === "node.create") {
    live.set(op.node.id, { ...NODE_DEFAULTS, ...op.node });
  } else if (op.kind === "node.update") {
    live.set(op.id, { ...live.get(op.id), ...op.set });
  } else if (op.kind === "node.reparent") {
    live.set(op.id, { ...live.get(op.id), parent: op.parent });
  } else if (op.kind === "node.delete") {
    for (const id of subtree(live, op.id)) {
      deleted.set(id, { node: live.get(id), by: op.id });
      live.delete(id);
    }
  } else if (op.kind === "node.restore") {
    const nodes = op.nodes ?? restored(state, op.id).map((id) => deleted.get(id).node);
    for (const node of nodes) {
      live.set(node.id, { ...NODE_DEFAULTS, ...node });
      deleted.delete(node.id);
    }
  }
  return null;
}

// The node an op is about, for messages: its id (the created node's for a create).
export function target(op) {
  return op.kind === "node.create" ? op.node.id : op.id;
}

// The title `op` gives node `id`, or undefined.
export function titleGiven(op, id) {
  if (op.kind === "node.create" && op.node.id === id) return op.node.title;
  if (op.kind === "node.update" && op.id === id && "title" in op.set) return op.set.title;
  return undefined;
}
