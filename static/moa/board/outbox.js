// The user's edits not yet saved by the server, kept in IndexedDB (one database per map
// and user) so that a reload, a crash or a closed laptop loses none of them. Each entry
// is one op with its op_id and the edit it belongs to (a drag is one edit, an added node
// with the moves that made room for it is one); the same op_ids go out after every
// reload and reconnect, so the server applies each once.
//
// Each entry belongs to the tab that made it (`owner`, tabs.js): a tab sends only its
// own, so two tabs of one map never both send an edit. A tab takes over (adopts) the
// entries of a tab that is gone: at its start (its own, after a reload, and any left by a
// closed tab) and whenever another tab goes. Adopting runs under a lock all tabs share,
// so two tabs never take the same entries.
//
// Entries leave the outbox only when the server has applied them (their event, or a
// batch answer with a seq the page has passed) or refused them for good (gone,
// invalid, cycle, conflict, too_large, forbidden): `rate_limited` and `unavailable`
// mean "the same batch again later", never "drop".
//
// A batch ends with a node.create that the next op does not create alongside (an
// import's creates go together): what follows it (the moves that made room for it, its
// title) goes only once the server has answered the create. A create refused for good
// takes with it, unsent, the ops that depended on it: the rest of its edit, the edits
// whose own op is on that node (its title), and any op on that node or on a node made
// under it. The person hears once per edit, and never of those dropped with it.

import { target, titleGiven } from "./state.js";
import { exclusively, liveTabs } from "./tabs.js";

const MAX_OPS = 100;              // per `ops` frame (the server's limit)
const MAX_BYTES = 48 * 1024;      // of JSON per frame, under the 64 KiB frame limit
const RETRY_MS = 1000;            // when a refusal to retry says no retry_after_ms
const utf8 = new TextEncoder();
const PERMANENT = new Set(["gone", "invalid", "cycle", "conflict", "too_large", "forbidden"]);

function request(idbRequest) {
  return new Promise((resolve, reject) => {
    idbRequest.onsuccess = () => resolve(idbRequest.result);
    idbRequest.onerror = () => reject(idbRequest.error);
  });
}

// An IndexedDB object store of one map and user, or null where the browser has none
// (the outbox then lives in memory only, and the page says so).
async function openStore(name) {
  if (!globalThis.indexedDB) return null;
  const opening = indexedDB.open(name, 1);
  opening.onupgradeneeded = () => opening.result.createObjectStore("entries", { keyPath: "op_id" });
  const db = await request(opening);
  return {
    async all() {
      const rows = await request(db.transaction("entries").objectStore("entries").getAll());
      return rows.sort((a, b) => a.at - b.at);
    },
    write(put, remove) {
      const transaction = db.transaction("entries", "readwrite");
      const store = transaction.objectStore("entries");
      for (const entry of put) store.put(entry);
      for (const opId of remove) store.delete(opId);
      return new Promise((resolve, reject) => {
        transaction.oncomplete = resolve;
        transaction.onerror = () => reject(transaction.error);
        transaction.onabort = () => reject(transaction.error);
      });
    },
  };
}

export class Outbox {
  // `owner` is this tab's id; `send(frame)` sends a frame and says whether the socket
  // took it; `refused(entry, code, detail, title)` tells the person about an op dropped
  // for good (`title`: the last the person gave its node in an edit that waited); `changed()` after every change of what waits; `failed(error)` when the store
  // cannot be written.
  constructor({ name, owner, send, refused, changed, failed }) {
    Object.assign(this, { name, owner, send, refused, changed, failed });
    // {op_id, op, edit, first, label, owner, at, stored, acked}, in the order made;
    // `first`: the edit's own op (the others made room for it)
    this.entries = [];
    this.store = null;
    this.ready = false;    // a welcome is in: batches may go out
    this.flight = null;    // the batch sent and not yet answered
    this.retryTimer = null;
    this.counter = 0;
    this.single = false;   // this socket's server takes no `ops` frames: one `op` frame per op
    this.told = new Set(); // edits whose refusal the person has heard of
    this.gone = new Set(); // nodes whose create was refused for good
    this.limit = MAX_OPS;  // ops per batch, halved when the server finds a batch too large
  }

  // Load what this tab's earlier page, or a closed tab, left unsaved.
  async open() {
    try {
      this.store = await openStore(this.name);
    } catch (error) {
      this.failed(error);
    }
    await this.adopt();
  }

