"""The statements of a batch of ops (actions.ops_submit), written out and sent together.

Through the ORM a batch of one op was ten statements, each built anew and each a round
trip on the process's one database thread: most of the 5 ms of web-process CPU an op
cost, and the wall time of ten round trips. Here a batch's reads go in one round trip
after the map's lock (statements sent together run in order, each seeing what the lock
let through: project/db_round_trips.py) and its writes in another (collab/node_rows.py
and `log_ops`), before the commit. Values go through each field's own conversions, so
what is stored and read is what the ORM would store and read, on SQLite too.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

from collab import queries
from collab.models import Node, Op
from collab.ops import TreeIndex
from project.db_round_trips import converter, run_together
from project.db_waits import bound_waits_statement

LOCK_SECONDS = 5  # a process stalled holding a map's lock must not freeze the map
NODE_COLUMNS = ("id", "node_id", "parent_id", "deleted_seq", "title_bytes", "body_bytes")
LOGGED_COLUMNS = ("seq", "op_id", "actor_id", "op", "created_at")


@dataclass
class Locked:
    """What a batch is planned against, read under the map's lock: the map's seq and
    totals, which actors are members, the events of op_ids already logged, the part of
    the tree the ops need (collab.ops.TreeIndex) and the primary keys of its rows."""

    seq: int
    members: set[int]
    logged: dict[str, dict]
    index: TreeIndex
    pks: dict[str, int]


def marks(values) -> str:
    return ", ".join(["%s"] * len(values))


def prepared(model, name: str, values) -> list:
    """Values of a field as the database takes them (SQLite keeps UUIDs as hex...)."""
    field = model._meta.get_field(name)
    return [field.get_db_prep_save(value, connection) for value in values]


def lock_and_read(*, map_id: int, team_id: int, actors: set[int], op_ids: list[str],
                  ops: list[dict]) -> Locked | None:
    """Lock the map's row and read what the batch needs, in one round trip; None when
    the map (or its team) is gone. Other writers of the map wait for this transaction;
    one that waits past LOCK_SECONDS gives up (OperationalError) and its clients resend."""
    lock_of = " FOR UPDATE OF m" if connection.features.has_select_for_update_of else ""
    waits = bound_waits_statement(lock_seconds=LOCK_SECONDS)
    statements = [waits] if waits else []
    statements.append((
        "SELECT m.seq, m.node_count, m.content_bytes FROM collab_mindmap m "
        "JOIN collab_team t ON t.id = m.team_id WHERE m.id = %s AND m.team_id = %s "
        f"AND NOT m.is_deleted AND NOT t.is_deleted{lock_of}", [map_id, team_id]))
    if actors:
        statements.append(("SELECT user_id FROM collab_membership WHERE team_id = %s AND "
                           f"user_id IN ({marks(actors)})", [team_id, *actors]))
    if op_ids:
        statements.append((f"SELECT {', '.join(LOGGED_COLUMNS)} FROM collab_op WHERE "
                           f"map_id = %s AND op_id IN ({marks(op_ids)})",
                           [map_id, *prepared(Op, "op_id", op_ids)]))
    if ops:
        statements.append(tree_rows(map_id, ops))
    found = run_together(statements)[1 if waits else 0:]
    if not found[0]:
        return None
    (seq, node_count, content_bytes), = found[0]
    found = found[1:]
    members = {user for (user,) in found.pop(0)} if actors else set()
    logged = {}
    if op_ids:
        convert = converter(Op, LOGGED_COLUMNS)
        for row in found.pop(0):
            seq_, op_id, actor_id, op, at = convert(row)
            logged[str(op_id)] = queries.event(seq_, op_id, actor_id, op, at)
    rows = []
    if ops:
        convert = converter(Node, NODE_COLUMNS)
        for row in found.pop(0):
            pk, node, parent, deleted, title_bytes, body_bytes = convert(row)
            rows.append((pk, str(node), str(parent) if parent else None, deleted,
                         (title_bytes, body_bytes)))
    index = TreeIndex.of((row[1:4] for row in rows), live_count=node_count,
                         sizes={row[1]: row[4] for row in rows}, content_bytes=content_bytes)
    return Locked(seq, members, logged, index, {row[1]: row[0] for row in rows})


def tree_rows(map_id: int, ops: list[dict]) -> tuple[str, list]:
    """The statement reading the part of a map's tree a batch of ops needs: the nodes
    they name (with their text sizes), or every live node when one of them changes the
    structure (reparent, delete, restore) and the tombstones a restore brings back."""
    named: set[str] = set()
    for op in ops:
        if op["kind"] == "node.create":
            named.update((op["node"]["id"], op["node"]["parent"]))
        else:
            named.update((op["id"], op.get("parent", op["id"])))
    named_ids = prepared(Node, "node_id", sorted(named))
    which = f"node_id IN ({marks(named_ids)})"
    params: list = [map_id, *named_ids]
    restored = prepared(Node, "node_id", [op["id"] for op in ops
                                          if op["kind"] == "node.restore"])
    if restored:
        which = (f"(deleted_seq IS NULL OR {which} OR deleted_seq IN (SELECT deleted_seq "
                 "FROM collab_node WHERE map_id = %s AND deleted_seq IS NOT NULL AND "
                 f"node_id IN ({marks(restored)})))")
        params += [map_id, *restored]
    elif any(op["kind"] in ("node.reparent", "node.delete") for op in ops):
        which = f"(deleted_seq IS NULL OR {which})"
    return (f"SELECT {', '.join(NODE_COLUMNS)} FROM collab_node WHERE map_id = %s "
            f"AND {which}", params)


def log_ops(*, map_id: int, seq: int, node_count: int, content_bytes: int,
            logged: list[tuple[int, str, int, dict]], at) -> list[tuple[str, list]]:
    """The statements advancing the map's seq and totals and logging its new ops,
    (seq, op_id, actor, op) each, all at `at`: two whatever their number."""
    [at_value] = prepared(Op, "created_at", [at])
    values = []
    for (seq_, _, actor, _), op_id, op in zip(
            logged, prepared(Op, "op_id", [row[1] for row in logged]),
            prepared(Op, "op", [row[3] for row in logged]), strict=True):
        values += [map_id, seq_, op_id, actor, op, at_value]
    rows = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(logged))
    return [("UPDATE collab_mindmap SET seq = %s, node_count = %s, content_bytes = %s "
             "WHERE id = %s", [seq, node_count, content_bytes, map_id]),
            ("INSERT INTO collab_op (map_id, seq, op_id, actor_id, op, created_at) "
             f"VALUES {rows}", values)]
