// The board's history panel: who did what, when (the map's timeline, or one node's with
// who last set each of its fields), a read-only preview of the map right after any
// change, and restoring that version (the whole map or one branch) as new ops through
// POST restore/. The ops a restore makes reach every board as ordinary op events, so the
// live board needs nothing from here; `opEvent` only tells the open panel to read the
// newest entries. REST contracts: docs/protocol.md, "REST: a map's history".

import { api, plural } from "../api.js";
import { ago, blameLines, historyLines, quoted } from "./history_words.js";
import { createPreview } from "./history_preview.js";

const PAGE = 50;
const FEW_LINES = 15;   // a page that folds into fewer lines (one big edit) reads on...
const FILL_PAGES = 4;   // ...at most this many more pages
const REFRESH_MS = 400;   // live events in a burst are read once
const CLOCK_MS = 30_000;  // "3 min ago" keeps up with the clock

const $ = (id) => document.getElementById(id);

// The title a node's events (newest first) last gave it, or undefined.
function formerTitleIn(events, id) {
  for (const { op } of events) {
    if (op.kind === "node.create") return op.node.title ?? "";
    if (op.kind === "node.update" && "title" in op.set) return op.set.title;
    const restored = op.kind === "node.restore" && op.nodes?.find((node) => node.id === id);
    if (restored) return restored.title ?? "";
  }
  return undefined;
}

