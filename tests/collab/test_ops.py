"""The op rules, without Django: shape, values, tree rules and convergence."""

import json
import random
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collab import ops
from collab.ops import OpRejected, TreeIndex, apply, normalize, plan

ROOT = str(uuid.uuid4())


def new_id() -> str:
    return str(uuid.uuid4())


def tree() -> dict:
    return {ROOT: {"id": ROOT, "parent": None, **ops.NODE_DEFAULTS}}


def create(node_id: str, parent: str, **fields) -> dict:
    return normalize({"kind": "node.create", "node": {"id": node_id, "parent": parent,
                                                      **fields}})


def rejected(code: str, nodes: dict, raw: dict, max_nodes: int = 100,
             max_content: int | None = None) -> OpRejected:
    with pytest.raises(OpRejected) as error:
        apply(nodes, normalize(raw), max_nodes, max_content)
    assert error.value.code == code, error.value.detail
    return error.value


def test_create_fills_defaults_and_canonicalizes():
    node = new_id().upper()
    op = create(node, ROOT, color="#AABBCC")
    assert op["node"]["id"] == node.lower()
    assert op["node"]["color"] == "#aabbcc"
    assert op["node"]["title"] == "" and op["node"]["x"] == 0.0


@pytest.mark.parametrize("raw, fragment", [
    ({"kind": "node.explode", "id": ROOT}, "kind"),
    ({"kind": "node.update", "id": ROOT, "set": {"title": "x" * 201}}, "title"),
    ({"kind": "node.update", "id": ROOT, "set": {"x": float("inf")}}, "finite"),
    ({"kind": "node.update", "id": ROOT, "set": {"x": 1e8}}, "within"),
    ({"kind": "node.update", "id": ROOT, "set": {"x": True}}, "number"),
    ({"kind": "node.update", "id": ROOT, "set": {"color": "red"}}, "color"),
    ({"kind": "node.update", "id": ROOT, "set": {"owner": 1}}, "unknown field"),
    ({"kind": "node.update", "id": ROOT, "set": {}}, "non-empty"),
    ({"kind": "node.update", "id": "nope", "set": {"title": "a"}}, "UUID"),
    ({"kind": "node.delete", "id": ROOT, "extra": 1}, "unknown field"),
    ({"kind": "node.create", "node": {"id": ROOT, "parent": None}}, "parent"),
    ({"kind": "node.create", "node": {"id": ROOT, "parent": ROOT, "size": 3}}, "size"),
    ("node.delete", "object"),
])
def test_invalid_values_are_rejected_as_invalid(raw, fragment):
    with pytest.raises(OpRejected) as error:
        normalize(raw)
    assert error.value.code == "invalid"
    assert fragment in error.value.detail


def test_ops_on_a_deleted_node_are_gone():
    nodes, child = tree(), new_id()
    apply(nodes, create(child, ROOT))
    apply(nodes, normalize({"kind": "node.delete", "id": child}))
    index = TreeIndex.of([(ROOT, None, None), (child, ROOT, 1)])
    for raw in ({"kind": "node.update", "id": child, "set": {"title": "late"}},
                {"kind": "node.reparent", "id": child, "parent": ROOT},
                {"kind": "node.delete", "id": child}):
        with pytest.raises(OpRejected) as error:
            plan(normalize(raw), index, 100)
        assert error.value.code == "gone" and "was deleted" in error.value.detail
    with pytest.raises(OpRejected, match=r"parent .* was deleted"):
        plan(create(new_id(), child), index, 100)


def test_reparent_into_own_subtree_is_rejected_as_cycle():
    nodes, a, b, c = tree(), new_id(), new_id(), new_id()
    for node, parent in ((a, ROOT), (b, a), (c, b)):
        apply(nodes, create(node, parent))
    rejected("cycle", nodes, {"kind": "node.reparent", "id": a, "parent": c})
    rejected("cycle", nodes, {"kind": "node.reparent", "id": a, "parent": a})
    apply(nodes, normalize({"kind": "node.reparent", "id": c, "parent": ROOT}))
    assert nodes[c]["parent"] == ROOT


def test_the_root_cannot_be_deleted_or_moved():
    nodes, child = tree(), new_id()
    apply(nodes, create(child, ROOT))
    rejected("invalid", nodes, {"kind": "node.delete", "id": ROOT})
    rejected("invalid", nodes, {"kind": "node.reparent", "id": ROOT, "parent": child})


