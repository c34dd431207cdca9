// Runs the board's history words (static/moa/board/history_words.js) for
// tests/unit/test_board_history_words.py: reads {"call", "args"} as JSON on stdin and
// writes {"result"} as JSON on stdout. Titles of nodes no event names come from
// `args[1].titles` (what the live board's tree would say), former titles of renames from
// `args[1].formers` (seq -> title, what the panel reads from a node's history).

import { readFileSync } from "node:fs";
import { ago, blameLines, historyLines } from "../../static/moa/board/history_words.js";

const colours = { "#fff3b0": "yellow" };
const calls = {
  historyLines: (events, { you, titles = {}, formers = {} }) => historyLines(events, {
    you, titleOf: (id) => titles[id], colourName: (hex) => colours[hex] ?? null,
    formerTitle: (seq) => formers[seq],
  }).map(({ seq, count, text, unknown }) => ({ seq, count, text, unknown })),
  blameLines: (blame, { you, now }) => blameLines(blame, { you, now: Date.parse(now) }).map((line) => line.text),
  ago: (at, now) => ago(at, Date.parse(now)),
};

const { call, args } = JSON.parse(readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify({ result: calls[call](...args) }));
