// The live mindmap board over /ws/mindmap/: the confirmed tree (op events in seq order)
// with the person's unsaved edits (the outbox) laid over it, the status line, undo and
// redo, and the toasts. Every edit is planned against the tree first (an edit the
// server would refuse as a cycle or on a deleted node is refused here, with a toast),
// then kept in the outbox, then sent.

import { Connection } from "./connection.js";
import { Outbox } from "./outbox.js";
import { apply, copy, plan, target, tree } from "./state.js";
import { describe } from "./status.js";
import { createHistoryPanel } from "./history_panel.js";
import { toaster } from "./toasts.js";
import { History, overwritten } from "./undo.js";
import { createView } from "./view.js";

const svg = document.getElementById("board");
const statusLine = document.getElementById("board-connection");
const toast = toaster(document.getElementById("board-toasts"));
const { team, map, user } = svg.dataset;
const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/mindmap/${team}/${map}/`;
const clientId = sessionStorage.getItem("moa-client") ?? crypto.randomUUID();
sessionStorage.setItem("moa-client", clientId);

let confirmed = tree();   // the server's tree at the connection's seq
const peers = new Map();  // client id -> presence
const history = new History(`moa-board-history:${map}:${user}`);
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

// The tree the person sees: the confirmed one with the unsaved edits the server would
// accept laid over it (one it would refuse is not shown, and its refusal will come).
function current() {
  const state = copy(confirmed);
  for (const op of outbox.ops) apply(state, op);
  return state;
}

function titleOf(id, state = current()) {
  const node = state.live.get(id) ?? state.deleted.get(id)?.node ?? confirmed.deleted.get(id)?.node;
  return `“${node?.title || "untitled"}”`;
}

// Why a permanent refusal dropped an edit, in words (server details may name ids).
const REASONS = {
  gone: "it, or the node it was under, was deleted meanwhile",
  cycle: "a node cannot move under its own branch",
  conflict: "it already exists",
  forbidden: "you are no longer a member of this team",
};

function reason(code, detail) {
  return REASONS[code] ?? (detail ?? code).replace(UUID, "a node");
}

function readOnly() {
  const state = connection.state;
  if (state === "signed-out") return "You are signed out: sign in to edit (your unsaved edits are kept).";
  if (state === "forbidden" || state === "not-found") return "This map is read-only now.";
  return null;
}

// Queue an edit when it can be made; false (and a toast saying why) when not.
function edit(op, { undoable = true } = {}) {
  const blocked = readOnly();
  if (blocked) { toast(blocked, { alert: true }); return false; }
  const state = current();
  const refused = plan(state, op);
  // A restore of a node deleted before this page loaded: only the server knows it.
  const unknown = op.kind === "node.restore" && refused?.code === "gone" && !state.deleted.has(op.id);
  if (refused && !unknown) {
    toast(`${titleOf(target(op), state)} was not changed: ${reason(refused.code, refused.detail)}.`, { alert: true });
    return false;
  }
  const label = op.kind === "node.create" ? op.node.title : titleOf(target(op), state).slice(1, -1);
  if (undoable) history.record(op, state.live, label);
  outbox.add([op], label);
  render();
  return true;
}

function undoOrRedo(which) {
  const entry = history.peek(which);
  if (!entry) { toast(`Nothing to ${which}.`); return; }
  const blocked = readOnly();
  if (blocked) { toast(blocked, { alert: true }); return; }
  const state = current();
  const id = target(entry.op);
  const name = state.live.has(id) ? titleOf(id, state) : `“${entry.title || "untitled"}”`;
  const why = overwritten(entry.expect, state.live);
  if (why) {
    history.drop(which);
    toast(`Cannot ${which} your change to ${name}: ${why}.`, { alert: true });
    return;
  }
  const refused = plan(state, entry.op);
  const unknown = entry.op.kind === "node.restore" && refused?.code === "gone" && !state.deleted.has(id);
  if (refused && !unknown) {
    history.drop(which);
    toast(`Cannot ${which} your change to ${name}: ${reason(refused.code, refused.detail)}.`, { alert: true });
    return;
  }
  history.take(which, state.live);
  outbox.add([entry.op], entry.title);
  render();
}

const outbox = new Outbox({
  name: `moa-board:${map}:${user}`,
  send: (frame) => connection.send(frame),
  refused: (entry, code, detail) => {
    toast(`Your change to “${entry.label || "untitled"}” was not saved: ${reason(code, detail)}.`, { alert: true });
    render();
  },
  changed: () => showStatus(),
  failed: (error) => {
    console.error("board: the outbox cannot be kept on this device", error);
    toast("Unsaved edits cannot be kept on this device (storage is unavailable): keep this tab open until they are saved.", { alert: true });
  },
});

const connection = new Connection({
  url, clientId,
  loaded: (nodes, seq) => {
    const deleted = confirmed.deleted;  // what this page saw deleted, for a restore's preview
    confirmed = tree(nodes);
    for (const [id, entry] of deleted) if (!confirmed.live.has(id)) confirmed.deleted.set(id, entry);
  },
  event: (opEvent) => {
    const refused = apply(confirmed, opEvent.op);
    if (refused) console.warn("board: an op event does not fit the tree", opEvent, refused);
    outbox.settle(opEvent.op_id);
    timeline.opEvent(opEvent);
    render();
  },
  ready: () => { outbox.welcome(); render(); },
  frame: receive,
  changed: () => showStatus(),
  closed: () => outbox.down(),
});

function receive(frame) {
  if (frame.type === "welcome") {
    peers.clear();
    for (const peer of frame.peers ?? []) peers.set(peer.client_id, peer);
  } else if (frame.type === "batch") outbox.answer(frame, connection.seq);
  else if (frame.type === "error" && frame.code === "unknown_type") outbox.unsupported();
  else if (frame.type === "reject" || (frame.type === "error" && frame.op_id)) {
    outbox.rejected(frame);
  } else if (frame.type === "presence") {
    for (const peer of frame.peers) peers.set(peer.client_id, peer);
  } else if (frame.type === "peer.leave") peers.delete(frame.client_id);
  else if (frame.type === "error" && frame.code !== "rate_limited") {
    console.warn("board: error frame", frame);
    toast(frame.detail.replace(UUID, "a node"), { alert: true });
  }
  render();
}

function showStatus() {
  const { text, state, signIn } = describe({ connection, online: navigator.onLine, count: outbox.edits });
  statusLine.dataset.state = state;
  statusLine.replaceChildren(text);
  if (signIn) {
    const link = document.createElement("a");
    link.href = `/accounts/login/?next=${encodeURIComponent(location.pathname)}`;
    link.textContent = "Sign in";
    statusLine.append(" ", link);
  }
}

// Many ops as one edit (an import, a tidy-up): planned in order first, and none queued
// when one would be refused. (Undo does not take such an edit back yet.)
function editMany(ops, label) {
  const blocked = readOnly();
  if (blocked) { toast(blocked, { alert: true }); return false; }
  const state = current();
  for (const op of ops) {
    const refused = apply(state, op);
    if (refused) {
      toast(`${label} was not done: ${reason(refused.code, refused.detail)}.`, { alert: true });
      return false;
    }
  }
  outbox.add(ops, label);
  render();
  return true;
}

const view = createView({
  svg,
  frame: svg.closest(".board-frame"),
  board: {
    nodes: () => current().live,
    title: svg.dataset.title,
    peers,
    submit: edit,
    submitMany: editMany,
    toast,
    presence: (state) => connection.send({ type: "presence", ...state }),
  },
});

function render() {
  view.render();
}

const timeline = createHistoryPanel({ map, user, toast, nodes: () => current().live, selected: () => view.selected });

document.addEventListener("keydown", (event) => {
  if (!(event.ctrlKey || event.metaKey) || event.target instanceof HTMLInputElement) return;
  const key = event.key.toLowerCase();
  if (key === "z" || key === "y") {
    event.preventDefault();
    undoOrRedo(key === "y" || event.shiftKey ? "redo" : "undo");
  }
});
addEventListener("online", showStatus);
addEventListener("offline", showStatus);

await outbox.open();  // the edits an earlier page left unsaved come first
render();
connection.now();