// `map` and `user` ids; `nodes()` the live board's nodes; `selected()` the node selected
// on the board; `toast(text, {alert})`.
export function createHistoryPanel({ map, user, nodes, selected, toast }) {
  const panel = $("board-history");
  const opener = $("board-history-open");
  const heading = $("board-history-title");
  const list = $("board-history-list");
  const stateLine = $("board-history-state");
  const older = $("board-history-older");
  const end = $("board-history-end");
  const blameList = $("board-history-blame");
  const scopeMap = $("board-history-map");
  const scopeNode = $("board-history-node");
  const previewArea = $("board-history-preview");
  const previewTitle = $("board-history-preview-title");
  const branchLine = $("board-history-branch");
  const restoreBranch = $("board-history-restore-branch");

  const colours = new Map([...document.querySelectorAll("#node-colors button[data-color]")]
    .map((button) => [button.dataset.color, button.getAttribute("aria-label").toLowerCase()]));
  let node = null;        // the node whose history is shown; null: the whole map
  let events = [];        // loaded, newest first
  let nextBefore = null;  // `before` of the next older page; null: none
  let oldestSeq = null;
  let blame = null;
  let loading = null;     // the read under way (a newer read makes an older one moot)
  let refreshTimer = null;
  let clock = null;
  let returnTo = null;    // where the focus goes back when the panel closes
  let previewing = null;  // {seq, at, text} of the version shown
  let branch = null;      // the node chosen in the preview, as it was
  const former = new Map();  // seq of a rename -> the title it replaced, from the node's history
  const asked = new Set();   // renames whose former title was looked up

  const preview = createPreview({
    svg: $("board-history-drawing"),
    chosen: (chosenNode) => {
      branch = chosenNode;
      branchLine.textContent = branch ? `Branch: ${quoted(branch.title)}` : "Click a node to choose a branch.";
      restoreBranch.disabled = !branch;
    },
  });

  const base = () => (node ? `/api/v1/maps/${map}/nodes/${node}/history/` : `/api/v1/maps/${map}/history/`);
  const when = (at) => `${new Date(at).toLocaleString()} (${ago(at, Date.now())})`;

  // --- reading -------------------------------------------------------------------------

  async function read(before) {
    const query = new URLSearchParams({ limit: String(PAGE) });
    if (before != null) query.set("before", String(before));
    return api(`${base()}?${query}`);
  }

  // Older pages appended while the events loaded fold into few lines (the moves of one
  // edit are one line), so the person sees changes before it without asking.
  // A page of older events added to those loaded (an event already there is kept once).
  function take(page) {
    const known = new Set(events.map((event) => event.seq));
    events = events.concat(page.events.filter((event) => !known.has(event.seq)));
    nextBefore = page.next_before;
    oldestSeq = page.oldest_seq;
  }

  async function fill(reading, want) {
    for (let pages = 0; pages < FILL_PAGES && nextBefore != null; pages += 1) {
      if (historyLines(events, { you: user }).length >= want) return;
      const page = await read(nextBefore);
      if (loading !== reading) return;
      take(page);
    }
  }

  function failed(error) {
    console.error("board: the history cannot be read", error);
    stateLine.textContent = `The history cannot be read: ${error.message}`;
  }

  // The newest page, from scratch (opening, switching between map and node).
  async function reload() {
    const reading = {};
    loading = reading;
    stateLine.textContent = "Loading the history…";
    try {
      const page = await read(null);
      if (loading !== reading) return;
      events = page.events;
      nextBefore = page.next_before;
      oldestSeq = page.oldest_seq;
      blame = page.blame ?? null;
      await fill(reading, FEW_LINES);
      if (loading !== reading) return;
      stateLine.textContent = "";
      draw();
    } catch (error) {
      if (loading === reading) failed(error);
    } finally {
      if (loading === reading) loading = null;
    }
  }

  async function loadOlder() {
    if (nextBefore == null || loading) return;
    const reading = {};
    loading = reading;
    older.disabled = true;
    try {
      const shown = historyLines(events, { you: user }).length;
      const page = await read(nextBefore);
      if (loading !== reading) return;
      take(page);
      await fill(reading, shown + FEW_LINES);
      if (loading !== reading) return;
      draw();
    } catch (error) {
      if (loading === reading) failed(error);
    } finally {
      if (loading === reading) loading = null;
      older.disabled = false;
    }
  }

  // Live: the entries newer than the newest shown, page by page back to it (a long
  // burst, more than a few pages, reads the newest page afresh instead).
  async function refresh() {
    refreshTimer = null;
    if (panel.hidden) return;
    if (loading) { refreshTimer = setTimeout(refresh, REFRESH_MS); return; }  // after that read
    if (!events.length) { reload(); return; }
    const reading = {};
    loading = reading;
    const newest = events[0].seq;
    try {
      let fresh = [];
      let before = null;
      for (let pages = 0; pages < 4; pages += 1) {
        const page = await read(before);
        if (loading !== reading) return;
        fresh = fresh.concat(page.events.filter((event) => event.seq > newest));
        blame = page.blame ?? null;
        oldestSeq = page.oldest_seq;
        if (page.next_before == null || page.next_before <= newest + 1) {
          events = fresh.concat(events);
          draw();
          return;
        }
        before = page.next_before;
      }
      loading = null;
      reload();
    } catch (error) {
      if (loading === reading) failed(error);
    } finally {
      if (loading === reading) loading = null;
    }
  }

  // --- drawing -------------------------------------------------------------------------

  function entries() {
    return [...list.querySelectorAll("button.history-entry")];
  }

  function draw() {
    const focusedSeq = list.contains(document.activeElement) ? document.activeElement.dataset.seq : null;
    const currentSeq = list.querySelector('button.history-entry[tabindex="0"]')?.dataset.seq;
    const live = nodes();  // read once: each read lays the unsaved edits over the tree
    const lines = historyLines(events, { you: user, titleOf: (id) => live.get(id)?.title,
                                         colourName: (hex) => colours.get(hex) ?? null,
                                         formerTitle: (seq) => former.get(seq) });
    lookUp(lines.filter((line) => line.unknown && !asked.has(line.seq)));
    const items = lines.map((line) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "history-entry";
      button.dataset.seq = String(line.seq);
      button.dataset.at = line.at;
      button.tabIndex = -1;
      button.title = "Show the map right after this change";
      if (previewing?.seq === line.seq) button.setAttribute("aria-current", "true");
      const text = document.createElement("span");
      text.className = "history-text";
      text.textContent = line.text;
      const time = document.createElement("time");
      time.dateTime = line.at;
      time.textContent = ago(line.at, Date.now());
      button.append(text, " · ", time);
      item.append(button);
      return item;
    });
    list.replaceChildren(...items);
    const buttons = entries();
    const current = buttons.find((button) => button.dataset.seq === (focusedSeq ?? currentSeq)) ?? buttons[0];
    if (current) current.tabIndex = 0;
    if (focusedSeq && current) current.focus();
    stateLine.textContent = lines.length ? "" : "No changes yet.";
    older.hidden = nextBefore == null;
    end.hidden = nextBefore != null || !events.length || !oldestSeq;
    if (!end.hidden) end.textContent = `History before ${when(events.at(-1).at)} is not kept.`;
    drawBlame();
  }

  // A rename whose former title is older than the loaded events: the title the node had
  // is read from its own history (one read per rename, a few at a time), then drawn.
  async function lookUp(renames) {
    const batch = renames.slice(0, 8);
    for (const line of batch) asked.add(line.seq);
    const found = await Promise.all(batch.map(async (line) => {
      try {
        const page = await api(`/api/v1/maps/${map}/nodes/${line.node}/history/?before=${line.seq}&limit=200`);
        const title = formerTitleIn(page.events, line.node);
        if (title !== undefined) former.set(line.seq, title);
        return title !== undefined;
      } catch (error) {
        console.warn("board: a former title cannot be read", error);  // the line says "a node"
        return false;
      }
    }));
    if (found.some(Boolean) && !panel.hidden) draw();
  }

  function drawBlame() {
    blameList.hidden = !node || !blame;
    if (blameList.hidden) return;
    blameList.replaceChildren(...blameLines(blame, { you: user, now: Date.now() }).map((line) => {
      const item = document.createElement("li");
      item.textContent = line.text;
      return item;
    }));
  }

  function tick() {
    for (const time of panel.querySelectorAll("time")) time.textContent = ago(time.dateTime, Date.now());
    drawBlame();
  }

  function scope(nodeId) {
    node = nodeId;
    scopeMap.setAttribute("aria-pressed", String(!node));
    scopeNode.setAttribute("aria-pressed", String(Boolean(node)));
    heading.textContent = node ? `History of ${quoted(nodes().get(node)?.title)}` : "History";
    events = [];
    nextBefore = null;
    blame = null;
    list.replaceChildren();
    blameList.hidden = true;
    end.hidden = true;
    older.hidden = true;
    reload();
  }

  // --- opening and closing -------------------------------------------------------------

  function open() {
    if (panel.hidden) {
      returnTo = document.activeElement;
      panel.hidden = false;
      opener.setAttribute("aria-expanded", "true");
      clock = setInterval(tick, CLOCK_MS);
      scope(null);
    }
    heading.focus();
  }

  function close() {
    if (panel.hidden) return;
    backToNow({ focus: false });
    panel.hidden = true;
    opener.setAttribute("aria-expanded", "false");
    clearInterval(clock);
    clearTimeout(refreshTimer);
    refreshTimer = null;
    loading = null;
    (returnTo?.isConnected ? returnTo : opener).focus();
  }

  // --- preview and restore -------------------------------------------------------------

  async function show(button) {
    const seq = Number(button.dataset.seq);
    const at = button.dataset.at;
    const text = button.querySelector(".history-text").textContent;
    try {
      const version = await api(`/api/v1/maps/${map}/at/${seq}/`);
      previewing = { seq, at, text };
      for (const other of entries()) other.removeAttribute("aria-current");
      button.setAttribute("aria-current", "true");
      previewArea.hidden = false;
      previewTitle.textContent = `Preview of ${when(at)}, after: ${text}`;
      preview.show(version.nodes, selected());
      previewTitle.focus();
    } catch (error) {
      if (error.status === 410) notKept();
      else toast(`That version cannot be shown: ${error.message}`, { alert: true });
    }
  }

  // A version older than the kept history (trimmed since the list was read).
  function notKept() {
    const oldest = events.find((event) => event.seq === oldestSeq + 1) ?? (nextBefore == null ? events.at(-1) : null);
    toast(oldest ? `History before ${when(oldest.at)} is not kept.`
      : "That version is no longer kept: this map's older history has been trimmed.", { alert: true });
    reload();
  }

  function backToNow({ focus = true } = {}) {
    if (previewArea.hidden) return;
    const seq = previewing?.seq;
    previewArea.hidden = true;
    previewing = null;
    preview.clear();
    for (const other of entries()) other.removeAttribute("aria-current");
    if (!focus) return;
    const entry = entries().find((button) => Number(button.dataset.seq) === seq);
    (entry ?? heading).focus();
  }

  async function restore(onlyBranch) {
    if (!previewing || (onlyBranch && !branch)) return;
    const what = onlyBranch ? `${quoted(branch.title)} and its branch` : "the whole map";
    if (!window.confirm(`Restore ${what} as it was ${when(previewing.at)}? Changes made since then ` +
                        "are undone for everyone, as new changes (which can be undone in turn).")) return;
    const top = onlyBranch ? branch.id : null;
    try {
      const done = await api(`/api/v1/maps/${map}/restore/`, { method: "POST", json: { seq: previewing.seq, node: top } });
      toast(done.applied ? `Restored: ${plural(done.applied, "change")}.`
        : "Nothing to restore: it already looks like that.");
      backToNow();
    } catch (error) {
      if (error.status === 410) { backToNow(); notKept(); return; }
      console.warn("board: a restore was refused", error);
      toast(error.message, { alert: true });
    }
  }

  // --- events --------------------------------------------------------------------------

  opener.addEventListener("click", () => (panel.hidden ? open() : close()));
  $("board-history-close").addEventListener("click", close);
  scopeMap.addEventListener("click", () => scope(null));
  scopeNode.addEventListener("click", () => {
    const id = selected();
    if (id) scope(id);
    else toast("Select a node on the board first.");
  });
  older.addEventListener("click", loadOlder);
  list.addEventListener("click", (event) => {
    const button = event.target.closest("button.history-entry");
    if (button) show(button);
  });
  list.addEventListener("keydown", (event) => {  // one tab stop; the arrows walk the list
    const buttons = entries();
    const at = buttons.indexOf(document.activeElement);
    const to = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: buttons.length - 1 }[event.key];
    if (to === undefined || at < 0) return;
    event.preventDefault();
    const next = buttons[Math.max(0, Math.min(buttons.length - 1, to))];
    buttons[at].tabIndex = -1;
    next.tabIndex = 0;
    next.focus();
  });
  $("board-history-restore-map").addEventListener("click", () => restore(false));
  restoreBranch.addEventListener("click", () => restore(true));
  $("board-history-back").addEventListener("click", () => backToNow());
  document.addEventListener("keydown", (event) => {
    if (event.altKey && !event.ctrlKey && !event.metaKey && event.code === "KeyH") {
      event.preventDefault();
      if (panel.hidden) open(); else close();
    } else if (event.key === "Escape" && !event.defaultPrevented) {
      if (previewArea.contains(event.target)) { event.preventDefault(); backToNow(); }
      else if (panel.contains(event.target)) { event.preventDefault(); close(); }
    }
  });

  return {
    // An op event reached the board: the open panel reads what is new.
    opEvent(opEvent) {
      if (panel.hidden) return;
      const op = opEvent.op;
      if (node && (op.kind === "node.create" ? op.node.id : op.id) !== node) return;
      refreshTimer ??= setTimeout(refresh, REFRESH_MS);
    },
  };
}
