// A map's history in a person's words (pure; tests/js/ runs it under Node): each history
// event (docs/protocol.md, "REST: a map's history") becomes a line such as "Bob renamed
// “Budget” to “Budget 2026”", consecutive position changes of one node by one person
// become one line, and blame becomes "Title set by Bob".
//
// One edit of many nodes is one line. The log does not say which ops one edit made, so
// an edit is recognised as a run of events by one person, each at most EDIT_MS after the
// one before (an edit's ops go out together, a batch after its create at most: well
// under a second, where a person's next edit takes longer): a run of position changes
// of several nodes is "moved N nodes" ("… to make room" when it follows, in the same
// run, the change it made room for: an add, a title, an unfold), a run of creates is
// "imported N nodes under “X”".
//
// What an op does not carry is read from the other events loaded with it: a rename's old
// title from the older event that set it, a parent's title from the events that name it
// (or `titleOf`, the live board's tree), a delete's count from its `removed` or from the
// restore that brought it back. What is not known is left out, never guessed.

const POSITION = new Set(["x", "y"]);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const EDIT_MS = 1000;

export function quoted(title) {
  return `“${title || "untitled"}”`;
}

// "a, b and c"
function listed(words) {
  return words.length > 1 ? `${words.slice(0, -1).join(", ")} and ${words.at(-1)}` : words[0];
}

// "just now", "3 min ago", "2 h ago", "4 d ago", else the date.
export function ago(at, now) {
  const age = Math.max(0, now - Date.parse(at));
  if (age < 45_000) return "just now";
  if (age < HOUR) return `${Math.max(1, Math.round(age / MINUTE))} min ago`;
  if (age < DAY) return `${Math.floor(age / HOUR)} h ago`;
  if (age < 7 * DAY) return `${Math.floor(age / DAY)} d ago`;
  return new Date(at).toLocaleDateString();
}

export function actorName(actor, you) {
  if (!actor) return "Someone";
  return String(actor.id) === String(you) ? "You" : actor.name || "Someone";
}

function subject(op) {
  return op.kind === "node.create" ? op.node.id : op.id;
}

// How many nodes a restore brought back: a big one is logged in slices, the first with
// `total`, the others `part_of` it (docs/protocol.md).
function restoredNodes(op) {
  return op.total ?? op.nodes?.length ?? 1;
}

function isPosition(op) {
  return op.kind === "node.update" && Object.keys(op.set).every((key) => POSITION.has(key));
}

// What the loaded events tell about each one: the title a rename replaced, and how many
// nodes a delete took (from a later restore of the same node).
function context(events) {
  const was = new Map();       // seq -> the title before that rename
  const lastTitle = new Map(); // node id -> its title as of the event being read
  const restoredCount = new Map();  // node id -> nodes its newest restore brought back
  const deleteCount = new Map();    // seq -> nodes that delete took
  for (const event of events) {  // newest first
    const { op } = event;
    if (op.kind === "node.restore" && op.nodes && !op.part_of) restoredCount.set(op.id, restoredNodes(op));
    if (op.kind === "node.delete") {
      const count = restoredCount.get(op.id) ?? event.removed;
      if (count) deleteCount.set(event.seq, count);
      restoredCount.delete(op.id);  // an older delete of it was undone by another restore
    }
  }
  for (const event of [...events].reverse()) {  // oldest first
    const { op } = event;
    if (op.kind === "node.create") lastTitle.set(op.node.id, op.node.title ?? "");
    else if (op.kind === "node.restore") for (const node of op.nodes ?? []) lastTitle.set(node.id, node.title ?? "");
    else if (op.kind === "node.update" && "title" in op.set) {
      if (lastTitle.has(op.id)) was.set(event.seq, lastTitle.get(op.id));
      lastTitle.set(op.id, op.set.title);
    }
  }
  const titles = new Map();  // node id -> its title now, as the events say
  for (const event of events) titles.set(subject(event.op), event.title);
  return { was, deleteCount, titles };
}

function updateWords(op, name, { was, colourName }) {
  const set = op.set;
  const parts = [];
  const it = () => (parts.length ? "it" : name);  // the node is named once, then "it"
  if ("title" in set) {
    parts.push(was === undefined ? `renamed a node to ${quoted(set.title)}`
      : `renamed ${quoted(was)} to ${quoted(set.title)}`);
  }
  if ("body" in set) {
    const whose = parts.length ? "its notes" : `the notes of ${name}`;
    parts.push(set.body ? `edited ${whose}` : `removed ${whose}`);
  }
  if ("color" in set) {
    const colour = colourName(set.color);
    parts.push(colour ? `coloured ${it()} ${colour}` : `changed the colour of ${it()}`);
  }
  if ("collapsed" in set) parts.push(`${set.collapsed ? "folded" : "unfolded"} ${it()}`);
  // A position set with a title is the board keeping a renamed box in its column
  // (placement.js): not news. Blame still says who set it.
  if (("x" in set || "y" in set) && !("title" in set)) parts.push(`repositioned ${it()}`);
  return listed(parts);
}

// What one event did, after the actor's name.
// A node's title, quoted, as the events or the live board know it, else "another node".
function titled(id, known, titleOf) {
  const title = known.titles.get(id) ?? titleOf(id);
  return title === undefined ? "another node" : quoted(title);
}

