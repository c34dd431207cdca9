"""The op rules, without Django: shape, values, tree rules and convergence."""

import random
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collab import op_fields, op_log, ops
from collab.op_fields import Rejected
from collab.ops import TreeIndex, apply, normalize, plan

ROOT = str(uuid.uuid4())


def new_id() -> str:
    return str(uuid.uuid4())


def tree() -> dict:
    return {ROOT: {"id": ROOT, "parent": None, **op_fields.NODE_DEFAULTS}}


def create(node_id: str, parent: str, **fields) -> dict:
    return normalize({"kind": "node.create", "node": {"id": node_id, "parent": parent,
                                                      **fields}})


def rejected(code: str, nodes: dict, raw: dict, max_nodes: int = 100,
             max_content: int | None = None) -> Rejected:
    with pytest.raises(Rejected) as error:
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
    with pytest.raises(Rejected) as error:
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
        with pytest.raises(Rejected) as error:
            plan(normalize(raw), index, 100)
        assert error.value.code == "gone" and "was deleted" in error.value.detail
    with pytest.raises(Rejected, match=r"parent .* was deleted"):
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
        except Rejected:
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
    sizes = {key: (op_fields.text_size(n["title"]), op_fields.text_size(n["body"]))
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
    with pytest.raises(Rejected, match=fragment):
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
        except Rejected as error:
            assert error.code in ("too_large", "invalid"), error.detail
            continue
        index.apply(effect, 1)
        ops.apply_effect(nodes, effect)
        assert index.content_bytes == sized_index(nodes).content_bytes <= 200


class Server:
    """The server's rules without a database: a live table, the tombstones' values (what
    the node rows keep), one index followed through every effect, and the log."""

    def __init__(self, slice_bytes: int = op_log.MAX_RESTORE_BYTES):
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
            slices = op_log.restore_slices(
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
    with pytest.raises(Rejected) as error:
        server.submit({"kind": "node.restore", "id": target},
                      max_nodes=1 if case == "map full" else 10**9)
    assert error.value.code == code and fragment in error.value.detail


def test_a_restore_client_cannot_bring_its_own_nodes():
    with pytest.raises(Rejected, match="unknown field"):
        normalize({"kind": "node.restore", "id": ROOT, "nodes": []})


def random_op_with_restores(rng: random.Random, server: Server) -> dict:
    if server.graves and rng.random() < 0.25:
        return {"kind": "node.restore", "id": rng.choice(list(server.graves))}
    return random_op(rng, server.nodes)