  // Take this tab's stored entries not loaded yet, and those of tabs that are gone.
  async adopt() {
    if (!this.store) { this.changed(); return; }
    try {
      await exclusively(`${this.name}:adopt`, async () => {
        const alive = await liveTabs();
        const rows = await this.store.all();
        const loaded = new Set(this.entries.map((entry) => entry.op_id));  // after the read: an edit made meanwhile is in
        const taken = rows
          .filter((row) => !loaded.has(row.op_id) && (row.owner === this.owner || !alive.has(row.owner)))
          .map((row) => ({ ...row, owner: this.owner }));
        if (!taken.length) return;
        await this.store.write(taken, []);
        this.entries.push(...taken.map((row) => ({ ...row, stored: true, acked: false })));
        this.entries.sort((a, b) => a.at - b.at);
      });
    } catch (error) {
      this.failed(error);
    }
    this.changed();
    this.pump();
  }

  // How many of the person's edits wait: edits, not ops (a move is one edit), and a node
  // made and changed before it was saved is one (its create's), so one node created and
  // named is one edit.
  get edits() {
    const madeIn = new Map();  // node id -> the edit that creates it
    for (const entry of this.entries) if (entry.op.kind === "node.create") madeIn.set(entry.op.node.id, entry.edit);
    return new Set(this.entries.map((entry) => madeIn.get(target(entry.op)) ?? entry.edit)).size;
  }

  // The title the person last gave node `id` in an edit that waits, or undefined.
  latestTitle(id) {
    for (let i = this.entries.length - 1; i >= 0; i -= 1) {
      const title = titleGiven(this.entries[i].op, id);
      if (title !== undefined) return title;
    }
    return undefined;
  }

  get ops() {
    return this.entries.map((entry) => entry.op);
  }

  // Queue one edit (one or more ops, its own first): kept on the device, then sent.
  async add(ops, label) {
    const edit = crypto.randomUUID();
    const at = Date.now() * 1000 + (this.counter = (this.counter + 1) % 1000);
    const added = ops.map((op, index) => ({ op_id: crypto.randomUUID(), op, edit, first: index === 0, label,
                                            owner: this.owner, at: at + index / 100, stored: false, acked: false }));
    this.entries.push(...added);
    this.changed();
    try {
      await this.store?.write(added.map(({ stored, acked, ...row }) => row), []);
    } catch (error) {
      this.failed(error);  // still sent: the server may take it before the page closes
    }
    for (const entry of added) entry.stored = true;
    this.pump();
    return added;
  }

  remove(opIds) {
    const doomed = new Set(opIds);
    const before = this.entries.length;
    this.entries = this.entries.filter((entry) => !doomed.has(entry.op_id));
    if (this.entries.length === before) return;
    this.store?.write([], doomed).catch((error) => this.failed(error));
    const left = new Set(this.entries.map((entry) => entry.op_id));
    if (this.flight && !this.flight.ops.some((item) => left.has(item.op_id))) {
      this.flight = null;  // every op of it is settled (single op frames have no batch answer)
      queueMicrotask(() => this.pump());
    }
    this.changed();
  }

  // An op event: the op is saved.
  settle(opId) {
    this.remove([opId]);
  }

  // A welcome is in: send everything again from the start (answers of the old socket
  // will not come), one batch at a time.
  welcome() {
    this.ready = true;
    this.single = false;
    this.limit = MAX_OPS;
    this.flight = null;
    for (const entry of this.entries) entry.acked = false;
    this.pump();
  }