function words(event, known, { titleOf, colourName }) {
  const { op } = event;
  const name = quoted(event.title);
  if (op.kind === "node.create") {
    const made = op.node.title ?? "";
    const now = made !== event.title ? ` (now ${name})` : "";
    return `added ${quoted(made)}${now} under ${titled(op.node.parent, known, titleOf)}`;
  }
  if (op.kind === "node.reparent") return `moved ${name} under ${titled(op.parent, known, titleOf)}`;
  if (op.kind === "node.delete") {
    const below = (known.deleteCount.get(event.seq) ?? 0) - 1;
    return `deleted ${name}${below > 0 ? ` (and ${below} below it)` : ""}`;
  }
  if (op.kind === "node.restore") {
    const below = restoredNodes(op) - 1;
    return `brought back ${name}${below > 0 ? ` (and ${below} below it)` : ""}`;
  }
  if (op.kind === "node.update") return updateWords(op, name, { was: known.was.get(event.seq), colourName });
  return `changed ${name}`;
}

// The lines of `events` (newest first), newest first: {seq, at, first, count, node,
// actor, text, unknown}. `seq` and `at` are the newest event's; `first` the oldest one's
// `at`; `count` how many events the line stands for (position changes of one node by one
// person in a row, the slices of one restore, the moves or creates of one edit); `text`
// begins with the actor's name ("You" for `you`); `unknown` is set on a rename whose
// former title neither the events nor `formerTitle(seq)` know.
export function historyLines(events, { you, titleOf = () => undefined, colourName = () => null,
                                       formerTitle = () => undefined } = {}) {
  const known = context(events);
  for (const event of events) {
    const former = event.op.kind === "node.update" && "title" in event.op.set && !known.was.has(event.seq)
      ? formerTitle(event.seq) : undefined;
    if (former !== undefined) known.was.set(event.seq, former);
  }
  const lines = [];
  let rest = null;  // the newest later slice of the restore whose first slice comes next
  for (const event of events) {
    if (event.op.kind === "node.restore" && event.op.part_of) {  // one line per restore
      if (rest?.top !== event.op.part_of) rest = { top: event.op.part_of, seq: event.seq, at: event.at, count: 0 };
      rest.count += 1;
      continue;
    }
    const whole = rest?.top === event.op.id && event.op.kind === "node.restore" ? rest : null;
    rest = null;
    const previous = lines.at(-1);
    const node = subject(event.op);
    const actor = event.actor?.id ?? null;
    const sameEdit = previous?.actor === actor && Date.parse(previous.first) - Date.parse(event.at) <= EDIT_MS;
    const who = actorName(event.actor, you);
    if (sameEdit && isPosition(event.op) && (previous.moved || (previous.position && previous.node !== node))) {
      previous.moved ??= new Set([previous.node]);
      previous.moved.add(node);
      previous.count += 1;
      previous.first = event.at;
      previous.text = `${who} moved ${previous.moved.size} nodes`;
      continue;
    }
    if (sameEdit && event.op.kind === "node.create" && previous.created) {
      previous.count += 1;
      previous.first = event.at;
      previous.created.push(event.op.node);
      previous.text = `${who} imported ${previous.count} nodes`;  // "under" whom: below
      continue;
    }
    if (sameEdit && previous.moved && !isPosition(event.op)) previous.text += " to make room";
    if (previous?.position && !previous.moved && isPosition(event.op) && previous.node === node
        && previous.actor === actor) {
      previous.count += 1;
      previous.first = event.at;
      previous.text = `${actorName(event.actor, you)} repositioned ${quoted(event.title)} (${previous.count} times)`;
      continue;
    }
    const unknown = event.op.kind === "node.update" && "title" in event.op.set && !known.was.has(event.seq);
    // A restore in slices is one line at its last slice: where the map shows all of it.
    lines.push({ seq: whole?.seq ?? event.seq, at: whole?.at ?? event.at, first: event.at,
                 count: 1 + (whole?.count ?? 0), node, actor, unknown,
                 position: isPosition(event.op), created: event.op.kind === "node.create" ? [event.op.node] : null,
                 text: `${actorName(event.actor, you)} ${words(event, known, { titleOf, colourName })}` });
  }
  for (const line of lines) {  // an import under one node (not cut by the page's end) says which
    if (line.count < 2 || !line.created) continue;
    const made = new Set(line.created.map((node) => node.id));
    const under = new Set(line.created.map((node) => node.parent).filter((parent) => !made.has(parent)));
    if (under.size === 1) line.text += ` under ${titled([...under][0], known, titleOf)}`;
  }
  return lines;
}

const BLAME = [
  ["title", "title"], ["body", "notes"], ["color", "colour"], ["position", "position"],
  ["parent", "place in the tree"], ["collapsed", "folding"],
];

// Who last set each field of a node, one line per change, newest first: "Title set by
// Bob, 2 h ago", "Notes, colour and position set by you, 3 d ago" ({text, seq, at}).
// x and y count as one "position" (the newer of the two).
export function blameLines(blame, { you, now }) {
  const fields = { ...blame };
  const newer = [blame.x, blame.y].filter(Boolean).sort((a, b) => b.seq - a.seq)[0];
  if (newer) fields.position = newer;
  const bySeq = new Map();
  for (const [field, label] of BLAME) {
    const entry = fields[field];
    if (!entry) continue;
    if (!bySeq.has(entry.seq)) bySeq.set(entry.seq, { entry, labels: [] });
    bySeq.get(entry.seq).labels.push(label);
  }
  return [...bySeq.values()].sort((a, b) => b.entry.seq - a.entry.seq).map(({ entry, labels }) => {
    const what = listed(labels);
    const who = actorName(entry.actor, you);
    return { seq: entry.seq, at: entry.at,
             text: `${what[0].toUpperCase()}${what.slice(1)} set by ${who === "You" ? "you" : who}, ${ago(entry.at, now)}` };
  });
}
