"""Reads of collab that more than one entry point needs (consumer, REST, hub)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction
from django.db.models import Case, Count, F, OuterRef, Q, Subquery, When
from django.db.models.functions import Lower

from collab import history, op_log
from collab.errors import MapNotFound
from collab.framing import ArrayParts, Snapshot
from collab.models import Checkpoint, Membership, Mindmap, Node, Op, Team
from project.ws_frames import encode, utf8_size

NODE_FIELDS = ("node_id", "parent_id", "title", "body", "x", "y", "color", "collapsed")
SNAPSHOT_CHUNK = 100  # rows fetched at a time when a whole map or log is read (4 MB at most)


def node_json(row: dict) -> dict:
    return {
        "id": str(row["node_id"]),
        "parent": str(row["parent_id"]) if row["parent_id"] else None,
        "title": row["title"], "body": row["body"], "x": row["x"], "y": row["y"],
        "color": row["color"], "collapsed": row["collapsed"],
    }


def op_event(op: Op) -> dict:
    return event(op.seq, op.op_id, op.actor_id, op.op, op.created_at)


def event(seq: int, op_id, actor_id: int | None, op: dict, at) -> dict:
    """A logged op's event (PROTOCOL.md), from its row's values."""
    return {"type": "op", "seq": seq, "op_id": str(op_id), "actor": actor_id, "op": op,
            "at": at.isoformat().replace("+00:00", "Z")}


def snapshot_nodes(map_id: int) -> Iterator[dict]:
    """The map's live nodes, read in chunks (a full map never sits in memory as rows)."""
    rows = (Node.objects.filter(map_id=map_id, deleted_seq__isnull=True)
            .order_by("pk").values(*NODE_FIELDS))
    return (node_json(row) for row in rows.iterator(chunk_size=SNAPSHOT_CHUNK))


def op_events(*, map_id: int, after: int, upto: int | None = None) -> list[dict]:
    ops = Op.objects.filter(map_id=map_id, seq__gt=after).order_by("seq")
    if upto is not None:
        ops = ops.filter(seq__lte=upto)
    return [op_event(op) for op in ops]


