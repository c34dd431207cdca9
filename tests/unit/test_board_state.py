"""The board's tree state (static/moa/board/state.js, run by Node) against the server's
op rules (collab/ops.py): random op sequences, cyclic reparents and restores included,
must give the same refusals and the same tree after every step, and no walk of the
page may loop, even on a corrupted table with cycles."""

from __future__ import annotations

import copy
import json
import random
import subprocess
import uuid

import pytest

from collab import op_fields, op_log, ops
from tests.debian import require_debian_program
from tests.helpers import ROOT

HARNESS = ROOT / "tests" / "js" / "board_state_harness.mjs"
FIELDS = {
    "title": lambda rng: rng.choice(["", "Idea", "Ünïcode ✓", "x" * 30]),
    "body": lambda rng: rng.choice(["", "notes", "line\nbreak"]),
    "x": lambda rng: rng.choice([0, -40.5, 300]),
    "y": lambda rng: rng.choice([0, 12, -700]),
    "color": lambda rng: rng.choice(["#ffffff", "#a1b2c3"]),
    "collapsed": lambda rng: rng.choice([True, False]),
}


@pytest.fixture(scope="module")
def node() -> str:
    return require_debian_program("/usr/bin/node", "nodejs")


def run_harness(node: str, payload: dict) -> dict:
    """The harness's answer; a walk that loops fails the test by the timeout."""
    done = subprocess.run([node, str(HARNESS)], input=json.dumps(payload), text=True,
                          capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


class Server:
    """The server's rules, stateful as under the map lock: collab/ops.py's TreeIndex
    (live parents and tombstones with the seq of their delete) and plan, on a node
    table; a delete buries its nodes and a restore brings the same ones back."""

    def __init__(self, nodes: list[dict]):
        self.nodes = {node["id"]: dict(node) for node in nodes}
        self.buried: dict[str, dict] = {}
        sizes = {node["id"]: (op_fields.text_size(node["title"]), op_fields.text_size(node["body"]))
                 for node in nodes}
        self.index = ops.TreeIndex.of(((node["id"], node["parent"], None) for node in nodes),
                                      sizes=sizes, content_bytes=sum(map(sum, sizes.values())))
        self.seq = 0

    def apply(self, raw: dict) -> str | None:
        try:
            effect = ops.plan(ops.normalize(raw), self.index, max_nodes=10**9)
        except op_fields.Rejected as refused:
            return refused.code
        self.seq += 1
        if effect.kind == "node.delete":
            for node in effect.subtree:
                self.buried[node] = self.nodes.pop(node)
        elif effect.kind == "node.restore":
            for node in effect.subtree:
                self.nodes[node] = self.buried.pop(node)
        else:
            ops.apply_effect(self.nodes, effect)
        self.index.apply(effect, self.seq)
        return None

    def table(self) -> list[dict]:
        return sorted(self.nodes.values(), key=lambda node: node["id"])


def random_op(rng: random.Random, ids: list[str]) -> dict:
    """An op of a valid shape on a small pool of ids: it may name a live, deleted or
    unknown node, and a reparent may close a cycle."""
    kind = rng.choices(["node.create", "node.update", "node.reparent", "node.delete",
                        "node.restore"], weights=[5, 3, 4, 2, 2])[0]
    if kind == "node.create":
        values = {name: make(rng) for name, make in FIELDS.items() if rng.random() < 0.5}
        return {"kind": kind, "node": {"id": rng.choice(ids), "parent": rng.choice(ids),
                                       **values}}
    if kind == "node.update":
        names = rng.sample(sorted(FIELDS), rng.randint(1, 3))
        return {"kind": kind, "id": rng.choice(ids),
                "set": {name: FIELDS[name](rng) for name in names}}
    if kind == "node.reparent":
        return {"kind": kind, "id": rng.choice(ids), "parent": rng.choice(ids)}
    return {"kind": kind, "id": rng.choice(ids)}


def test_random_op_sequences_match_the_server_rules(node):
    rng = random.Random(14)
    cases = []
    for _ in range(150):
        ids = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(9)]
        root = {"id": ids[0], "parent": None, **op_fields.NODE_DEFAULTS, "title": "Root"}
        cases.append({"nodes": [root], "ops": [random_op(rng, ids) for _ in range(80)]})
    answer = run_harness(node, {"cases": cases, "corrupt": []})
    kinds_refused: set[tuple[str, str | None]] = set()
    for case, steps in zip(cases, answer["cases"], strict=True):
        server = Server(copy.deepcopy(case["nodes"]))
        for index, (op, step) in enumerate(zip(case["ops"], steps, strict=True)):
            expected = server.apply(op)
            where = f"step {index}: {op}"
            assert step["refused"] == expected, where
            assert step["nodes"] == server.table(), where
            kinds_refused.add((op["kind"], expected))
    # The sequences exercised every rule, not just the easy paths.
    for wanted in [("node.reparent", "cycle"), ("node.reparent", None),
                   ("node.create", "conflict"), ("node.create", "gone"),
                   ("node.update", "gone"), ("node.delete", "invalid"),
                   ("node.delete", None), ("node.restore", None),
                   ("node.restore", "gone"), ("node.restore", "conflict")]:
        assert wanted in kinds_refused, wanted


