"""The op log's forms, without Django: restores in slices (each fits a frame and
applies alone), the node frame size they are budgeted with, and rebuilding a state from
the log (Replay), as the server's rules made it and as the old replay did."""

import json
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from collab import op_fields, op_log
from collab.op_fields import Rejected
from collab.ops import normalize
from tests.collab.test_ops import (
    ROOT,
    Server,
    create,
    new_id,
    random_op_with_restores,
    sized_index,
    tree,
)


def frame_size(value: object) -> int:
    """Bytes in a frame, as the server encodes them (project/ws_frames.py)."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def test_a_subtree_too_big_for_one_event_comes_back_in_slices_that_each_apply_alone():
    """About 400 KiB of nodes: logged as consecutive restores, each within the budget,
    parents first, the first naming the top (with the total), the others their first node
    (with the top they continue); replayed one by one they give the state before the
    delete, and at each step every node's parent is already there."""
    server, top = Server(), new_id()
    server.submit(create(top, ROOT, title="big"))
    parents = [top]
    for index in range(50):
        node = new_id()
        server.submit(create(node, parents[index // 3], title=f"n{index}",
                             body="é" * 4_000))
        parents.append(node)
    before = {key: dict(node) for key, node in server.nodes.items()}
    server.submit({"kind": "node.delete", "id": top})
    cut = len(server.log)
    first = server.submit({"kind": "node.restore", "id": top})
    slices = server.log[cut:]
    assert len(slices) == 3 and slices[0] is first
    assert all(frame_size(op) <= op_log.MAX_RESTORE_BYTES for op in slices)
    assert first["id"] == top and first["total"] == 51 and "part_of" not in first
    for op in slices[1:]:
        assert op["id"] == op["nodes"][0]["id"] and op["part_of"] == top
        assert "total" not in op
    assert [node["id"] for op in slices for node in op["nodes"]] == parents
    state = op_log.Replay(server.nodes[node] for node in (ROOT,))
    for op in server.log:
        if op in slices:
            assert op["id"] not in state.nodes
            there = set(state.nodes)
            for node in op["nodes"]:  # parents first: from an earlier slice, or this one
                assert node["parent"] in there
                there.add(node["id"])
        state.apply(op)
    assert state.nodes == before == server.nodes


def test_a_restore_that_fits_one_event_is_logged_as_one_op_as_before():
    nodes = [{"id": new_id(), "parent": ROOT, **op_fields.NODE_DEFAULTS}]
    assert op_log.restore_slices(nodes[0]["id"], nodes) == [
        {"kind": "node.restore", "id": nodes[0]["id"], "nodes": nodes}]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=3_000), min_size=1, max_size=60),
       st.integers(min_value=400, max_value=20_000))
def test_slices_keep_every_node_in_order_and_each_fits_its_budget(bodies, budget):
    top = new_id()
    nodes = [{"id": top if index == 0 else new_id(), "parent": ROOT, **op_fields.NODE_DEFAULTS,
              "body": "\x01" * size} for index, size in enumerate(bodies)]
    slices = op_log.restore_slices(top, nodes, budget)
    assert [node for op in slices for node in op["nodes"]] == nodes
    assert all(op["nodes"] for op in slices)
    for op in slices:  # a slice over the budget holds one node too big for any slice
        assert frame_size(op) <= budget or len(op["nodes"]) == 1


def test_node_frame_bytes_is_what_a_node_takes_besides_its_texts_at_most():
    """Measured: the longest ids, coordinates and fields, empty title and body, and the
    comma that separates it from the next node in a list."""
    longest_float = -1.2345678901234567e-300  # sign, 17 digits, a three-digit exponent
    assert len(repr(longest_float)) == 24
    node = normalize({"kind": "node.create", "node": {
        "id": new_id(), "parent": new_id(), "title": "", "body": "", "x": longest_float,
        "y": longest_float, "color": "#ABCDEF", "collapsed": False}})["node"]
    measured = frame_size(node) + 1
    assert op_log.NODE_FRAME_BYTES == measured == 209
    big = {**node, "title": "t" * 200, "body": "\x01" * 10_000}
    assert frame_size(big) + 1 == measured + op_fields.text_size(big["title"]) + \
        op_fields.text_size(big["body"])


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=10**9))
def test_replaying_the_log_with_restores_rebuilds_the_server_state(seed):
    """What clients and the history do: the logged ops alone, restores included (in
    slices, with a small budget), rebuild the state, and the index's totals follow it."""
    rng = random.Random(seed)
    server = Server(slice_bytes=rng.choice([op_log.MAX_RESTORE_BYTES, 700]))
    for _ in range(80):
        try:
            server.submit(random_op_with_restores(rng, server))
        except Rejected:
            continue
    replica = op_log.Replay(tree().values())
    for op in server.log:
        replica.apply(op)
    assert replica.nodes == server.nodes
    assert server.index.live_count == len(server.nodes)
    assert server.index.content_bytes == sized_index(server.nodes).content_bytes


def naive_replay(nodes: dict[str, dict], op: dict) -> None:
    """The replay as it was before `op_log.Replay`: a delete walks the whole table."""
    kind = op["kind"]
    if kind == "node.create":
        nodes[op["node"]["id"]] = dict(op["node"])
    elif kind == "node.update":
        nodes[op["id"]] = {**nodes[op["id"]], **op["set"]}
    elif kind == "node.reparent":
        nodes[op["id"]] = {**nodes[op["id"]], "parent": op["parent"]}
    elif kind == "node.delete":
        children: dict = {}
        for node in nodes.values():
            children.setdefault(node["parent"], []).append(node["id"])
        found, seen = [op["id"]], {op["id"]}
        for node in found:
            for child in children.get(node, ()):
                if child not in seen:
                    seen.add(child)
                    found.append(child)
        for node in found:
            nodes.pop(node, None)
    else:
        for node in op["nodes"]:
            nodes[node["id"]] = dict(node)


def test_a_replay_of_many_deletes_on_a_large_map_equals_the_old_replay():
    """3,000 nodes, then 1,500 ops, a third of them deletes (and restores, moves, edits):
    the same table, in the same order, as the replay that walked every node per delete."""
    rng = random.Random(7)
    server = Server(slice_bytes=2_000)
    live = [ROOT]
    for _ in range(3_000):
        node = new_id()
        server.submit(create(node, rng.choice(live), title="n"))
        live.append(node)
    for _ in range(1_500):
        try:
            if rng.random() < 0.35 and len(server.nodes) > 1:
                server.submit({"kind": "node.delete",
                               "id": rng.choice([n for n in server.nodes if n != ROOT])})
            else:
                server.submit(random_op_with_restores(rng, server))
        except Rejected:
            continue
    deletes = sum(op["kind"] == "node.delete" for op in server.log)
    assert deletes > 400
    old, new = tree(), op_log.Replay(tree().values())
    for op in server.log:
        naive_replay(old, op)
        new.apply(op)
    assert list(new.nodes.items()) == list(old.items())
    assert new.nodes == server.nodes
