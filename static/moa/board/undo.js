// The person's undo and redo stacks for one map in one tab, kept in sessionStorage (per
// map, user and tab) so that they survive a reload of the tab and two tabs never undo
// each other's edits. An entry is one edit: its steps, each the op that takes one of the
// edit's ops back and the op it takes back (`expect`). The edit's own op (its first:
// the create, the rename) must still show on the tree, or the undo is refused with the
// node named (a peer has since overwritten the field, deleted the node or brought it
// back); the steps of the moves that made room are taken back only where the tree still
// shows them. Undoing a delete is a node.restore: the subtree comes back with the same
// ids, for everyone; redoing a create is a restore too.

import { apply, target, tree } from "./state.js";

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

// A node added and named in one entry that someone has renamed since is theirs too:
// taking it away would take their change with it.
function renamedSince(entry, live) {
  if (!entry.named) return null;
  const made = entry.steps.find((step) => step.main).expect;
  const node = made.kind === "node.create" ? live.get(made.node.id) : null;
  return node && node.title !== entry.namedTitle ? "someone has changed it since" : null;
}

// The steps that take `ops` back (made in order on the tree `live`), last op first; the
// step of `main` (the edit's own op) is marked.
function stepsBack(ops, live, main) {
  const state = tree();
  state.live = new Map(live);
  const steps = [];
  for (const op of ops) {
    const back = inverse(op, state.live);
    if (back) steps.unshift({ op: back, expect: op, ...(op === main ? { main: true } : {}) });
    apply(state, op);
  }
  return steps;
}

// What undoing (or redoing) `entry` would do on the tree `live`: {ops, main} to queue
// (`main` the op of the edit's own step), or {why} that step no longer shows.
export function planBack(entry, live) {
  const main = entry.steps.find((step) => step.main);  // every entry has one (push)
  const why = overwritten(main.expect, live) ?? renamedSince(entry, live);
  if (why) return { why };
  return { ops: entry.steps.filter((step) => step === main || !overwritten(step.expect, live)).map((step) => step.op),
           main: main.op };
}

// Whether `op` is the first naming of the node the undo entry `entry` added.
function names(entry, op) {
  const made = entry?.steps.find((step) => step.main)?.expect;
  return Boolean(made && !entry.named && made.kind === "node.create" && op.kind === "node.update"
                 && op.id === made.node.id && "title" in op.set
                 && Object.keys(op.set).every((key) => ["title", "x", "y"].includes(key)));
}

export class History {
  constructor(key, storage = globalThis.sessionStorage) {
    Object.assign(this, { key, storage, undo: [], redo: [] });
    try {
      const kept = JSON.parse(storage?.getItem(key) ?? "{}");
      this.undo = kept.undo ?? [];
      this.redo = kept.redo ?? [];
    } catch (error) {
      console.warn("board: unreadable undo history dropped", error);
    }
  }

  save() {
    try {
      this.storage?.setItem(this.key, JSON.stringify({ undo: this.undo, redo: this.redo }));
    } catch (error) {  // storage full or denied: undo still works until the page closes
      console.warn("board: undo history not saved", error);
    }
  }

  // A new edit (`ops`, made on the tree `live`; the first is its own) can be undone;
  // redo is over. The first title given to a node just added joins the add's entry
  // (named), so one undo takes the node away, as the status line counted one edit.
  record(ops, live, title) {
    const top = this.undo.at(-1);
    if (names(top, ops[0])) {
      const made = ops[0].id;  // its own steps go: the undo deletes it
      top.steps = [...stepsBack(ops, live, null).filter((step) => target(step.op) !== made), ...top.steps];
      Object.assign(top, { title, named: true, namedTitle: ops[0].set.title });
    } else this.push(this.undo, ops, live, title, ops[0]);
    this.redo = [];
    this.save();
  }

  push(stack, ops, live, title, main) {
    const steps = stepsBack(ops, live, main);
    if (!steps.some((step) => step.main)) return;
    stack.push({ steps, title });
    if (stack.length > LIMIT) stack.shift();
  }

  // The next entry of `which` ("undo" or "redo") without taking it.
  peek(which) {
    return this[which].at(-1) ?? null;
  }

  // Take the entry off `which`, its plan ({ops, main} of planBack) about to be queued
  // on the tree `live`, and make it redoable (or undoable) in turn.
  take(which, { ops, main }, live) {
    const entry = this[which].pop();
    this.push(which === "undo" ? this.redo : this.undo, ops, live, entry.title, main);
    this.save();
    return entry;
  }

  drop(which) {
    this[which].pop();
    this.save();
  }
}
