// The live mindmap board over /ws/mindmap/: the confirmed tree (op events in seq order)
// with the person's unsaved edits (the outbox) laid over it, the status line, undo and
// redo, and the toasts. Every edit is planned against the tree first (changes.js), then
// kept in the outbox, then sent. Each tab has its own outbox entries and undo stack
// (tabs.js): a tab sends and undoes only its own edits, and takes over those of a tab
// that closed.

import { createChanges, withoutIds } from "./changes.js";
import { Connection } from "./connection.js";
import { Outbox } from "./outbox.js";
import { apply, copy, tree } from "./state.js";
import { describe } from "./status.js";
import { createHistoryPanel } from "./history_panel.js";
import { claimTab, watchTabs } from "./tabs.js";
import { toaster } from "./toasts.js";
import { History } from "./undo.js";
import { createView } from "./view.js";

const svg = document.getElementById("board");
const statusLine = document.getElementById("board-connection");
const { team, map, user } = svg.dataset;
const signInHref = `/accounts/login/?next=${encodeURIComponent(location.pathname)}`;
const toast = toaster(document.getElementById("board-toasts"), signInHref);
const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/mindmap/${team}/${map}/`;
const clientId = await claimTab("moa-client");

let confirmed = tree();   // the server's tree at the connection's seq
const peers = new Map();  // client id -> presence

// The tree the person sees: the confirmed one with the unsaved edits the server would
// accept laid over it (one it would refuse is not shown, and its refusal will come).
function current() {
  const state = copy(confirmed);
  for (const op of outbox.ops) apply(state, op);
  return state;
}

function readOnly() {
  const state = connection.state;
  if (state === "signed-out") {
    return { signIn: true, text: "You are signed out: sign in to edit (your unsaved edits are kept)." };
  }
  if (state === "other-user") return { signIn: true, text: "Another account is signed in here: sign in as yourself to edit." };
  if (state === "forbidden" || state === "not-found") return { text: "This map is read-only now." };
  return null;
}

const outbox = new Outbox({
  name: `moa-board:${map}:${user}`,
  owner: clientId,
  send: (frame) => connection.send(frame),
  refused: (entry, code, detail, title) => changes.refused(entry, code, detail, title),
  changed: () => showStatus(),
  failed: (error) => {
    console.error("board: the outbox cannot be kept on this device", error);
    toast("Unsaved edits cannot be kept on this device (storage is unavailable): keep this tab open until they are saved.", { alert: true });
  },
});

const changes = createChanges({
  current, outbox, readOnly, toast, render: () => render(),
  history: new History(`moa-board-history:${map}:${user}:${clientId}`),
});

const connection = new Connection({
  url, clientId, user,
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
    toast(withoutIds(frame.detail), { alert: true });
  }
  render();
}

function showStatus() {
  const { text, state, signIn, retry } = describe({ connection, online: navigator.onLine, count: outbox.edits });
  statusLine.dataset.state = state;
  statusLine.replaceChildren(text);
  if (retry) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "secondary";
    button.textContent = "Try again";
    button.addEventListener("click", () => {
      button.disabled = true;  // until the answer redraws the line
      button.textContent = "Trying…";
      connection.now();
    });
    statusLine.append(" ", button);
  }
  if (signIn) {
    const link = document.createElement("a");
    link.href = signInHref;
    link.textContent = "Sign in";
    statusLine.append(" ", link);
  }
}

const view = createView({
  svg,
  frame: svg.closest(".board-frame"),
  board: {
    nodes: () => current().live,
    title: svg.dataset.title,
    peers,
    submit: changes.edit,
    mayEdit: changes.mayEdit,
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
    changes.undoOrRedo(key === "y" || event.shiftKey ? "redo" : "undo");
  }
});
addEventListener("online", showStatus);
addEventListener("offline", showStatus);

await outbox.open();  // the edits this tab's earlier page, or a closed tab, left unsaved come first
watchTabs({ channel: `moa-board:${map}:${user}`, me: clientId, gone: () => outbox.adopt() });
render();
connection.now();
