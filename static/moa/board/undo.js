// The person's undo and redo stacks for one map, kept in localStorage (per map and
// user) so they survive a reload. Each entry is the op that takes an edit back and the
// op it takes back (`expect`): undo is refused, with the node named, when the tree no
// longer shows what the edit did (a peer has since overwritten the field, deleted the
// node or brought it back). Undoing a delete is a node.restore: the subtree comes back
// with the same ids, for everyone; redoing a create is a restore too.

const LIMIT = 100;

// The op that takes `op` back, planned against the tree as it was before `op`.
export function inverse(op, live) {
  if (op.kind === "node.create") return { kind: "node.delete", id: op.node.id };
  if (op.kind === "node.delete") return { kind: "node.restore", id: op.id };
  if (op.kind === "node.restore") return { kind: "node.delete", id: op.id };
  const node = live.get(op.id);
  if (!node) return null;
  if (op.kind === "node.update") {
    return { kind: "node.update", id: op.id,
             set: Object.fromEntries(Object.keys(op.set).map((key) => [key, node[key]])) };
  }
  if (op.kind === "node.reparent") return { kind: "node.reparent", id: op.id, parent: node.parent };
  return null;
}

// Why the tree no longer shows what `op` did, or null when it does.
export function overwritten(op, live) {
  const id = op.kind === "node.create" ? op.node.id : op.id;
  const node = live.get(id);
  if (op.kind === "node.delete") return node ? "it has been brought back since" : null;
  if (!node) return "it has been deleted since";
  if (op.kind === "node.update") {
    const changed = Object.keys(op.set).some((key) => node[key] !== op.set[key]);
    return changed ? "someone has changed it since" : null;
  }
  if (op.kind === "node.reparent" && node.parent !== op.parent) return "someone has moved it since";
  return null;
}

export class History {
  constructor(key) {
    this.key = key;
    this.undo = [];
    this.redo = [];
    try {
      Object.assign(this, JSON.parse(localStorage.getItem(key) ?? "{}"));
    } catch (error) {
      console.warn("board: unreadable undo history dropped", error);
    }
  }

  save() {
    try {
      localStorage.setItem(this.key, JSON.stringify({ undo: this.undo, redo: this.redo }));
    } catch (error) {  // storage full or denied: undo still works until the page closes
      console.warn("board: undo history not saved", error);
    }
  }

  // A new edit `op` (the tree `live` as it was before it) can be undone; redo is over.
  record(op, live, title) {
    this.push(this.undo, op, live, title);
    this.redo = [];
    this.save();
  }

  push(stack, op, live, title) {
    const back = inverse(op, live);
    if (!back) return;
    stack.push({ op: back, expect: op, title });
    if (stack.length > LIMIT) stack.shift();
  }

  // The next entry of `which` ("undo" or "redo") without taking it.
  peek(which) {
    return this[which].at(-1) ?? null;
  }

  // Take the entry off `which` and make its op redoable (or undoable) in turn.
  take(which, live) {
    const entry = this[which].pop();
    this.push(which === "undo" ? this.redo : this.undo, entry.op, live, entry.title);
    this.save();
    return entry;
  }

  drop(which) {
    this[which].pop();
    this.save();
  }
}
