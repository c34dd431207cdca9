"""State changes of a map's history: an earlier state restored as new ops, and the op
log trimmed (with a checkpoint where the kept history now starts). Each map's change
is one transaction under the map's lock."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from collab import history, ops, queries
from collab.actions import Submission, ops_submit
from collab.errors import MapNotFound
from collab.models import Checkpoint, Mindmap, Node, Op


class HistoryGone(Exception):
    """A seq older than the history the map keeps (or ahead of the map)."""


def map_restore(*, map_id: int, team_id: int, actor_id: int, seq: int, top: str | None
                ) -> tuple[int, int]:
    """Make the map (or the subtree under `top`) look as it did right after op `seq`,
    as new ops by `actor_id`, all in one transaction under the map's lock, so everyone
    gets them as ordinary op events. Returns (the ops it took, the map's seq after: a big
    restore is one op logged in several slices); HistoryGone, or RestoreImpossible saying
    why (nothing applied)."""
    # The past never changes: rebuilt before the lock, so writers do not wait for it.
    past = queries.state_at(map_id=map_id, seq=seq)
    if past is None:
        raise HistoryGone(f"map {map_id} has no history at seq {seq}")
    with transaction.atomic():
        mindmap = Mindmap.objects.select_for_update(of=("self",)).filter(
            pk=map_id, team_id=team_id, is_deleted=False).first()
        if mindmap is None:
            raise MapNotFound(f"no map {map_id} in team {team_id}")
        rows = list(Node.objects.filter(map_id=map_id).values(
            *queries.NODE_FIELDS, "deleted_seq", "title_bytes", "body_bytes"))
        values = {node["id"]: node for node in map(queries.node_json, rows)}
        index = ops.TreeIndex.of(
            ((str(row["node_id"]), values[str(row["node_id"])]["parent"], row["deleted_seq"])
             for row in rows),
            live_count=mindmap.node_count, content_bytes=mindmap.content_bytes,
            sizes={str(row["node_id"]): (row["title_bytes"], row["body_bytes"])
                   for row in rows})
        planned = history.restore_ops(index=index, values=values, past=past, top=top)
        # No restore budget: all or nothing, and what it brings back is bounded by the
        # map's own limits (each node comes back at most once, and nothing is deleted
        # before the last restore).
        outcomes = ops_submit(map_id=map_id, team_id=team_id, submissions=[
            Submission(actor_id, str(uuid.uuid4()), op) for op in planned])
        for outcome in outcomes:
            if outcome.refused is not None:
                raise outcome.refused
            if outcome.rejected is not None:  # a limit of the map: all or nothing
                raise history.RestoreImpossible(outcome.rejected.detail)
    return len(planned), mindmap.seq + sum(len(outcome.events) for outcome in outcomes)


def ops_trim(*, keep_seconds: int, keep_count: int, dry_run: bool = False) -> dict[int, int]:
    """Delete ops both older than `keep_seconds` and not among a map's last `keep_count`.

    Returns {map_id: ops deleted}. Each map's trimmed_seq moves up in the same
    transaction, so a resync from before it gets a snapshot rather than a hole.
    """
    cutoff = timezone.now() - timedelta(seconds=keep_seconds)
    trimmed: dict[int, int] = {}
    candidates = (Op.objects.filter(created_at__lt=cutoff).values("map_id")
                  .annotate(newest_old=Max("seq")).values_list("map_id", "newest_old"))
    for map_id, newest_old in candidates:
        with transaction.atomic():
            mindmap = Mindmap.objects.select_for_update().get(pk=map_id)
            upto = min(newest_old, mindmap.seq - keep_count)
            if upto <= mindmap.trimmed_seq:
                continue
            doomed = Op.objects.filter(map=mindmap, seq__lte=upto)
            trimmed[map_id] = doomed.count()
            if not dry_run:  # the history then starts at `upto`
                nodes = queries.state_at(map_id=map_id, seq=upto)
                if nodes is not None:  # one may be there: a map trimmed before checkpoints
                    Checkpoint.objects.update_or_create(
                        map=mindmap, seq=upto, defaults={"nodes": list(nodes.values())})
                Checkpoint.objects.filter(map=mindmap, seq__lt=upto).delete()
                doomed.delete()
                mindmap.trimmed_seq = upto
                mindmap.save(update_fields=["trimmed_seq"])
    return trimmed
