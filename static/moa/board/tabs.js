// Which tab is which. Each tab of the board claims an id (kept in sessionStorage, so a
// reload keeps it) and holds a Web Lock named after it for as long as it lives; the
// browser releases the lock when the tab closes, crashes or navigates away. So another
// tab can ask whether a tab is alive (`liveTabs`) and be told when it is gone (a request
// for its lock is granted then). A tab the browser duplicated starts with a copy of the
// original's sessionStorage, id included: it finds the lock held and takes a new id.
//
// Web Locks exist only in secure contexts (https, localhost). Without them every tab
// counts as gone: each takes every unsaved edit it finds (the server applies an op_id
// once, so an edit two tabs send is still applied once), as before tabs were told apart.

const PREFIX = "moa-tab:";
const RECLAIM_MS = 1500;    // a reloading tab's old page may hold its lock for a moment
const GONE_AFTER_MS = 2000;  // a tab back within this after its lock was let go reloaded

const locks = () => globalThis.navigator?.locks ?? null;

// Resolve true once the lock `name` is granted (then held for the page's life), false
// when `signal` aborts the wait first.
function hold(name, signal) {
  return new Promise((resolve) => {
    locks().request(name, { signal }, () => {
      resolve(true);
      return new Promise(() => {});
    }).catch((error) => {
      if (error.name !== "TimeoutError") console.error("board: a tab lock was refused", error);
      resolve(false);
    });
  });
}

// This tab's id: the one it had before a reload, or a new one.
export async function claimTab(key) {
  let id = sessionStorage.getItem(key);
  if (locks()) {
    if (!id || !(await hold(PREFIX + id, AbortSignal.timeout(RECLAIM_MS)))) {
      id = crypto.randomUUID();
      await hold(PREFIX + id);
    }
  } else id ??= crypto.randomUUID();
  sessionStorage.setItem(key, id);
  return id;
}

// The ids of the tabs alive now (all of the site's, any map).
export async function liveTabs() {
  if (!locks()) return new Set();
  const { held } = await locks().query();
  return new Set(held.filter((lock) => lock.name.startsWith(PREFIX)).map((lock) => lock.name.slice(PREFIX.length)));
}

// `task()` under the lock `name`, shared by every tab: one tab at a time.
export function exclusively(name, task) {
  return locks() ? locks().request(name, task) : task();
}

// Tell the other tabs on `channel` that tab `me` is here, learn theirs, and call
// `gone()` a moment after any of them has gone (closed or crashed: its unsaved edits
// are then nobody's). A tab that reloads says it is here again and is watched again.
export function watchTabs({ channel, me, gone }) {
  if (!locks() || !globalThis.BroadcastChannel) return;
  const watched = new Set();
  const watch = (id) => {
    if (id === me || watched.has(id)) return;
    watched.add(id);
    locks().request(PREFIX + id, () => {
      watched.delete(id);  // granted: that tab let its lock go (released at once here)
      setTimeout(gone, GONE_AFTER_MS);
    }).catch((error) => console.error("board: cannot watch another tab", error));
  };
  const line = new BroadcastChannel(channel);
  line.onmessage = ({ data }) => {
    watch(data.tab);
    if (!data.answer) line.postMessage({ tab: me, answer: true });
  };
  line.postMessage({ tab: me, answer: false });
}