def test_delete_takes_the_whole_subtree():
    nodes, a, b, c = tree(), new_id(), new_id(), new_id()
    for node, parent in ((a, ROOT), (b, a), (c, ROOT)):
        apply(nodes, create(node, parent))
    apply(nodes, normalize({"kind": "node.delete", "id": a}))
    assert set(nodes) == {ROOT, c}


def test_a_second_create_with_the_same_id_is_a_conflict():
    nodes, a = tree(), new_id()
    apply(nodes, create(a, ROOT))
    rejected("conflict", nodes, {"kind": "node.create", "node": {"id": a, "parent": ROOT}})


def test_a_full_map_refuses_new_nodes():
    nodes = tree()
    apply(nodes, create(new_id(), ROOT), max_nodes=2)
    error = rejected("invalid", nodes, {"kind": "node.create",
                                        "node": {"id": new_id(), "parent": ROOT}}, max_nodes=2)
    assert "at most 2" in error.detail


def test_last_writer_wins_per_field_in_seq_order():
    nodes, a = tree(), new_id()
    apply(nodes, create(a, ROOT, title="one"))
    apply(nodes, normalize({"kind": "node.update", "id": a, "set": {"title": "two", "x": 5}}))
    apply(nodes, normalize({"kind": "node.update", "id": a, "set": {"title": "three"}}))
    assert nodes[a]["title"] == "three" and nodes[a]["x"] == 5.0


def random_op(rng: random.Random, nodes: dict) -> dict:
    ids = list(nodes)
    kind = rng.choice(["create", "create", "update", "reparent", "delete"])
    target = rng.choice(ids)
    if kind == "create" or len(ids) == 1:
        return {"kind": "node.create", "node": {"id": new_id(), "parent": target,
                                                "title": f"n{rng.randint(0, 99)}"}}
    if kind == "update":
        return {"kind": "node.update", "id": target, "set": {"x": rng.uniform(-500, 500)}}
    if kind == "reparent":
        return {"kind": "node.reparent", "id": target, "parent": rng.choice(ids)}
    return {"kind": "node.delete", "id": target}


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=10**9))
def test_replicas_replaying_the_accepted_ops_converge_and_stay_a_tree(seed):
    rng = random.Random(seed)
    server, log = tree(), []
    for _ in range(60):
        op = random_op(rng, server)
        try:
            normalized = normalize(op)
            apply(server, normalized)
        except OpRejected:
            continue
        log.append(normalized)
    replica = tree()
    for op in log:
        apply(replica, op)
    assert replica == server
    for start in server:  # every node reaches the root: no cycle, no orphan
        node, steps = start, 0
        while server[node]["parent"] is not None:
            node, steps = server[node]["parent"], steps + 1
            assert steps <= len(server)
        assert node == ROOT


def sized_index(nodes: dict) -> TreeIndex:
    """The index ops_submit builds: every live node with its text sizes, and the total."""
    sizes = {key: (ops.text_size(n["title"]), ops.text_size(n["body"]))
             for key, n in nodes.items()}
    return TreeIndex.of(((key, n["parent"], None) for key, n in nodes.items()),
                        sizes=sizes, content_bytes=sum(map(sum, sizes.values())))


def test_a_map_past_its_content_limit_refuses_growth_as_too_large():
    nodes, a = tree(), new_id()
    apply(nodes, create(a, ROOT, body="x" * 60), max_content_bytes=100)
    error = rejected("too_large", nodes, {"kind": "node.create", "node": {
        "id": new_id(), "parent": ROOT, "body": "\U0001f600" * 11}}, max_content=100)
    assert "This map is full" in error.detail and "104" in error.detail
    rejected("too_large", nodes, {"kind": "node.update", "id": a,
                                  "set": {"title": "y" * 41}}, max_content=100)
    apply(nodes, normalize({"kind": "node.update", "id": a, "set": {"title": "y" * 40}}),
          max_content_bytes=100)  # exactly full is fine


