// The Hocuspocus baseline of bench/fanout.py: a stock @hocuspocus/server with no
// persistence, no auth hook and no extensions, tuned as its users tune it for speed.
//
//   node bench/hocuspocus/server.mjs --port 8765
//
// Every map is one Y.Doc, named by the client in each message (bench/yjs_client.py).
// Any HTTP GET answers 200, so the harness's /health/ wait works unchanged.
import { parseArgs } from "node:util";

import { Server } from "@hocuspocus/server";

const { values } = parseArgs({
  options: { port: { type: "string", default: "8765" } },
});

const server = new Server({
  name: "moa-bench",
  address: "127.0.0.1",
  port: Number(values.port),
  // No start screen and no per-connection logging (no Logger extension).
  quiet: true,
  // onStoreDocument runs through a debouncer on every update; with nothing to store,
  // a long debounce keeps that to a timer reset per update instead of a hook chain.
  debounce: 10000,
  maxDebounce: 60000,
  // The handler below exits at once: there is nothing to flush, and Hocuspocus's own
  // handler waits for every document to unload.
  stopOnSignals: false,
  extensions: [],
});

const exit = () => process.exit(0);
process.on("SIGTERM", exit);
process.on("SIGINT", exit);

await server.listen();
console.log(`hocuspocus listening on 127.0.0.1:${values.port}`);