@contextmanager
def consistent_read() -> Iterator[None]:
    """One REPEATABLE READ transaction on PostgreSQL (when it is the outermost), so
    everything read in it is of one moment even while other ops commit."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield


def map_header(mindmap: Mindmap) -> dict:
    return {"id": mindmap.pk, "title": mindmap.title, "team": mindmap.team_id}


def live_map(map_id: int) -> Mindmap:
    mindmap = Mindmap.objects.filter(pk=map_id, is_deleted=False).first()
    if mindmap is None:
        raise MapNotFound(f"no map {map_id}")
    return mindmap


def map_snapshot(*, map_id: int) -> Snapshot:
    """The map's live nodes and the seq they are at, read in one consistent transaction
    and encoded once, in the parts frames carry (collab/framing.py)."""
    with consistent_read():
        mindmap = live_map(map_id)
        parts = ArrayParts()
        for node in snapshot_nodes(map_id):
            parts.add(encode(node))
        return Snapshot(map_header(mindmap), mindmap.seq, parts.finish(), parts.size)


def replay_events(*, map_id: int, since: int, max_replay: int, max_bytes: int
                  ) -> tuple[dict, int, list[str]] | None:
    """The map and its op events after `since` up to its seq, encoded, read in one
    consistent transaction; None when a snapshot must be sent instead: `since` older
    than the trimmed log, further back than `max_replay` ops, ahead of the map, or
    events taking more than `max_bytes` (read no further than that)."""
    with consistent_read():
        mindmap = live_map(map_id)
        if not (mindmap.trimmed_seq <= since <= mindmap.seq
                and mindmap.seq - since <= max_replay):
            return None
        events, size = [], 0
        ops = Op.objects.filter(map_id=map_id, seq__gt=since, seq__lte=mindmap.seq)
        for op in ops.order_by("seq").iterator(chunk_size=SNAPSHOT_CHUNK):
            events.append(encode(op_event(op)))
            size += utf8_size(events[-1]) + 1
            if size > max_bytes:
                return None
        return map_header(mindmap), mindmap.seq, events


def map_seqs(map_ids: list[int]) -> dict[int, int]:
    return dict(Mindmap.objects.filter(pk__in=map_ids).values_list("pk", "seq"))


def teams_of(user_id: int, team_id: int | None = None) -> list[dict]:
    """The user's live teams (or only `team_id`) with their first owner and member
    count, deleted accounts left out as members_of leaves them: one query."""
    live = Membership.objects.filter(team=OuterRef("pk"), user__is_deleted=False)
    owners = live.filter(role=Membership.Role.OWNER).order_by("created_at", "pk")
    counts = live.order_by().values("team").annotate(n=Count("pk")).values("n")
    teams = (Team.objects.filter(memberships__user_id=user_id, is_deleted=False)
             .annotate(member_count=Subquery(counts),
                       owner_id=Subquery(owners.values("user_id")[:1]),
                       owner_username=Subquery(owners.values("user__username")[:1]),
                       role=F("memberships__role"))
             .order_by("name", "pk"))
    if team_id is not None:
        teams = teams.filter(pk=team_id)
    return [{"id": team.pk, "name": team.name, "role": team.role,
             "member_count": team.member_count,
             "owner": {"id": team.owner_id, "username": team.owner_username},
             "created_at": team.created_at} for team in teams]


def maps_of(team_id: int) -> list[dict]:
    maps = (Mindmap.objects.filter(team_id=team_id, is_deleted=False)
            .select_related("created_by").order_by("-created_at", "-pk"))
    return [map_json(mindmap) for mindmap in maps]


def deleted_maps_of(*, team_id: int, user_id: int, owner: bool) -> list[dict]:
    """The team's deleted maps the user may restore (all of them for an owner, else
    those the user created), most recently deleted first, one query."""
    maps = (Mindmap.objects.filter(team_id=team_id, is_deleted=True)
            .select_related("created_by").order_by("-deleted_at", "-pk"))
    if not owner:
        maps = maps.filter(created_by_id=user_id)
    return [{**map_json(mindmap), "deleted_at": mindmap.deleted_at} for mindmap in maps]


def members_of(*, team_id: int, offset: int, limit: int) -> tuple[list[dict], int]:
    """A page of the team's members, owners first, then by username; and how many
    members the team has. Two queries whatever the page's size. Deleted accounts are
    left out: they cannot act, and their name may be someone else's now (their
    membership comes back with them if they are restored)."""
    memberships = Membership.objects.filter(team_id=team_id, user__is_deleted=False)
    rows = (memberships.select_related("user")
            .order_by(Case(When(role=Membership.Role.OWNER, then=0), default=1),
                      Lower("user__username"), "user_id")
            [offset:offset + limit])
    return [member_json(row) for row in rows], memberships.count()


def member_json(membership: Membership) -> dict:
    user = membership.user
    return {"id": user.pk, "username": user.username, "name": user.name,
            "role": membership.role, "joined": membership.created_at}


def map_json(mindmap: Mindmap) -> dict:
    creator = mindmap.created_by
    return {"id": mindmap.pk, "team": mindmap.team_id, "title": mindmap.title,
            "seq": mindmap.seq, "node_count": mindmap.node_count,
            "created_at": mindmap.created_at,
            "created_by": {"id": creator.pk, "name": creator.name} if creator else None}


# --- history ---------------------------------------------------------------------------

MAX_HISTORY_PAGE_BYTES = 1024 * 1024

def oldest_seq(map_id: int) -> int | None:
    """The earliest seq the map can be seen at (its oldest checkpoint)."""
    return (Checkpoint.objects.filter(map_id=map_id).order_by("seq")
            .values_list("seq", flat=True).first())


def state_at(*, map_id: int, seq: int) -> dict[str, dict] | None:
    """The map's live nodes right after op `seq`, by id: the latest checkpoint at or
    before it and the logged ops after it, read in one consistent transaction; None when
    `seq` is older than the history or ahead of the map."""
    with consistent_read():  # a trim committing meanwhile cannot take ops from under it
        if seq > Mindmap.objects.filter(pk=map_id).values_list("seq", flat=True).get():
            return None
        checkpoint = (Checkpoint.objects.filter(map_id=map_id, seq__lte=seq).order_by("-seq")
                      .first())
        if checkpoint is None:
            return None
        state = op_log.Replay(checkpoint.nodes)
        logged = (Op.objects.filter(map_id=map_id, seq__gt=checkpoint.seq, seq__lte=seq)
                  .order_by("seq").values_list("op", flat=True))
        for op in logged.iterator(chunk_size=SNAPSHOT_CHUNK):
            state.apply(op)
        return state.nodes


def history_events(*, map_id: int, before: int | None, limit: int,
                   node: str | None = None) -> list[dict]:
    """The map's ops newest first (those before `before`; with `node`, those naming
    it), each with its actor and the title its node has now (or had when deleted), and a
    delete with `removed`, how many of the nodes it took are still deleted: at most four
    queries whatever their number. A page ends early past MAX_HISTORY_PAGE_BYTES of ops
    (restores carry their nodes): fewer than `limit` events do not mean the end."""
    logged = Op.objects.filter(map_id=map_id).select_related("actor").order_by("-seq")
    if before is not None:
        logged = logged.filter(seq__lt=before)
    if node is not None:
        logged = logged.filter(Q(op__id=node) | Q(op__node__id=node))
    rows, size = [], 0
    for row in logged[:limit].iterator(chunk_size=20):  # a restore's op may take 200 KB
        rows.append(row)
        size += utf8_size(encode(row.op))
        if size > MAX_HISTORY_PAGE_BYTES:
            break
    named = {op_node(row.op) for row in rows}
    titles = {str(node_id): title for node_id, title in Node.objects.filter(
        map_id=map_id, node_id__in=named).values_list("node_id", "title")}
    deletes = [row.seq for row in rows if row.op["kind"] == "node.delete"]
    # A delete's tombstones keep its seq until a restore brings them back.
    removed = dict(Node.objects.filter(map_id=map_id, deleted_seq__in=deletes)
                   .values("deleted_seq").annotate(count=Count("pk"))
                   .values_list("deleted_seq", "count")) if deletes else {}
    return [{**op_event(row), "title": titles.get(op_node(row.op), ""),
             "actor": {"id": row.actor.pk, "name": row.actor.name} if row.actor else None,
             **({"removed": removed.get(row.seq, 0)} if row.op["kind"] == "node.delete" else {})}
            for row in rows]


def op_node(op: dict) -> str:
    """The node an op is about."""
    return op["node"]["id"] if op["kind"] == "node.create" else op["id"]


def node_ops(*, map_id: int, node: str) -> Iterator[tuple[int, dict, object]]:
    """(seq, op, created_at) of the ops naming `node`, newest first, read in chunks."""
    logged = (Op.objects.filter(map_id=map_id).filter(Q(op__id=node) | Q(op__node__id=node))
              .order_by("-seq").values_list("seq", "op", "created_at"))
    return logged.iterator(chunk_size=SNAPSHOT_CHUNK)


def node_blame(*, map_id: int, node: str) -> dict[str, dict]:
    """Who last set each field of `node` ({field: {seq, at, actor}}): one pass over its
    ops, newest first, stopping once every field is known, and one query for them."""
    seqs = history.blame(node_ops(map_id=map_id, node=node))
    found = {op.seq: op for op in Op.objects.filter(map_id=map_id, seq__in=set(seqs.values()))
             .select_related("actor")}
    return {name: {"seq": seq, "at": op_event(found[seq])["at"],
                   "actor": {"id": found[seq].actor.pk, "name": found[seq].actor.name}
                   if found[seq].actor else None}
            for name, seq in seqs.items()}