def test_an_op_that_shrinks_a_map_over_its_limit_passes():
    nodes, a, b = tree(), new_id(), new_id()
    apply(nodes, create(a, ROOT, body="x" * 500))
    apply(nodes, create(b, a, body="x" * 500))  # over a limit set later (an old map)
    apply(nodes, normalize({"kind": "node.update", "id": a, "set": {"body": "x" * 400}}),
          max_content_bytes=100)
    apply(nodes, normalize({"kind": "node.update", "id": b, "set": {"x": 5}}),
          max_content_bytes=100)  # no text: no change in content
    apply(nodes, normalize({"kind": "node.delete", "id": a}), max_content_bytes=100)
    assert set(nodes) == {ROOT}


@pytest.mark.parametrize("text, fragment", [("a\ud800", "not valid Unicode"),
                                            ("a\x00b", "NUL")])
def test_text_no_frame_or_database_can_hold_is_invalid(text, fragment):
    with pytest.raises(OpRejected, match=fragment):
        normalize({"kind": "node.update", "id": ROOT, "set": {"title": text}})


def text_op(rng: random.Random, nodes: dict) -> dict:
    target = rng.choice(list(nodes))
    kind = rng.choice(["create", "title", "body", "delete"])
    text = rng.choice(["", "ab", "\U0001f600" * 3, "\x01\n\"", "é" * 7])
    if kind == "create" or len(nodes) == 1:
        return {"kind": "node.create", "node": {"id": new_id(), "parent": target,
                                                "title": text, "body": text * 2}}
    if kind == "delete":
        return {"kind": "node.delete", "id": target}
    return {"kind": "node.update", "id": target, "set": {kind: text}}


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=10**9))
def test_the_running_content_total_equals_the_texts_of_the_live_nodes(seed):
    """As a batch is planned: one index followed through every accepted effect."""
    rng = random.Random(seed)
    nodes = tree()
    index = sized_index(nodes)
    for _ in range(40):
        try:
            effect = plan(normalize(text_op(rng, nodes)), index, 10**9, 200)
        except OpRejected as error:
            assert error.code in ("too_large", "invalid"), error.detail
            continue
        index.apply(effect, 1)
        ops.apply_effect(nodes, effect)
        assert index.content_bytes == sized_index(nodes).content_bytes <= 200


class Server:
    """The server's rules without a database: a live table, the tombstones' values (what
    the node rows keep), one index followed through every effect, and the log."""

    def __init__(self, slice_bytes: int = ops.MAX_RESTORE_BYTES):
        self.nodes, self.graves, self.log = tree(), {}, []
        self.index = sized_index(self.nodes)
        self.slice_bytes = slice_bytes

    def submit(self, raw: dict, max_nodes: int = 10**9) -> dict:
        """Apply an op; the (first) op it logged."""
        op = normalize(raw)
        effect = plan(op, self.index, max_nodes, 10**9)
        seq = len(self.log) + 1
        self.index.apply(effect, seq)
        if effect.kind == "node.delete":
            for node in effect.subtree:
                self.graves[node] = self.nodes.pop(node)
        elif effect.kind == "node.restore":
            self.nodes.update((node, self.graves.pop(node)) for node in effect.subtree)
            slices = ops.restore_slices(
                op["id"], [dict(self.nodes[node]) for node in effect.subtree], self.slice_bytes)
            self.log.extend(slices)
            return slices[0]
        else:
            ops.apply_effect(self.nodes, effect)
        self.log.append(op)
        return op


def test_restore_brings_back_the_deleted_subtree_with_its_ids_and_values():
    server, a, b, c = Server(), new_id(), new_id(), new_id()
    server.submit(create(a, ROOT, title="A"))
    server.submit(create(b, a, title="B", color="#112233"))
    server.submit(create(c, ROOT, title="C"))
    before = {key: dict(node) for key, node in server.nodes.items()}
    server.submit({"kind": "node.delete", "id": a})
    logged = server.submit({"kind": "node.restore", "id": a})
    assert [node["id"] for node in logged["nodes"]] == [a, b]  # parents first
    assert server.nodes == before
    assert server.index.live_count == 4
    assert server.index.content_bytes == sized_index(before).content_bytes


def test_restore_takes_only_what_its_delete_took():
    server, a, b, c = Server(), new_id(), new_id(), new_id()
    server.submit(create(a, ROOT))
    server.submit(create(b, a))
    server.submit(create(c, a))
    server.submit({"kind": "node.delete", "id": c})  # deleted on its own, earlier
    server.submit({"kind": "node.delete", "id": a})
    server.submit({"kind": "node.restore", "id": a})
    assert set(server.nodes) == {ROOT, a, b}
    server.submit({"kind": "node.restore", "id": c})
    assert set(server.nodes) == {ROOT, a, b, c}


