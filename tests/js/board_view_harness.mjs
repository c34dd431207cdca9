// Runs one call of the board's modules that need no page (layout, placement, navigate,
// keys, exchange, status words, undo's plan, the outbox's count of edits) for
// tests/unit/test_board_view_modules.py and test_board_client_modules.py: reads
// {"call", "args"} as JSON on stdin, writes {"result"} or {"refused": message} (an
// ImportRefused) as JSON on stdout. Node lists ("nodes" arguments) travel as arrays and
// become the Map the modules take.

import { readFileSync } from "node:fs";
import * as exchange from "../../static/moa/board/exchange.js";
import { keyAction } from "../../static/moa/board/keys.js";
import * as layout from "../../static/moa/board/layout.js";
import { neighbour } from "../../static/moa/board/navigate.js";
import { Outbox } from "../../static/moa/board/outbox.js";
import * as placement from "../../static/moa/board/placement.js";
import { describe } from "../../static/moa/board/status.js";
import { History, planBack } from "../../static/moa/board/undo.js";

const table = (list) => new Map(list.map((node) => [node.id, { collapsed: false, body: "", color: "#ffffff", ...node }]));
const sizeOf = (node) => layout.nodeBox(node.title);
let made = 0;
const newId = () => `00000000-0000-4000-8000-${String((made += 1)).padStart(12, "0")}`;

const calls = {
  nodeBox: (title) => layout.nodeBox(title),
  nodeBoxes: (titles) => titles.map((title) => layout.nodeBox(title)),
  placeNode: (nodes, parent, fields, after, mode) =>
    placement.placeNode(table(nodes), parent, fields, { after, mode, sizeOf }),
  retitle: (nodes, id, title) => placement.retitle(table(nodes), id, title, { sizeOf }),
  // placeNode then retitle on a map, with how many times each said room was not made.
  addAndName: (nodes, parent, fields, title) => {
    const told = { place: 0, title: 0 };
    const tree = table(nodes);
    const ops = placement.placeNode(tree, parent, fields, { sizeOf, crowded: () => { told.place += 1; } });
    tree.set(fields.id, { collapsed: false, ...ops[0].node });
    for (const op of ops.slice(1)) tree.set(op.id, { ...tree.get(op.id), ...op.set });
    const named = placement.retitle(tree, fields.id, title, { sizeOf, crowded: () => { told.title += 1; } });
    return { ops, named, told };
  },
  unfold: (nodes, id) => placement.unfold(table(nodes), id, { sizeOf }),
  // A map built as a person types it: for each step ({parent, after, title}, nodes named
  // by their index in the list, the root 0) a "New idea" placed, then named; the nodes.
  typed: (nodes, steps, mode) => {
    const tree = table(nodes);
    const order = [...tree.keys()];
    const apply = (ops) => {
      for (const op of ops) {
        if (op.kind === "node.create") tree.set(op.node.id, { collapsed: false, ...op.node });
        else tree.set(op.id, { ...tree.get(op.id), ...op.set });
      }
    };
    for (const { parent, after = null, title } of steps) {
      const id = newId();
      apply(placement.placeNode(tree, order[parent], { id, title: "New idea" },
                                { after: after === null ? null : order[after], mode, sizeOf }));
      apply(placement.retitle(tree, id, title, { sizeOf }));
      order.push(id);
    }
    return [...tree.values()];
  },
  tidy: (nodes, mode) => layout.tidy(table(nodes), { mode, sizeOf }),
  placeTrees: (nodes, parent, trees, mode) => placement.placeTrees(table(nodes), parent, trees, { mode, sizeOf, newId }),
  keyAction: (event, altGraph) => keyAction(event, altGraph),
  importFormat: (name) => exchange.importFormat(name),
  describe: (state, online, count) => describe({ connection: { state }, online, count }),
  // What undoing the last of `edits` ([nodes, ops]: each made on its nodes) would do
  // once the tree is `now`, and how many entries the undo stack holds.
  undoAfter: (edits, now) => {
    const history = new History("test", null);
    for (const [nodes, ops] of edits) history.record(ops, table(nodes), "an edit");
    return { plan: planBack(history.peek("undo"), table(now)), entries: history.undo.length };
  },
  // The outbox sending `edits` (lists of ops) after a welcome, the server refusing with
  // `code` every op on a node in `deleted` (its parent deleted meanwhile) and applying
  // the rest: the op kinds of each batch sent, the refusals told, what is left.
  refusedBatches: async (edits, deleted) => {
    const sent = [];
    const told = [];
    let outbox = null;
    const gone = new Set(deleted);
    const answer = (frame) => queueMicrotask(() => outbox.answer({
      type: "batch", batch_id: frame.batch_id,
      results: frame.ops.map(({ op_id: opId, op }) => {
        const id = op.kind === "node.create" ? op.node.id : op.id;
        if (op.kind === "node.create" && gone.has(op.node.parent)) gone.add(id);
        return gone.has(id) ? { op_id: opId, code: "gone", detail: "no such node" } : { op_id: opId, seq: 1 };
      }),
    }, 1));
    outbox = new Outbox({ name: "test", owner: "tab", changed: () => {}, failed: (error) => { throw error; },
                          send: (frame) => { sent.push(frame.ops.map(({ op }) => op.kind)); answer(frame); return true; },
                          refused: (entry, code, detail, title) => told.push({ code, title }) });
    for (const ops of edits) await outbox.add(ops, "an edit");
    outbox.welcome();
    await new Promise((resolve) => setTimeout(resolve, 50));
    return { sent, told, left: outbox.entries.length };
  },
  // What undoing the edit `ops` (made on `nodes`) would do once the tree is `now`.
  undoPlan: (nodes, ops, now) => {
    const history = new History("test", null);
    history.record(ops, table(nodes), "an edit");
    return planBack(history.peek("undo"), table(now));
  },
  // How many edits the status line counts after queuing `edits` (each a list of ops).
  editCount: (edits) => {
    const outbox = new Outbox({ name: "test", owner: "tab", send: () => false, refused: () => {}, changed: () => {},
                                failed: (error) => { throw error; } });
    for (const ops of edits) outbox.add(ops, "an edit");
    return outbox.edits;
  },
  neighbour: (nodes, id, key, hidden = []) => neighbour(table(nodes), id, key, new Set(hidden)),
  toMarkdown: (nodes) => exchange.toMarkdown(table(nodes)),
  toOpml: (nodes, title) => exchange.toOpml(table(nodes), title),
  toSvg: (nodes, hidden = []) => exchange.toSvg(table(nodes), { hidden: new Set(hidden) }),
  parseMarkdown: (text, limits) => exchange.parseMarkdown(text, limits),
  parseOpml: (text, limits) => exchange.parseOpml(text, limits),
  textSize: (text) => exchange.textSize(text),
};

const { call, args } = JSON.parse(readFileSync(0, "utf8"));
try {
  process.stdout.write(JSON.stringify({ result: await calls[call](...args) }));
} catch (error) {
  if (!(error instanceof exchange.ImportRefused)) throw error;
  process.stdout.write(JSON.stringify({ refused: error.message }));
}
