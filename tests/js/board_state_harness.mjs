// Drives static/moa/board/state.js for tests/unit/test_board_state.py: reads
// {"cases": [{"nodes": [...], "ops": [...]}], "corrupt": [[node, ...], ...]} on stdin and
// writes, per case, each op's refusal code (or null) and the live nodes after it; per
// corrupt table (cycles the server never makes), what the walks return.
import { readFileSync } from "node:fs";
import { ancestors, apply, hiddenByCollapse, subtree, tree } from "../../static/moa/board/state.js";

const input = JSON.parse(readFileSync(0, "utf8"));
const sorted = (state) => [...state.live.values()].sort((a, b) => a.id.localeCompare(b.id));
const cases = input.cases.map(({ nodes, ops }) => {
  const state = tree(nodes);
  return ops.map((op) => ({ refused: apply(state, op)?.code ?? null, nodes: sorted(state) }));
});
const corrupt = input.corrupt.map((nodes) => {
  const state = tree(nodes);
  const live = state.live;
  return {
    ancestors: Object.fromEntries(nodes.map((node) => [node.id, ancestors(live, node.id)])),
    subtree: Object.fromEntries(nodes.map((node) => [node.id, subtree(live, node.id)])),
    hidden: [...hiddenByCollapse(live)].sort(),
    reparent: apply(state, { kind: "node.reparent", id: nodes[1].id, parent: nodes[2].id })?.code ?? null,
  };
});
process.stdout.write(JSON.stringify({ cases, corrupt }));