@pytest.mark.parametrize("case, code, fragment", [
    ("live", "conflict", "is not deleted"),
    ("unknown", "gone", "does not exist"),
    ("under a deleted parent", "gone", "its parent"),
    ("map full", "invalid", "at most"),
])
def test_a_restore_that_cannot_apply_says_why(case, code, fragment):
    server, a, b = Server(), new_id(), new_id()
    server.submit(create(a, ROOT))
    server.submit(create(b, a))
    server.submit({"kind": "node.delete", "id": b})
    server.submit({"kind": "node.delete", "id": a})
    target = {"live": ROOT, "unknown": new_id(), "under a deleted parent": b,
              "map full": a}[case]
    with pytest.raises(OpRejected) as error:
        server.submit({"kind": "node.restore", "id": target},
                      max_nodes=1 if case == "map full" else 10**9)
    assert error.value.code == code and fragment in error.value.detail


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
    assert all(frame_size(op) <= ops.MAX_RESTORE_BYTES for op in slices)
    assert first["id"] == top and first["total"] == 51 and "part_of" not in first
    for op in slices[1:]:
        assert op["id"] == op["nodes"][0]["id"] and op["part_of"] == top
        assert "total" not in op
    assert [node["id"] for op in slices for node in op["nodes"]] == parents
    state = ops.Replay(server.nodes[node] for node in (ROOT,))
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
    nodes = [{"id": new_id(), "parent": ROOT, **ops.NODE_DEFAULTS}]
    assert ops.restore_slices(nodes[0]["id"], nodes) == [
        {"kind": "node.restore", "id": nodes[0]["id"], "nodes": nodes}]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=3_000), min_size=1, max_size=60),
       st.integers(min_value=400, max_value=20_000))
def test_slices_keep_every_node_in_order_and_each_fits_its_budget(bodies, budget):
    top = new_id()
    nodes = [{"id": top if index == 0 else new_id(), "parent": ROOT, **ops.NODE_DEFAULTS,
              "body": "\x01" * size} for index, size in enumerate(bodies)]
    slices = ops.restore_slices(top, nodes, budget)
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
    assert ops.NODE_FRAME_BYTES == measured == 209
    big = {**node, "title": "t" * 200, "body": "\x01" * 10_000}
    assert frame_size(big) + 1 == measured + ops.text_size(big["title"]) + \
        ops.text_size(big["body"])


def test_a_restore_client_cannot_bring_its_own_nodes():
    with pytest.raises(OpRejected, match="unknown field"):
        normalize({"kind": "node.restore", "id": ROOT, "nodes": []})


def random_op_with_restores(rng: random.Random, server: Server) -> dict:
    if server.graves and rng.random() < 0.25:
        return {"kind": "node.restore", "id": rng.choice(list(server.graves))}
    return random_op(rng, server.nodes)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=10**9))
def test_replaying_the_log_with_restores_rebuilds_the_server_state(seed):
    """What clients and the history do: the logged ops alone, restores included (in
    slices, with a small budget), rebuild the state, and the index's totals follow it."""
    rng = random.Random(seed)
    server = Server(slice_bytes=rng.choice([ops.MAX_RESTORE_BYTES, 700]))
    for _ in range(80):
        try:
            server.submit(random_op_with_restores(rng, server))
        except OpRejected:
            continue
    replica = ops.Replay(tree().values())
    for op in server.log:
        replica.apply(op)
    assert replica.nodes == server.nodes
    assert server.index.live_count == len(server.nodes)
    assert server.index.content_bytes == sized_index(server.nodes).content_bytes


def naive_replay(nodes: dict[str, dict], op: dict) -> None:
    """The replay as it was before `ops.Replay`: a delete walks the whole table."""
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
        except OpRejected:
            continue
    deletes = sum(op["kind"] == "node.delete" for op in server.log)
    assert deletes > 400
    old, new = tree(), ops.Replay(tree().values())
    for op in server.log:
        naive_replay(old, op)
        new.apply(op)
    assert list(new.nodes.items()) == list(old.items())
    assert new.nodes == server.nodes
