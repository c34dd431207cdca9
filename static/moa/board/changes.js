// The person's edits on their way to the outbox: each edit (one or more ops, its own op
// first: an added node, then the moves that made room for it) is planned against the
// tree first, and an edit the server would refuse as a cycle or on a deleted node is
// refused here, whole, with a toast; undo and redo take an edit back whole; and an op the
// server refused for good is told in words, naming the node by the title the person
// last gave it.

import { apply, copy, target, titleGiven } from "./state.js";
import { planBack } from "./undo.js";

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

// Why a permanent refusal dropped an edit, in words (server details may name ids).
const REASONS = {
  gone: "it, or the node it was under, was deleted meanwhile",
  cycle: "a node cannot move under its own branch",
  conflict: "it already exists",
  forbidden: "you are no longer a member of this team",
};

export function withoutIds(text) {
  return text.replace(UUID, "a node");
}

function reason(code, detail) {
  return REASONS[code] ?? withoutIds(detail ?? code);
}

const positionOnly = (op) => op.kind === "node.update" && Object.keys(op.set).every((key) => key === "x" || key === "y");

// `current()` the tree the person sees; `history` (undo.js) and `outbox` (outbox.js);
// `readOnly()` why the board cannot be edited now ({text, signIn}) or null; `toast`;
// `render()` after each change.
export function createChanges({ current, history, outbox, readOnly, toast, render }) {
  function titleOf(id, state = current()) {
    const node = state.live.get(id) ?? state.deleted.get(id)?.node;
    return `“${node?.title || "untitled"}”`;
  }

  // True when the board can be edited; else false, and a toast says why.
  function mayEdit() {
    const why = readOnly();
    if (why) toast(why.text, { alert: true, signIn: why.signIn });
    return !why;
  }

  // The refusal of the first of `ops` the tree `state` would not take, in order, or null.
  function trial(state, ops) {
    const tried = copy(state);
    for (const op of ops) {
      const refused = apply(tried, op);
      // A restore of a node deleted before this page loaded: only the server knows it.
      const unknown = op.kind === "node.restore" && refused?.code === "gone" && !tried.deleted.has(op.id);
      if (refused && !unknown) return { op, ...refused };
    }
    return null;
  }

  // Queue an edit when it can be made; false (and a toast saying why) when not. `label`
  // names an edit of many nodes ("Tidy up"); such edits are not undone.
  function edit(ops, { label = null } = {}) {
    if (!ops.length || !mayEdit()) return false;
    const state = current();
    const refused = trial(state, ops);
    if (refused) {
      const why = reason(refused.code, refused.detail);
      toast(label ? `${label} was not done: ${why}.` : `${titleOf(target(refused.op), state)} was not changed: ${why}.`,
            { alert: true });
      return false;
    }
    const own = ops[0];
    const name = label ?? (own.kind === "node.create" ? own.node.title : titleOf(target(own), state).slice(1, -1));
    if (!label) history.record(ops, state.live, name);
    outbox.add(ops, name);
    render();
    return true;
  }

  function undoOrRedo(which) {
    const entry = history.peek(which);
    if (!entry) { toast(`Nothing to ${which}.`); return; }
    if (!mayEdit()) return;
    const state = current();
    const id = target(entry.steps.find((step) => step.main).op);
    const name = state.live.has(id) ? titleOf(id, state) : `“${entry.title || "untitled"}”`;
    const planned = planBack(entry, state.live);
    const refused = planned.why ? null : trial(state, planned.ops);
    if (planned.why || refused) {
      history.drop(which);
      const why = planned.why ?? reason(refused.code, refused.detail);
      toast(`Cannot ${which} your change to ${name}: ${why}.`, { alert: true });
      return;
    }
    history.take(which, planned, state.live);
    outbox.add(planned.ops, entry.title);
    render();
  }

  // The server refused `entry`'s op for good: say so, naming the node by the title the
  // person last gave it (`title`, given in an edit that waited, unless that edit is the
  // refused rename itself; else the one it shows,
  // when it is still there; else, its create refused, the one this op gave it). A move
  // that only made room for an edit's own op is dropped without a word to the person
  // (the log has it).
  function refused(entry, code, detail, title) {
    if (!entry.first && positionOnly(entry.op)) {
      console.warn("board: a move that made room was refused", code, detail);
    } else {
      const id = target(entry.op);
      // A refused rename is not the node's name: the one it shows (the server's) is.
      const renamed = entry.op.kind === "node.update" && "title" in entry.op.set;
      const name = (renamed ? null : title) ?? current().live.get(id)?.title ?? titleGiven(entry.op, id) ?? entry.label;
      toast(`Your change to “${name || "untitled"}” was not saved: ${reason(code, detail)}.`, { alert: true });
    }
    render();
  }

  return { edit, mayEdit, undoOrRedo, refused };
}
