"""The mindmap op rules, as plain functions: no Django, no I/O, no clock.

`normalize` checks an op's shape and values and returns its canonical form (the form
stored in the log and broadcast). `plan` checks it against the tree and says what it
changes. `apply` runs both on a full node table: the server, every client and the
convergence tests replay the same rules. Rules: last writer wins per field, in seq
order; ops on a deleted or unknown node are `gone`; a reparent under its own subtree
is a `cycle`; the root can be neither deleted nor reparented. A deleted node stays as a
tombstone that remembers the seq of the delete: `node.restore` brings it back, with
every node that delete took under it, same ids and values (undo of a delete).

The log holds each accepted op in canonical form; a restore's logged form carries the
nodes it brought back (in slices when they are many), so a state can be rebuilt from the
log alone, without tombstones: collab/op_log.py.

A map is bounded twice: by its live nodes and by its content, the bytes its titles and
bodies take in a frame (`text_size`). An op that would pass the content limit is
`too_large`; an op that shrinks the content is always accepted, so a map that is full
(or was filled before the limit existed) can always be trimmed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from collab.op_fields import (
    EDITABLE,
    NODE_DEFAULTS,
    Rejected,
    field_value,
    invalid,
    node_id,
    text_size,
)

KINDS = ("node.create", "node.update", "node.reparent", "node.delete", "node.restore")
OP_KEYS = {
    "node.create": {"kind", "node"},
    "node.update": {"kind", "id", "set"},
    "node.reparent": {"kind", "id", "parent"},
    "node.delete": {"kind", "id"},
    "node.restore": {"kind", "id"},
}


def _names(keys: set[str]) -> str:
    """Keys a client sent, fit to quote back: escaped (a lone surrogate cannot be sent
    in a frame) and bounded."""
    return ", ".join(ascii(key)[:40] for key in sorted(keys)[:10])


def normalize(raw: object) -> dict:
    """The canonical form of a client op, or Rejected('invalid') saying what is wrong."""
    if not isinstance(raw, dict):
        raise invalid("op must be an object")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise invalid(f"kind must be one of {', '.join(KINDS)}")
    unknown = set(raw) - OP_KEYS[kind]
    if unknown:
        raise invalid(f"unknown field(s) in {kind}: {_names(unknown)}")
    if kind == "node.create":
        node = raw.get("node")
        if not isinstance(node, dict):
            raise invalid("node.create needs a node object")
        extra = set(node) - {"id", "parent", *EDITABLE}
        if extra:
            raise invalid(f"unknown node field(s): {_names(extra)}")
        if node.get("parent") is None:
            raise invalid("a new node needs a parent (a map has one root)")
        values = {name: field_value(name, node[name]) if name in node else default
                  for name, default in NODE_DEFAULTS.items()}
        return {"kind": kind, "node": {"id": node_id(node.get("id")),
                                       "parent": node_id(node["parent"], "parent"), **values}}
    op_id = node_id(raw.get("id"))
    if kind == "node.update":
        changes = raw.get("set")
        if not isinstance(changes, dict) or not changes:
            raise invalid("node.update needs a non-empty set object")
        return {"kind": kind, "id": op_id,
                "set": {name: field_value(name, value) for name, value in changes.items()}}
    if kind == "node.reparent":
        parent = node_id(raw.get("parent"), "parent")
        if parent == op_id:
            raise Rejected("cycle", "a node cannot be its own parent")
        return {"kind": kind, "id": op_id, "parent": parent}
    return {"kind": kind, "id": op_id}


# --- against the tree ---------------------------------------------------------------------

@dataclass
class TreeIndex:
    """What `plan` needs to know of a tree: parents of live nodes, tombstones (with their
    parent and the seq of the delete that made them), the root, the text sizes (title,
    body) of the nodes it knows and the map's totals.

    It may be partial (only the nodes an op names) for create and update; reparent,
    delete and restore need every live node, and a restore the tombstones of its delete.
    """

    parents: dict[str, str | None]
    tombs: dict[str, tuple[str | None, int]] = field(default_factory=dict)
    live_count: int = 0
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)
    content_bytes: int = 0

    @classmethod
    def of(cls, rows: Iterable[tuple[str, str | None, int | None]],
           live_count: int | None = None, sizes: dict[str, tuple[int, int]] | None = None,
           content_bytes: int = 0) -> TreeIndex:
        """From (node, parent, deleted_seq) rows; deleted_seq None for a live node."""
        parents: dict[str, str | None] = {}
        tombs: dict[str, tuple[str | None, int]] = {}
        for node, parent, deleted_seq in rows:
            if deleted_seq is None:
                parents[node] = parent
            else:
                tombs[node] = (parent, deleted_seq)
        return cls(parents, tombs, len(parents) if live_count is None else live_count,
                   {node: size for node, size in (sizes or {}).items()
                    if node in parents or node in tombs},
                   content_bytes)

    def require_live(self, node: str, what: str = "node") -> None:
        if node not in self.parents:
            reason = "was deleted" if node in self.tombs else "does not exist"
            raise Rejected("gone", f"{what} {node} {reason}")

    def apply(self, effect: Effect, seq: int) -> None:
        """Follow an effect accepted at `seq`, so the next op of a batch is planned
        against it."""
        if effect.kind == "node.create":
            self.parents[effect.id] = effect.values["parent"]
            self.live_count += 1
        elif effect.kind == "node.reparent":
            self.parents[effect.id] = effect.values["parent"]
        elif effect.kind == "node.delete":
            for node in effect.subtree:
                self.tombs[node] = (self.parents.pop(node), seq)
            self.live_count -= len(effect.subtree)
        elif effect.kind == "node.restore":
            for node in effect.subtree:
                self.parents[node] = self.tombs.pop(node)[0]
            self.live_count += len(effect.subtree)
        if effect.size is not None:
            self.sizes[effect.id] = effect.size
        self.content_bytes += effect.grows

    def subtree(self, top: str) -> list[str]:
        """`top` and every live node under it, parents before children."""
        return _walk(top, self.parents.items())

    def buried_with(self, top: str) -> list[str]:
        """The tombstone `top` and those its delete took under it, parents first."""
        when = self.tombs[top][1]
        return _walk(top, ((node, parent) for node, (parent, seq) in self.tombs.items()
                           if seq == when))


def _walk(top: str, edges: Iterable[tuple[str, str | None]]) -> list[str]:
    """Breadth-first from `top` over (node, parent) edges: parents before children.
    Terminates on any input (each node is visited once)."""
    children: dict[str | None, list[str]] = {}
    for node, parent in edges:
        children.setdefault(parent, []).append(node)
    return breadth_first(top, children)


def breadth_first(top: str, children: Mapping[str | None, Iterable[str]]) -> list[str]:
    """`top` and the nodes under it in a children index {parent: children}, breadth-first:
    parents before children, each node once (whatever cycles the index holds)."""
    found, seen = [top], {top}
    for node in found:
        for child in children.get(node, ()):
            if child not in seen:
                seen.add(child)
                found.append(child)
    return found


@dataclass(frozen=True)
class Effect:
    """What an accepted op changes, for the database write and for `apply`.

    `size` is the node's new (title, body) text size when the op sets either; `grows`
    is what the op adds to the map's content bytes (negative for a delete); `subtree`
    the nodes a delete removes or a restore brings back, parents first.
    """

    kind: str
    id: str
    values: dict = field(default_factory=dict)
    subtree: tuple[str, ...] = ()
    size: tuple[int, int] | None = None
    grows: int = 0


def full_map(content_bytes: int, max_content_bytes: int) -> Rejected:
    return Rejected(
        "too_large",
        f"This map is full: its titles and notes would take {content_bytes:,} bytes, over "
        f"its limit of {max_content_bytes:,}. Shorten or delete some notes (or move part "
        f"of the map to a new one) and try again.")


def plan(op: dict, index: TreeIndex, max_nodes: int, max_content_bytes: int | None = None
         ) -> Effect:
    """Check a normalized op against the tree; Rejected says why it cannot apply.

    With `max_content_bytes`, an op that would take the map's content past it is
    `too_large`; one that shrinks or keeps the content always passes that check.
    """
    effect = _plan(op, index, max_nodes)
    if (max_content_bytes is not None and effect.grows > 0
            and index.content_bytes + effect.grows > max_content_bytes):
        raise full_map(index.content_bytes + effect.grows, max_content_bytes)
    return effect


def _plan(op: dict, index: TreeIndex, max_nodes: int) -> Effect:
    kind = op["kind"]
    if kind == "node.restore":
        return _plan_restore(op["id"], index, max_nodes)
    if kind == "node.create":
        node = op["node"]
        if node["id"] in index.parents or node["id"] in index.tombs:
            raise Rejected("conflict", f"node {node['id']} already exists")
        index.require_live(node["parent"], "parent")
        if index.live_count >= max_nodes:
            raise invalid(f"a map holds at most {max_nodes} nodes")
        size = (text_size(node["title"]), text_size(node["body"]))
        return Effect(kind, node["id"], values={k: v for k, v in node.items() if k != "id"},
                      size=size, grows=sum(size))
    target = op["id"]
    index.require_live(target)
    if kind == "node.update":
        changes = op["set"]
        if "title" not in changes and "body" not in changes:
            return Effect(kind, target, values=dict(changes))
        old = index.sizes[target]
        size = (text_size(changes["title"]) if "title" in changes else old[0],
                text_size(changes["body"]) if "body" in changes else old[1])
        return Effect(kind, target, values=dict(changes), size=size,
                      grows=sum(size) - sum(old))
    if index.parents[target] is None:
        raise invalid("the root cannot be moved or deleted")
    if kind == "node.delete":
        doomed = tuple(index.subtree(target))
        return Effect(kind, target, subtree=doomed,
                      grows=-sum(sum(index.sizes[node]) for node in doomed))
    parent = op["parent"]
    index.require_live(parent, "parent")
    ancestor: str | None = parent
    while ancestor is not None:
        if ancestor == target:
            raise Rejected("cycle", "a node cannot move under its own subtree")
        ancestor = index.parents.get(ancestor)
    return Effect(kind, target, values={"parent": parent})


def _plan_restore(target: str, index: TreeIndex, max_nodes: int) -> Effect:
    if target in index.parents:
        raise Rejected("conflict", f"node {target} is not deleted")
    if target not in index.tombs:
        raise Rejected("gone", f"node {target} does not exist")
    index.require_live(index.tombs[target][0], "its parent")
    back = tuple(index.buried_with(target))
    if index.live_count + len(back) > max_nodes:
        raise invalid(f"a map holds at most {max_nodes} nodes")
    grows = sum(sum(index.sizes[node]) for node in back)
    return Effect("node.restore", target, subtree=back, grows=grows)


def apply_effect(nodes: dict[str, dict], effect: Effect) -> None:
    """Apply a planned effect to a node table {id: node} (deleted nodes are removed;
    a restore needs the logged op's nodes: see `replay`)."""
    if effect.kind == "node.create":
        nodes[effect.id] = {"id": effect.id, **effect.values}
    elif effect.kind == "node.delete":
        for node in effect.subtree:
            nodes.pop(node, None)
    else:
        nodes[effect.id].update(effect.values)


def apply(nodes: dict[str, dict], op: dict, max_nodes: int = 10**9,
          max_content_bytes: int | None = None) -> None:
    """Apply a normalized op to a full node table, by the server's own rules."""
    sizes = {node["id"]: (text_size(node["title"]), text_size(node["body"]))
             for node in nodes.values()}
    index = TreeIndex.of(((node["id"], node["parent"], None) for node in nodes.values()),
                         sizes=sizes, content_bytes=sum(map(sum, sizes.values())))
    apply_effect(nodes, plan(op, index, max_nodes, max_content_bytes))
