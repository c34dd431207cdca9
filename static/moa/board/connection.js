// The board's socket: connect, hello with the last seq, the welcome (ops since then,
// or a snapshot, maybe in parts), op events in seq order, and reconnecting.
//
// Reconnecting: at once when the browser says the network is back (`online`) or the
// tab is shown again; with jittered exponential backoff only while the server cannot
// be reached; after a draining server's close 1012, after its `reconnect.after_ms`.
// After the browser's `offline` event the socket is closed (a socket on a dead network
// can look open for minutes) and no attempt is made until `online`. A close 4401
// (signed out) retries slowly, so signing in again in another tab brings the board back;
// 4403/4404 retry with a slower backoff (10 s doubling to 5 min), when the tab is shown
// again, or when the person asks (`now()`): a map restored or a member added back
// reconnects, and the edits kept meanwhile are sent.

const SIGNED_OUT_RETRY_MS = 10_000;
const GONE_RETRY_MS = [10_000, 300_000];  // first and longest wait after a 4403/4404
// 4001 is this page's own close: the socket's account is not the page's (below).
const REFUSED = { 4001: "other-user", 4401: "signed-out", 4403: "forbidden", 4404: "not-found" };
const RETRIED = new Set(["signed-out", "other-user"]);
const GONE = new Set(["forbidden", "not-found"]);

export class Connection {
  // `loaded(nodes, seq)` a whole snapshot; `event(opEvent)` the next op event in seq
  // order; `ready()` after each welcome (and its snapshot parts); `frame(frame)` every
  // other frame; `changed()` when `state` changes; `closed()` when the socket goes down.
  constructor({ url, clientId, user, loaded, event, ready, frame, changed, closed }) {
    Object.assign(this, { url, clientId, user, loaded, event, ready, frame, changed, closed });
    this.socket = null;
    this.seq = null;
    this.loading = null;   // a snapshot arriving in parts: {seq, parts, next, nodes}
    this.attempt = 0;
    this.refusals = 0;     // 4403/4404 closes in a row, for their backoff
    this.timer = null;
    this.afterMs = null;   // from a draining server's `reconnect` frame
    this.offline = false;  // since the browser's `offline` event, until `online`
    // connecting (the first time), loading (snapshot parts), open, reconnecting (an
    // attempt under way or a draining server's wait), unreachable (waiting to try
    // again), offline, too-many (4429), signed-out, other-user, forbidden, not-found
    this.state = "connecting";
    this.progress = null;  // {part, parts} while a snapshot loads
    addEventListener("online", () => { this.offline = false; this.now(); });
    addEventListener("offline", () => {
      this.offline = true;
      this.socket?.close(1000, "offline");
      this.set("offline");
    });
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.now();
    });
  }

  set(state) {
    this.state = state;
    this.changed();
  }

  get open() {
    return this.state === "open";
  }

  send(frame) {
    if (this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  // Connect now unless a socket is open or opening (or the browser is offline).
  now() {
    if (this.offline) return;
    if (this.socket && this.socket.readyState <= WebSocket.OPEN) return;
    clearTimeout(this.timer);
    this.connect();
  }

  connect() {
    this.timer = null;
    const socket = new WebSocket(this.url);
    this.socket = socket;
    if (["unreachable", "offline", "too-many"].includes(this.state)) this.set("reconnecting");
    socket.onopen = () => this.hello();
    socket.onmessage = (message) => this.receive(JSON.parse(message.data));
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.loading = null;
      this.closed();
      this.reconnect(this.ownClose ?? event.code);
      this.ownClose = null;
    };
  }

  reconnect(code) {
    if (this.offline) { this.set("offline"); return; }
    const refused = REFUSED[code];
    if (refused) {
      this.set(refused);
      if (RETRIED.has(refused)) this.timer = setTimeout(() => this.now(), SIGNED_OUT_RETRY_MS);
      if (GONE.has(refused)) {
        const [first, longest] = GONE_RETRY_MS;
        this.timer = setTimeout(() => this.now(), Math.min(longest, first * 2 ** this.refusals));
        this.refusals += 1;
      }
      return;
    }
    this.attempt += 1;
    const backoff = Math.min(15_000, 400 * 2 ** this.attempt) * (0.5 + Math.random() / 2);
    const delay = code === 1012 ? this.afterMs ?? 200 + Math.random() * 800 : backoff;
    this.afterMs = null;
    this.set(code === 4429 ? "too-many" : code === 1012 ? "reconnecting" : "unreachable");
    this.timer = setTimeout(() => this.connect(), delay);
  }

  // The snapshot parts flag: this board takes a big map's snapshot in parts.
  hello() {
    this.loading = null;
    this.send({ type: "hello", client_id: this.clientId, since: this.seq, snapshot_parts: true });
  }

  welcomed() {
    this.attempt = 0;
    this.refusals = 0;
    this.progress = null;
    this.set("open");
    this.ready();
  }

  snapshot(nodes, seq) {
    this.seq = seq;
    this.loading = null;
    this.loaded(nodes, seq);
    this.welcomed();
  }

  receive(frame) {
    if (frame.type === "welcome" && String(frame.you?.user_id) !== this.user) {
      // Someone else signed in in this browser since the page loaded: this page's edits
      // (and its undo history) are its own account's, never sent as another's.
      this.ownClose = 4001;  // the server may echo another code in its close frame
      this.socket?.close(4001);
    } else if (frame.type === "welcome") {
      this.frame(frame);  // peers, you
      const parts = frame.snapshot?.parts ?? 1;
      if (parts > 1) {
        this.loading = { seq: frame.seq, parts, next: 2, nodes: [...frame.snapshot.nodes] };
        this.progress = { part: 1, parts };
        this.set("loading");
      } else if (frame.snapshot) this.snapshot(frame.snapshot.nodes, frame.seq);
      else {
        frame.ops.forEach((op) => this.next(op));  // the ops after our seq, in order
        this.welcomed();
      }
    } else if (frame.type === "snapshot") {
      const loading = this.loading;
      if (!loading || frame.seq !== loading.seq || frame.part !== loading.next) return;
      loading.nodes.push(...frame.nodes);
      loading.next += 1;
      if (frame.part === frame.parts) this.snapshot(loading.nodes, loading.seq);
      else { this.progress = { part: frame.part, parts: frame.parts }; this.changed(); }
    } else if (frame.type === "op") this.next(frame);
    else if (frame.type === "ops") frame.events.forEach((op) => this.next(op));
    else if (frame.type === "reconnect") {
      this.afterMs = frame.after_ms;
      this.set("reconnecting");
    } else if (frame.type === "error" && frame.code === "rate_limited" && frame.of === "hello") {
      setTimeout(() => this.hello(), frame.retry_after_ms);
    } else this.frame(frame);
  }

  next(op) {
    if (this.loading || this.seq === null || op.seq <= this.seq) return;  // mid-snapshot, or had
    if (op.seq > this.seq + 1) {  // a gap: ask for what is missing
      this.hello();
      return;
    }
    this.seq = op.seq;
    this.event(op);
  }
}
