// The status line's words: what the connection is and how many of the person's edits
// are not saved yet (edits, not ops). "Offline" only when the browser says it has no
// network (`online` false); a browser online whose server cannot be reached says so.

function edits(count, word = "unsaved ") {
  if (count === 0) return `no ${word}edits`;
  return `${count} ${word}edit${count === 1 ? "" : "s"}`;
}

// What a read-only board says of the edits it could not send: never dropped silently.
// They stay on this device and go out if the board reconnects (the map restored, the
// person added back).
function unsent(count) {
  if (!count) return "";
  return ` ${count} edit${count === 1 ? " was" : "s were"} not saved (kept on this device in case access comes back).`;
}

// {text, state, signIn, retry}: `signIn` is true when the line needs the sign-in link;
// `retry` when it offers to try the connection again (the map or membership may be back).
export function describe({ connection, online, count }) {
  const state = connection.state;
  if (state === "signed-out") {
    return { state, signIn: true, text: count
      ? `Signed out — your ${edits(count, "")} ${count === 1 ? "is" : "are"} kept on this device; sign in to save them.`
      : "Signed out — sign in to edit this map." };
  }
  if (state === "other-user") {
    return { state, signIn: true, text: `Another account is signed in in this browser — ${
      count ? `your ${edits(count, "")} ${count === 1 ? "is" : "are"} kept on this device` : "nothing of yours is lost"
    }; sign in as yourself to save and edit.` };
  }
  if (state === "forbidden") {
    return { state, retry: true, text: `Read-only: you are no longer a member of this team.${unsent(count)}` };
  }
  if (state === "not-found") return { state, retry: true, text: `Read-only: this map has been deleted.${unsent(count)}` };
  if (state === "open") {
    return { state: count ? "saving" : "saved",
             text: count ? `Saving ${edits(count, "")}…` : "All changes saved" };
  }
  if (!online || state === "offline") return { state: "offline", text: `Offline — ${edits(count)}` };
  if (state === "unreachable") {
    return { state: "unreachable", text: `Cannot reach the server — reconnecting… ${edits(count)}` };
  }
  if (state === "loading") {
    const { part, parts } = connection.progress;
    return { state, text: `Loading the map… (${part}/${parts})` };
  }
  if (state === "too-many") {
    return { state: "reconnecting", text: `Too many open connections: close some Moa tabs. Retrying… (${edits(count)})` };
  }
  if (state === "connecting") return { state, text: "Connecting…" };
  return { state: "reconnecting", text: `Reconnecting… ${edits(count)}` };
}
