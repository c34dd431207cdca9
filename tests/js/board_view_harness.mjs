// Runs one call of the board's pure view modules (layout, navigate, exchange) for
// tests/unit/test_board_view_modules.py: reads {"call", "args"} as JSON on stdin, writes
// {"result"} or {"refused": message} (an ImportRefused) as JSON on stdout. Node lists
// ("nodes" arguments) travel as arrays and become the Map the modules take.

import { readFileSync } from "node:fs";
import * as exchange from "../../static/moa/board/exchange.js";
import * as layout from "../../static/moa/board/layout.js";
import { neighbour } from "../../static/moa/board/navigate.js";

const table = (list) => new Map(list.map((node) => [node.id, { collapsed: false, body: "", color: "#ffffff", ...node }]));
const sizeOf = (node) => layout.nodeBox(node.title);
let made = 0;
const newId = () => `00000000-0000-4000-8000-${String((made += 1)).padStart(12, "0")}`;

const calls = {
  nodeBox: (title) => layout.nodeBox(title),
  nodeBoxes: (titles) => titles.map((title) => layout.nodeBox(title)),
  childPosition: (nodes, parent, title, mode) =>
    layout.childPosition(table(nodes), parent, layout.nodeBox(title), { mode, sizeOf }),
  tidy: (nodes, mode) => layout.tidy(table(nodes), { mode, sizeOf }),
  placeTrees: (nodes, parent, trees, mode) => layout.placeTrees(table(nodes), parent, trees, { mode, sizeOf, newId }),
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
  process.stdout.write(JSON.stringify({ result: calls[call](...args) }));
} catch (error) {
  if (!(error instanceof exchange.ImportRefused)) throw error;
  process.stdout.write(JSON.stringify({ refused: error.message }));
}
