// The mindmap board over /ws/mindmap/: the confirmed tree (ops acked in seq order) with
// this tab's unacknowledged ops laid over it. Ops made while the socket is down wait in
// that queue and are sent again, with their op_ids, after the next welcome, so nothing
// typed is lost and nothing is applied twice. A reject drops the op and the view falls
// back to the confirmed tree. A big map's snapshot comes in parts (the welcome, then
// `snapshot` frames): the tree is replaced once the last part is in.

const svg = document.getElementById("board");
const status = document.getElementById("board-connection");
const notice = document.getElementById("board-notice");
const titleInput = document.getElementById("node-title");
const NS = "http://www.w3.org/2000/svg";
const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}` +
  `/ws/mindmap/${svg.dataset.team}/${svg.dataset.map}/`;
const clientId = sessionStorage.getItem("moa-client") ?? crypto.randomUUID();
sessionStorage.setItem("moa-client", clientId);

const confirmed = new Map();  // node id -> node
const pending = [];           // [{op_id, op}] not yet acked, in the order made
const peers = new Map();      // client id -> presence
let loading = null;           // a snapshot arriving in parts: {seq, parts, next, nodes}
let seq = null;
let socket = null;
let attempt = 0;
let selected = null;
let view = { x: -100, y: -250, scale: 1 };

function apply(nodes, op) {
  if (op.kind === "node.create") nodes.set(op.node.id, { collapsed: false, body: "", ...op.node });
  else if (op.kind === "node.update" && nodes.has(op.id)) nodes.set(op.id, { ...nodes.get(op.id), ...op.set });
  else if (op.kind === "node.reparent" && nodes.has(op.id)) nodes.set(op.id, { ...nodes.get(op.id), parent: op.parent });
  else if (op.kind === "node.delete") {
    const doomed = [op.id];
    for (let i = 0; i < doomed.length; i += 1) {
      for (const node of nodes.values()) if (node.parent === doomed[i]) doomed.push(node.id);
    }
    for (const id of doomed) nodes.delete(id);
  }
}

function current() {
  const nodes = new Map(confirmed);
  for (const { op } of pending) apply(nodes, op);
  return nodes;
}

function send(frame) {
  if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
}

const undoStack = [];  // inverses of this tab's own ops, newest last

function inverse(op, nodes) {
  if (op.kind === "node.create") return { kind: "node.delete", id: op.node.id };
  const node = nodes.get(op.id);
  if (!node) return null;
  if (op.kind === "node.update") {
    return { kind: "node.update", id: op.id,
             set: Object.fromEntries(Object.keys(op.set).map((key) => [key, node[key]])) };
  }
  if (op.kind === "node.reparent") return { kind: "node.reparent", id: op.id, parent: node.parent };
  return null;  // a deleted subtree is not brought back by undo
}

function undo() {
  const op = undoStack.pop();
  if (op) submit(op, { undoable: false });
}

function submit(op, { undoable = true } = {}) {
  if (undoable) {
    const back = inverse(op, current());
    if (back) undoStack.push(back);
  }
  const entry = { op_id: crypto.randomUUID(), op };
  pending.push(entry);
  send({ type: "op", ...entry });
  render();
}

function hello() {  // snapshot_parts: this board takes a big map's snapshot in parts
  loading = null;
  send({ type: "hello", client_id: clientId, since: seq, snapshot_parts: true });
}

function connect() {
  socket = new WebSocket(url);
  socket.onopen = hello;
  socket.onmessage = (message) => receive(JSON.parse(message.data));
  socket.onclose = (event) => {
    if (event.code === 4401 || event.code === 4403 || event.code === 4404) {
      status.textContent = "Offline: you no longer have access to this map.";
      return;
    }
    attempt += 1;
    const delay = event.code === 1012 ? 200 + Math.random() * 800
      : Math.min(15000, 400 * 2 ** attempt) * (0.5 + Math.random() / 2);
    status.textContent = event.code === 4429
      ? "Too many open connections: close some Moa tabs. Retrying…"
      : `Reconnecting… (${pending.length} change${pending.length === 1 ? "" : "s"} waiting)`;
    status.dataset.state = "reconnecting";
    setTimeout(connect, delay);
  };
}

function connected() {
  if (!selected) selected = [...confirmed.values()].find((node) => !node.parent)?.id ?? null;
  attempt = 0;
  status.textContent = "Connected";
  status.dataset.state = "connected";
  for (const entry of pending) send({ type: "op", ...entry });  // same op_ids: no double effect
}

function loaded(nodes, atSeq) {  // a whole snapshot is in: it replaces the tree
  confirmed.clear();
  for (const node of nodes) confirmed.set(node.id, node);
  seq = atSeq;
  loading = null;
  connected();
}

function receive(frame) {
  if (frame.type === "welcome") {
    for (const peer of frame.peers ?? []) peers.set(peer.client_id, peer);
    const parts = frame.snapshot?.parts ?? 1;
    if (parts > 1) {
      loading = { seq: frame.seq, parts, next: 2, nodes: [...frame.snapshot.nodes] };
      status.textContent = `Loading the map… (1/${parts})`;
    } else if (frame.snapshot) loaded(frame.snapshot.nodes, frame.seq);
    else {
      frame.ops.forEach(event);  // the ops after our seq, in order
      connected();
    }
  } else if (frame.type === "snapshot") {
    if (!loading || frame.seq !== loading.seq || frame.part !== loading.next) return;
    loading.nodes.push(...frame.nodes);
    loading.next += 1;
    if (frame.part === frame.parts) loaded(loading.nodes, loading.seq);
    else status.textContent = `Loading the map… (${frame.part}/${frame.parts})`;
  } else if (frame.type === "op") event(frame);
  else if (frame.type === "ops") frame.events.forEach(event);
  else if (frame.type === "reject") {
    const index = pending.findIndex((entry) => entry.op_id === frame.op_id);
    if (index >= 0) pending.splice(index, 1);
    notice.hidden = false;
    notice.textContent = `A change was refused (${frame.code}): ${frame.detail}`;
  } else if (frame.type === "presence") {
    for (const peer of frame.peers) peers.set(peer.client_id, peer);
  } else if (frame.type === "peer.leave") peers.delete(frame.client_id);
  else if (frame.type === "reconnect") status.textContent = "Reconnecting…";
  else if (frame.type === "error" && frame.code === "rate_limited" && frame.of === "hello") {
    status.textContent = "Waiting to reconnect…";
    setTimeout(hello, frame.retry_after_ms);
  } else if (frame.type === "error") {
    notice.hidden = false;
    notice.textContent = frame.detail;
  }
  render();
}

function event(op) {
  if (loading || op.seq <= seq) return;  // mid-snapshot (none come), or already applied
  if (op.seq > seq + 1) {     // a gap: ask for what is missing
    hello();
    return;
  }
  apply(confirmed, op.op);
  seq = op.seq;
  const index = pending.findIndex((entry) => entry.op_id === op.op_id);
  if (index >= 0) pending.splice(index, 1);
}

function shape(tag, attributes, parent) {
  const element = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  parent.append(element);
  return element;
}

function hidden(nodes) {
  const gone = new Set();
  for (const node of nodes.values()) {
    let up = nodes.get(node.parent);
    while (up) {
      if (up.collapsed) { gone.add(node.id); break; }
      up = nodes.get(up.parent);
    }
  }
  return gone;
}

function render() {
  const nodes = current();
  if (selected && !nodes.has(selected)) selected = null;
  const rect = svg.getBoundingClientRect();
  svg.setAttribute("viewBox", `${view.x} ${view.y} ${rect.width / view.scale} ${rect.height / view.scale}`);
  svg.replaceChildren();
  for (const peer of peers.values()) {  // a node someone else drags moves live here
    const node = peer.drag && nodes.get(peer.drag.node);
    if (node) nodes.set(node.id, { ...node, x: peer.drag.x, y: peer.drag.y });
  }
  const skip = hidden(nodes);
  for (const node of nodes.values()) {
    const parent = nodes.get(node.parent);
    if (parent && !skip.has(node.id)) {
      shape("line", { x1: parent.x, y1: parent.y, x2: node.x, y2: node.y, class: "edge" }, svg);
    }
  }
  for (const node of nodes.values()) {
    if (skip.has(node.id)) continue;
    const group = shape("g", { class: `node${node.id === selected ? " selected" : ""}`,
      "data-id": node.id, transform: `translate(${node.x} ${node.y})`, role: "treeitem",
      "aria-label": node.title || "untitled", "aria-selected": String(node.id === selected) }, svg);
    shape("rect", { x: -70, y: -16, width: 140, height: 32, rx: 6, fill: node.color }, group);
    shape("text", { "text-anchor": "middle", "dominant-baseline": "middle" }, group).textContent =
      (node.title || "untitled").slice(0, 18) + (node.title.length > 18 ? "…" : "") +
      (node.collapsed ? " +" : "");
  }
  for (const peer of peers.values()) {
    if (!peer.cursor) continue;
    const hue = [...peer.client_id].reduce((sum, ch) => sum + ch.charCodeAt(0), 0) % 360;
    const cursor = shape("g", { class: "peer", transform: `translate(${peer.cursor.x} ${peer.cursor.y})` }, svg);
    shape("circle", { r: 5, fill: `hsl(${hue} 70% 45%)` }, cursor);
    shape("text", { x: 8, y: -8, fill: `hsl(${hue} 70% 35%)` }, cursor).textContent = peer.user?.name ?? "";
    for (const id of peer.selection ?? []) {
      const node = nodes.get(id);
      if (node) shape("rect", { x: node.x - 74, y: node.y - 20, width: 148, height: 40, rx: 8, fill: "none", stroke: `hsl(${hue} 70% 45%)`, "stroke-width": 2 }, svg);
    }
  }
  if (document.activeElement !== titleInput) titleInput.value = nodes.get(selected)?.title ?? "";
}

function addNode(parentId) {
  const nodes = current();
  const parent = nodes.get(parentId);
  if (!parent) return;
  const siblings = [...nodes.values()].filter((node) => node.parent === parentId).length;
  const id = crypto.randomUUID();
  submit({ kind: "node.create", node: { id, parent: parentId, title: "New idea", body: "",
    x: parent.x + 190, y: parent.y + siblings * 50 - 25, color: "#ffffff" } });
  select(id);
  titleInput.focus();
  titleInput.select();
}

function select(id) {
  selected = id;
  send({ type: "presence", cursor: null, selection: id ? [id] : [], drag: null });
  render();
}

function removeSelected() {
  const node = current().get(selected);
  if (!node || !node.parent) return;  // the root stays
  if (window.confirm(`Delete "${node.title || "untitled"}" and everything under it?`)) {
    submit({ kind: "node.delete", id: selected });
  }
}

document.getElementById("add-child").addEventListener("click", () => addNode(selected));
document.getElementById("add-sibling").addEventListener("click", () => addNode(current().get(selected)?.parent));
document.getElementById("delete-node").addEventListener("click", removeSelected);
titleInput.addEventListener("change", () => {
  const node = current().get(selected);
  if (node && titleInput.value !== node.title) {
    submit({ kind: "node.update", id: selected, set: { title: titleInput.value } });
  }
});
titleInput.addEventListener("keydown", (event) => {
  if (event.key === "Enter") { titleInput.blur(); svg.focus(); }
});

document.addEventListener("keydown", (event) => {
  if ((event.ctrlKey || event.metaKey) && event.key === "z" && document.activeElement !== titleInput) {
    event.preventDefault();
    undo();
  }
});

svg.addEventListener("keydown", (event) => {
  if (!selected) return;
  if (event.key === "Tab") { event.preventDefault(); addNode(selected); }
  else if (event.key === "Enter") { event.preventDefault(); addNode(current().get(selected)?.parent); }
  else if (event.key === "Delete") removeSelected();
  else if (event.key === "F2") { event.preventDefault(); titleInput.focus(); titleInput.select(); }
});

function point(event) {
  const rect = svg.getBoundingClientRect();
  return { x: view.x + (event.clientX - rect.left) / view.scale,
           y: view.y + (event.clientY - rect.top) / view.scale };
}

let drag = null;  // {id, start, moved} for a node, {pan: true, ...} for the background
let lastCursor = 0;
svg.addEventListener("pointerdown", (event) => {
  const id = event.target.closest("g.node")?.dataset.id;
  if (id) {
    select(id);
    const node = current().get(id);
    drag = { id, from: point(event), x: node.x, y: node.y, moved: false };
  } else {
    drag = { pan: true, clientX: event.clientX, clientY: event.clientY, x: view.x, y: view.y };
  }
  svg.setPointerCapture(event.pointerId);
});
svg.addEventListener("pointermove", (event) => {
  const at = point(event);
  if (drag?.id) {
    drag.moved = true;
    drag.preview = { x: drag.x + at.x - drag.from.x, y: drag.y + at.y - drag.from.y };
    const group = svg.querySelector(`g.node[data-id="${drag.id}"]`);
    group?.setAttribute("transform", `translate(${drag.preview.x} ${drag.preview.y})`);
  }
  if (Date.now() - lastCursor > 50) {  // presence is conflated server-side anyway
    lastCursor = Date.now();
    send({ type: "presence", cursor: at, selection: selected ? [selected] : [],
           drag: drag?.preview ? { node: drag.id, ...drag.preview } : null });
  }
  if (drag?.pan) {
    view.x = drag.x - (event.clientX - drag.clientX) / view.scale;
    view.y = drag.y - (event.clientY - drag.clientY) / view.scale;
    render();
  }
});
svg.addEventListener("pointerup", (event) => {
  if (drag?.id) send({ type: "presence", cursor: point(event), drag: null,
                       selection: selected ? [selected] : [] });
  if (drag?.id && drag.moved && drag.preview) {
    const target = document.elementsFromPoint(event.clientX, event.clientY)
      .map((element) => element.closest?.("g.node")?.dataset.id)
      .find((id) => id && id !== drag.id);
    if (target) submit({ kind: "node.reparent", id: drag.id, parent: target });
    else submit({ kind: "node.update", id: drag.id, set: { x: Math.round(drag.preview.x), y: Math.round(drag.preview.y) } });
  }
  drag = null;
});
svg.addEventListener("dblclick", (event) => {
  const id = event.target.closest("g.node")?.dataset.id;
  const node = current().get(id);
  if (node) submit({ kind: "node.update", id, set: { collapsed: !node.collapsed } });
});
svg.addEventListener("wheel", (event) => {
  event.preventDefault();
  const before = point(event);
  view.scale = Math.min(3, Math.max(0.25, view.scale * (event.deltaY < 0 ? 1.1 : 1 / 1.1)));
  const rect = svg.getBoundingClientRect();
  view.x = before.x - (event.clientX - rect.left) / view.scale;
  view.y = before.y - (event.clientY - rect.top) / view.scale;
  render();
}, { passive: false });
window.addEventListener("resize", render);

connect();
