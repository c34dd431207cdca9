"""A map's history, as plain functions: restoring an earlier state as new ops, and blame.

History is never rewritten: making a map (or one subtree) look as it did at an earlier
seq is a list of ordinary ops — restores, creates, reparents, updates, deletes — planned
here against an index of the tree as it is now, by the same rules (`ops.plan`) the
server then applies them with, so a plan that passes here passes there, in one
transaction, or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable

from collab import op_fields, ops

FIELDS = ("title", "body", "x", "y", "color", "collapsed")
MAX_RESTORE_OPS = 2_000


class RestoreImpossible(Exception):
    """The earlier state cannot be brought back as ops; the message says why."""


class _Planner:
    """The tree as the ops planned so far leave it: an index and every node's values
    (tombstones' included)."""

    def __init__(self, index: ops.TreeIndex, values: dict[str, dict]):
        self.index, self.values, self.ops = index, values, []

    def add(self, op: dict) -> ops.Effect:
        try:
            effect = ops.plan(op, self.index, 10**9)
        except op_fields.Rejected as rejected:
            raise RestoreImpossible(rejected.detail) from None
        self.index.apply(effect, -len(self.ops) - 1)  # a seq of its own, unlike any logged
        if op["kind"] == "node.create":
            self.values[op["node"]["id"]] = dict(op["node"])
        elif op["kind"] == "node.update":
            self.values[op["id"]] = {**self.values[op["id"]], **op["set"]}
        elif op["kind"] == "node.reparent":
            self.values[op["id"]] = {**self.values[op["id"]], "parent": op["parent"]}
        self.ops.append(op)
        if len(self.ops) > MAX_RESTORE_OPS:
            raise RestoreImpossible(f"That takes more than {MAX_RESTORE_OPS:,} changes; "
                                    "restore a smaller part of the map.")
        return effect

    def ancestors(self, node: str) -> list[str]:
        """The live nodes above `node`, nearest first (the tree is acyclic: plan keeps it)."""
        found = []
        while (node := self.index.parents.get(node)) is not None:
            found.append(node)
        return found

    def live(self, node: str) -> bool:
        return node in self.index.parents

    def bring_back(self, node: str) -> None:
        """Restore the tombstone `node`: from the highest deleted node above it whose
        parent lives (its delete took `node` along), until `node` lives."""
        while not self.live(node):
            top, seen = node, {node}
            while (parent := self.index.tombs[top][0]) not in self.index.parents:
                if parent not in self.index.tombs or parent in seen:
                    raise RestoreImpossible(f"node {node} cannot be brought back: a node "
                                            "above it is gone")
                top = parent
                seen.add(top)
            self.add({"kind": "node.restore", "id": top})

    def match(self, node: str, past: dict, move: bool) -> None:
        """Make a live node's values (and with `move` its parent) what they were."""
        if move and self.index.parents[node] != past["parent"]:
            self.add({"kind": "node.reparent", "id": node, "parent": past["parent"]})
        now = self.values[node]
        changed = {name: past[name] for name in FIELDS if now[name] != past[name]}
        if changed:
            self.add({"kind": "node.update", "id": node, "set": changed})


def restore_ops(*, index: ops.TreeIndex, values: dict[str, dict], past: dict[str, dict],
                top: str | None = None) -> list[dict]:
    """The ops that make the tree `index`/`values` (every node row: live nodes and
    tombstones) look as `past` did: the whole map, or with `top` the subtree under it
    (`top` keeps its place: its parent and what lies outside stay as they are).

    Parents are handled before their children (breadth-first in `past`), so each node
    moves under a parent already back in its place: no move makes a cycle. A node
    brought back by a restore with others deleted alongside it that `past` lacks is
    deleted again at the end, as is whatever was added since; in a subtree, a node moved
    in since goes back to where it was when that place still exists.
    """
    root = next(node for node, value in past.items() if value["parent"] is None)
    start = root if top is None else top
    if start not in past:
        raise RestoreImpossible("That node did not exist then.")
    order = _breadth_first(start, past.values())
    wanted = set(order)
    plan = _Planner(index, values)
    for node in order:
        if node in plan.index.tombs:
            plan.bring_back(node)
        elif not plan.live(node):
            plan.add({"kind": "node.create", "node": dict(past[node])})
        plan.match(node, past[node], move=node != start)
        if node == start and wanted.intersection(plan.ancestors(start)):
            raise RestoreImpossible("That node now lies under a node that was inside it "
                                    "then; move it out first, or restore the whole map.")
    inside = set(plan.index.subtree(start))
    extra = [node for node in plan.index.subtree(start) if node not in wanted]
    for node in extra:  # parents first: a node deleted or moved out takes its subtree
        if not plan.live(node) or plan.index.parents[node] not in wanted:
            continue
        parent = past.get(node, {}).get("parent")
        if top is not None and parent in plan.index.parents and parent not in inside:
            plan.add({"kind": "node.reparent", "id": node, "parent": parent})
        else:
            plan.add({"kind": "node.delete", "id": node})
    return plan.ops


def _breadth_first(top: str, nodes: Iterable[dict]) -> list[str]:
    children: dict[str | None, list[str]] = {}
    for node in nodes:
        children.setdefault(node["parent"], []).append(node["id"])
    found = [top]
    for node in found:
        found.extend(children.get(node, ()))
    return found


def blame(logged: Iterable[tuple[int, dict, object]]) -> dict[str, int]:
    """For each field of one node, the seq of the op that last set it, from that node's
    ops newest first as (seq, op, anything); stops reading once every field is known."""
    found: dict[str, int] = {}
    for seq, op, _ in logged:
        kind = op["kind"]
        if kind == "node.update":
            names = op["set"]
        elif kind == "node.reparent":
            names = ("parent",)
        elif kind in ("node.create", "node.restore"):
            names = (*FIELDS, "parent")
        else:
            continue
        for name in names:
            found.setdefault(name, seq)
        if len(found) == len(FIELDS) + 1:
            break
    return found