def test_walks_end_on_a_table_with_cycles(node):
    a, b, c, d = (str(uuid.uuid4()) for _ in range(4))
    loop = [{"id": a, "parent": c, "collapsed": True}, {"id": b, "parent": a},
            {"id": c, "parent": b}, {"id": d, "parent": c}]
    self_parent = [{"id": a, "parent": a, "collapsed": True}, {"id": b, "parent": a},
                   {"id": c, "parent": None}]
    loop_answer, self_answer = run_harness(node, {"cases": [],
                                                  "corrupt": [loop, self_parent]})["corrupt"]
    assert loop_answer["ancestors"][a] == [c, b]
    assert sorted(loop_answer["subtree"][a]) == sorted([a, b, c, d])
    assert loop_answer["hidden"] == sorted([b, c, d])  # under the collapsed a, once each
    assert loop_answer["reparent"] == "cycle"  # b under c: c is under b already
    assert self_answer["ancestors"][a] == []
    assert self_answer["subtree"][a] == [a, b]
    assert self_answer["reparent"] is None  # b under c: no cycle there


def test_a_restore_in_slices_leaves_every_board_as_the_server(node):
    """A big restore's slices (each names its own first node) apply on a board that saw
    the delete, where the sender's own restore, laid over the tree until its ack, shows
    the whole branch at once and adds nothing once the first slice is in (`conflict`:
    nothing is applied twice), and on a board that loaded after the delete and knows
    nothing of it: all end as the server does."""
    rng = random.Random(3)
    root = {"id": str(uuid.uuid4()), "parent": None, **op_fields.NODE_DEFAULTS, "title": "Root"}
    server = Server([root])
    ids = [root["id"]]
    for index in range(40):
        ids.append(str(uuid.uuid4()))
        assert server.apply({"kind": "node.create", "node": {
            "id": ids[-1], "parent": rng.choice(ids[:-1][-8:]) if index else root["id"],
            "title": f"n{index}", "body": "é" * 30}}) is None
    before, top = server.table(), ids[1]
    assert server.apply({"kind": "node.delete", "id": top}) is None
    after_delete = server.table()
    assert server.apply({"kind": "node.restore", "id": top}) is None
    assert server.table() == before
    buried = [node for node in before if node["id"] not in {n["id"] for n in after_delete}]
    order = {node_id: index for index, node_id in enumerate(ids)}  # parents first
    slices = op_log.restore_slices(top, sorted(buried, key=lambda n: order[n["id"]]), 1_000)
    assert len(slices) > 2
    own = {"kind": "node.restore", "id": top}  # the sender's outbox entry, no nodes
    delete = {"kind": "node.delete", "id": top}
    cases = [{"nodes": before, "ops": [delete, slices[0], own, *slices[1:]]},
             {"nodes": before, "ops": [delete, own]},  # the sender's view before its ack
             {"nodes": after_delete, "ops": slices}]
    saw, optimistic, loaded_after = run_harness(node, {"cases": cases, "corrupt": []})["cases"]
    assert [step["refused"] for step in saw] == [None, None, "conflict"] + \
        [None] * (len(slices) - 1)
    assert saw[2]["nodes"] == saw[1]["nodes"] != before  # the overlay added nothing
    assert all(step["refused"] is None for step in optimistic + loaded_after)
    assert saw[-1]["nodes"] == optimistic[-1]["nodes"] == loaded_after[-1]["nodes"] == before
