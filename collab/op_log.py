"""The op log's own forms, pure: no Django, no I/O, no clock.

A restore's logged op carries the nodes it brought back, so the log alone rebuilds any
state, without tombstones (`Replay`: what the history, trims and test clients do). A
restore too big for one event is logged as several consecutive ops, slices, each small
enough for a frame and each replayable alone (`restore_slices`): any deleted branch can
come back, whatever its size. `restore_size` is what a restore costs the server to
write and broadcast: what its sender is charged, and what bounds one transaction's
restores.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from collab import ops

# A restore's event carries its nodes: each logged op of a restore takes at most
# MAX_RESTORE_BYTES of JSON, so one event fits in a frame with room to spare (frames are
# at most 256 KiB); a bigger restore is logged in slices. NODE_FRAME_BYTES is what a node
# takes in a frame besides its title's and body's text (ids, the longest coordinates,
# the separating comma): measured by tests/collab/test_op_log.py.
MAX_RESTORE_BYTES = 192 * 1024
NODE_FRAME_BYTES = 209


def restore_size(effect: ops.Effect) -> int:
    """At most the bytes a restore's nodes take in its events (0 for any other op): what
    it costs the server to write and broadcast, whatever the few bytes that asked."""
    if effect.kind != "node.restore":
        return 0
    return effect.grows + NODE_FRAME_BYTES * len(effect.subtree)


def _json_size(value: object) -> int:
    """The bytes `value` takes in a frame (compact JSON, UTF-8, as frames are encoded)."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def restore_slices(top: str, nodes: list[dict], max_bytes: int = MAX_RESTORE_BYTES
                   ) -> list[dict]:
    """The logged form of the restore of `top` that brought back `nodes` (parents first):
    one op `{"kind": "node.restore", "id": top, "nodes": [...]}`, or, when that would take
    more than `max_bytes`, consecutive slices within it, the nodes in the same order. The
    first slice names `top` and says how many nodes came back in all (`total`); each
    other names its own first node and the restore it continues (`part_of`: `top`). Each
    applies alone, as any restore with `nodes` does: its nodes' parents are live by then
    (an earlier slice brought them back), and its `id` is not (a client that checks it
    finds a node still deleted)."""
    whole = {"kind": "node.restore", "id": top, "nodes": nodes}
    if _json_size(whole) <= max_bytes:
        return [whole]
    # The longest head a slice can have: the continuation's (`part_of` and an id).
    head = _json_size({"kind": "node.restore", "id": top, "nodes": [], "part_of": top})
    chunks: list[list[dict]] = [[]]
    size = head
    for node in nodes:
        grows = _json_size(node) + 1  # and its comma
        if chunks[-1] and size + grows > max_bytes:
            chunks.append([])
            size = head
        chunks[-1].append(node)
        size += grows
    first = {"kind": "node.restore", "id": top, "nodes": chunks[0], "total": len(nodes)}
    return [first] + [{"kind": "node.restore", "id": chunk[0]["id"], "nodes": chunk,
                       "part_of": top} for chunk in chunks[1:]]


class Replay:
    """A node table {id: node} rebuilt from a checkpoint and logged (already accepted,
    canonical) ops, applied without checking them: how a state is rebuilt from the log.

    The children of each node are kept alongside the table, so a delete walks only the
    subtree it removes: a replay costs what its ops touch, not the map's size per delete.
    Node dicts are never changed in place (an update makes a new one), so the checkpoint's
    nodes can be handed in as they are.
    """

    def __init__(self, nodes: Iterable[dict] = ()):
        self.nodes: dict[str, dict] = {}
        # parent -> its children, in the order they came (a dict as an ordered set)
        self.children: dict[str | None, dict[str, None]] = {}
        for node in nodes:
            self._put(node)

    def apply(self, op: dict) -> None:
        kind = op["kind"]
        if kind == "node.create":
            self._put(dict(op["node"]))
        elif kind == "node.update":
            self.nodes[op["id"]] = {**self.nodes[op["id"]], **op["set"]}
        elif kind == "node.reparent":
            self._put({**self.nodes[op["id"]], "parent": op["parent"]})
        elif kind == "node.delete":
            for node in ops.breadth_first(op["id"], self.children):
                self._drop(node)
        else:
            for node in op["nodes"]:
                self._put(dict(node))

    def _put(self, node: dict) -> None:
        """Add `node`, or replace the node of its id (moving it to its new parent)."""
        old = self.nodes.get(node["id"])
        if old is not None and old["parent"] != node["parent"]:
            self.children.get(old["parent"], {}).pop(node["id"], None)
        self.nodes[node["id"]] = node
        self.children.setdefault(node["parent"], {})[node["id"]] = None

    def _drop(self, node: str) -> None:
        removed = self.nodes.pop(node, None)
        if removed is not None:
            self.children.get(removed["parent"], {}).pop(node, None)
        self.children.pop(node, None)