  // The socket is down: nothing goes out until the next welcome.
  down() {
    this.ready = false;
    this.flight = null;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  later(ms) {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.flight) this.transmit(this.flight);
      else this.pump();
    }, Math.max(0, ms ?? RETRY_MS));
  }

  transmit(batch) {
    this.flight = batch;
    const frames = this.single ? batch.ops.map((item) => ({ type: "op", ...item }))
      : [{ type: "ops", batch_id: batch.batch_id, ops: batch.ops }];
    for (const frame of frames) {
      if (!this.send(frame)) { this.flight = null; return; }
    }
  }

  // A server that takes no `ops` frames (one not yet upgraded, during a rolling deploy)
  // answered `unknown_type`: send this socket's ops one `op` frame each; their events
  // and rejects settle them.
  unsupported() {
    if (!this.flight || this.single) return;
    this.single = true;
    this.transmit(this.flight);
  }

  // Send the next batch when none is in flight: the oldest stored ops not yet answered,
  // at most `limit` of them and MAX_BYTES of JSON.
  pump() {
    if (!this.ready || this.flight || this.retryTimer) return;
    const ops = [];
    let bytes = 64;
    for (const entry of this.entries) {
      if (!entry.stored) break;  // keep the order: a later op waits for an earlier one
      if (entry.acked) continue;
      const item = { op_id: entry.op_id, op: entry.op };
      const size = utf8.encode(JSON.stringify(item)).length + 1;  // frames count UTF-8 bytes
      if (ops.length && (ops.length === this.limit || bytes + size > MAX_BYTES)) break;
      if (ops.at(-1)?.op.kind === "node.create" && entry.op.kind !== "node.create") break;  // after its answer
      ops.push(item);
      bytes += size;
    }
    if (ops.length) this.transmit({ batch_id: crypto.randomUUID(), ops });
  }

  // The server's `batch` answer; `seq` is the page's current seq.
  answer(frame, seq) {
    if (!this.flight || frame.batch_id !== this.flight.batch_id) return;
    if (frame.code === "rate_limited" || frame.code === "unavailable") {
      this.later(frame.retry_after_ms);  // nothing applied: the same batch again
      return;
    }
    const batch = this.flight;
    this.flight = null;
    if (frame.code === "forbidden") return;  // the socket closes next; the edits stay
    if (frame.code) {  // too_large or invalid: smaller batches, down to the op at fault
      if (batch.ops.length > 1) {
        this.limit = Math.ceil(batch.ops.length / 2);
        this.pump();
      } else this.refuse(batch.ops[0].op_id, frame.code, frame.detail);
      return;
    }
    let retry = null;
    for (const result of frame.results ?? []) {
      if (result.seq !== undefined) this.applied(result.op_id, result.seq, seq);
      else if (PERMANENT.has(result.code)) this.refuse(result.op_id, result.code, result.detail);
      else retry = Math.max(retry ?? 0, result.retry_after_ms ?? RETRY_MS);
    }
    if (retry !== null) this.later(retry);
    else this.pump();
  }

  // A single-op refusal (`reject` or `error` with an op_id).
  rejected(frame) {
    if (PERMANENT.has(frame.code)) {
      this.refuse(frame.op_id, frame.code, frame.detail);
      return;
    }
    if (this.flight?.ops.some((item) => item.op_id === frame.op_id)) this.flight = null;
    this.later(frame.retry_after_ms);
  }

  applied(opId, opSeq, seq) {
    const entry = this.entries.find((item) => item.op_id === opId);
    if (!entry) return;
    if (seq !== null && opSeq <= seq) this.remove([opId]);  // its event has come (or long ago)
    else entry.acked = true;  // its event is on its way
  }

  refuse(opId, code, detail) {
    const entry = this.entries.find((item) => item.op_id === opId);
    if (!entry) return;
    const silent = this.told.has(entry.edit) || this.gone.has(target(entry.op));
    const title = this.latestTitle(target(entry.op));  // before its title goes with it
    this.remove([opId, ...(entry.op.kind === "node.create" ? this.dependents(entry) : [])]);
    if (silent) {
      console.warn("board: an op that depended on a refused one was refused too", code, detail);
      return;
    }
    this.told.add(entry.edit);
    this.refused(entry, code, detail, title);
  }

  // The op_ids not sent yet that only make sense after the create `entry` (now refused).
  dependents(entry) {
    this.gone.add(entry.op.node.id);
    const sent = new Set(this.flight?.ops.map((item) => item.op_id));
    const doomed = new Set([entry.edit]);  // edits dropped whole
    const dropped = [];
    for (const other of this.entries) {
      if (other === entry || other.acked || sent.has(other.op_id)) continue;
      const { op } = other;
      if (op.kind === "node.create" && this.gone.has(op.node.parent)) this.gone.add(op.node.id);
      if (other.first && this.gone.has(target(op))) doomed.add(other.edit);
      if (doomed.has(other.edit) || this.gone.has(target(op))) dropped.push(other.op_id);
    }
    return dropped;
  }
}
