"""State changes of teams, memberships and maps. Each is one transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from collab import batch_sql, op_fields, op_log, ops, queries
from collab.errors import MapNotFound, NotAMember
from collab.models import Checkpoint, Membership, Mindmap, Node, Team
from collab.node_rows import RowChanges
from project.accounts.actions import sockets_revoke
from project.accounts.models import User
from project.bulk_insert import insert_rows
from project.db_round_trips import run_together
from project.realtime import group_name, publish_on_commit
from project.ws_frames import CLOSE_NOT_A_MEMBER

ROOT_TITLE = "Central topic"


def owners_changed(*, user_ids: list[int]) -> None:
    """Tell the users' open sockets, after the commit, that the teams they own changed
    (their /ws/jobs/ follows the jobs of the teams they own)."""
    for user_id in user_ids:
        publish_on_commit(group_name("user", user_id), {"type": "user.teams",
                                                        "user": user_id})


def team_create(*, name: str, owner: User) -> Team:
    with transaction.atomic():
        team = Team.objects.create(name=name)
        Membership.objects.create(team=team, user=owner, role=Membership.Role.OWNER)
        owners_changed(user_ids=[owner.pk])
    return team


def membership_ensure(*, team: Team, user: User, role: str = Membership.Role.MEMBER
                      ) -> Membership:
    """Add `user` to `team` (idempotent); an existing membership keeps its role."""
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(team=team, user=user,
                                                               defaults={"role": role})
        if created and role == Membership.Role.OWNER:
            owners_changed(user_ids=[user.pk])
    return membership


def memberships_bulk_add(*, team: Team, roles: dict[int, str], new_users: bool = False) -> int:
    """Add users (id -> role) to `team` in bulk; existing memberships are left as they
    are (`new_users`: accounts created in this transaction, which have none to look
    for). Returns how many were added."""
    existing = set() if new_users else set(
        Membership.objects.filter(team=team, user_id__in_array=list(roles))
        .values_list("user_id", flat=True))
    now = timezone.now()
    added = [(team.pk, user_id, role, now) for user_id, role in roles.items()
             if user_id not in existing]
    # One added concurrently: IntegrityError, nothing added.
    insert_rows(Membership, ("team_id", "user_id", "role", "created_at"), added)
    owners_changed(user_ids=[user_id for _, user_id, role, _ in added
                             if role == Membership.Role.OWNER])
    return len(added)


def membership_remove(*, team: Team, user: User) -> bool:
    """Take `user` out of `team`; their sockets of that team close (4403) everywhere."""
    with transaction.atomic():
        removed, _ = Membership.objects.filter(team=team, user=user).delete()
        if removed:
            sockets_revoke(user_id=user.pk, team_id=team.pk, code=CLOSE_NOT_A_MEMBER)
    return bool(removed)


def map_create(*, team: Team, title: str, actor: User | None) -> Mindmap:
    """A new map always has its one root node, so no client ever sees an empty tree."""
    root_title = title or ROOT_TITLE
    with transaction.atomic():
        mindmap = Mindmap.objects.create(team=team, title=title, created_by=actor,
                                         content_bytes=op_fields.text_size(root_title))
        root = Node.objects.create(map=mindmap, node_id=uuid.uuid4(), parent_id=None,
                                   title=root_title, title_bytes=mindmap.content_bytes)
        Checkpoint.objects.create(map=mindmap, seq=0, nodes=[queries.node_json(
            {name: getattr(root, name) for name in queries.NODE_FIELDS})])
    return mindmap


@dataclass(frozen=True)
class Submission:
    actor_id: int
    op_id: object
    raw_op: object


@dataclass(frozen=True)
class OpOutcome:
    """What happened to one submitted op: its event (new or the original), or why not.

    `events` are the events a new op logged, in seq order: one, or a restore's slices
    (the first is `event`, with the op's own op_id); none for a resend. `restored_bytes`
    is at most what a new restore's nodes take in those events (op_log.restore_size).
    """

    event: dict | None = None
    new: bool = False
    rejected: op_fields.Rejected | None = None
    refused: Exception | None = None  # NotAMember or MapNotFound
    events: tuple[dict, ...] = ()
    restored_bytes: int = 0


def held_back(max_restore_bytes: int) -> op_fields.Rejected:
    """The answer to an op that waits for the next transaction: a restore past the
    transaction's budget, or a later op of the same sender (applied in order or not at
    all). `rate_limited`: the client keeps it and sends it again."""
    return op_fields.Rejected(
        "rate_limited", f"Not applied yet: the server restores at most {max_restore_bytes:,} "
        "bytes of nodes at a time, and this waits for the restore before it; send it again "
        "shortly.")


def slice_op_id(op_id: str, number: int) -> str:
    """The op_id of slice `number` (1, 2, ...) of the restore `op_id` (slice 0 keeps it):
    derived, so the same restore logs the same ids whoever sends it again, and keyed by
    the server's secret, so no client can compute it and log another op under it first
    (which would fail the restore at its last statement, after all its work under the
    map's lock, again at every resend)."""
    digest = salted_hmac("moa.collab.restore-slice", f"{op_id}:{number}",
                         algorithm="sha256").digest()
    return str(uuid.UUID(bytes=digest[:16], version=5))


def ops_submit(*, map_id: int, team_id: int, submissions: list[Submission],
               max_restore_bytes: int | None = None) -> list[OpOutcome]:
    """Validate, apply and log a batch of ops, in order, in one transaction.

    Under the map row's lock: each op is planned against the tree as the ops before
    it left it (node count and content bytes included, so no interleaving of writers
    can take a map past its limits), and the accepted ops, their effects, the map's
    seq and totals commit together,
    so seqs are gapless and events are published only after the commit (one channel
    message for the batch). An op_id already logged (or repeated in the batch) gets
    the original event and changes nothing. Group commit: under load a batch holds
    the ops that queued while the previous one committed, so the statements per op
    fall as the load rises.

    A restore is logged in slices when its nodes are too many for one event
    (op_log.restore_slices), all in this transaction. With `max_restore_bytes`, what one
    transaction restores is bounded (so a batch of restores cannot hold the lock for
    long): a restore that would take the transaction's restores past it, when it has
    restored something already, waits (`held_back`), and so do the later ops of its
    sender. The first restore always passes: it is bounded by the map's own limits.
    """
    outcomes: list[OpOutcome | None] = [None] * len(submissions)
    planned: list[tuple[int, dict, object]] = []  # (position, op, op uuid)
    for position, submission in enumerate(submissions):
        try:
            planned.append((position, ops.normalize(submission.raw_op),
                            op_fields.node_id(submission.op_id, "op_id")))
        except op_fields.Rejected as rejected:
            outcomes[position] = OpOutcome(rejected=rejected)
    with transaction.atomic():
        locked = batch_sql.lock_and_read(
            map_id=map_id, team_id=team_id,
            actors={submissions[position].actor_id for position, _, _ in planned},
            op_ids=[op_uuid for _, _, op_uuid in planned], ops=[op for _, op, _ in planned])
        if locked is None:
            missing = MapNotFound(f"no map {map_id} in team {team_id}")
            return [outcome or OpOutcome(refused=missing) for outcome in outcomes]
        seq, index, logged = locked.seq, locked.index, locked.logged
        rows = RowChanges()
        # (position, its logged rows (seq, op_id, actor, op), restored bytes)
        new_ops: list[tuple[int, list[tuple[int, str, int, dict]], int]] = []
        repeats: list[tuple[int, str]] = []
        restored, held = 0, set()  # held: senders whose ops wait for the next transaction
        for position, op, op_uuid in planned:
            actor = submissions[position].actor_id
            if actor not in locked.members:
                outcomes[position] = OpOutcome(refused=NotAMember(
                    f"user {actor} is not a member of team {team_id}"))
                continue
            if op_uuid in logged:
                repeats.append((position, op_uuid))  # answered once the original is saved
                continue
            if actor in held:
                outcomes[position] = OpOutcome(rejected=held_back(max_restore_bytes))
                continue
            try:
                effect = ops.plan(op, index, settings.COLLAB_MAX_NODES_PER_MAP,
                                  settings.COLLAB_MAX_CONTENT_BYTES_PER_MAP)
            except op_fields.Rejected as rejected:
                outcomes[position] = OpOutcome(rejected=rejected)
                continue
            size = op_log.restore_size(effect)
            if (max_restore_bytes is not None and restored and size
                    and restored + size > max_restore_bytes):
                held.add(actor)
                outcomes[position] = OpOutcome(rejected=held_back(max_restore_bytes))
                continue
            restored += size
            seq += 1
            index.apply(effect, seq)
            rows.add(effect, seq)
            logging = [op]
            if effect.kind == "node.restore":  # its events carry what it brought back
                logging = op_log.restore_slices(op["id"], rows.nodes(map_id, effect.subtree))
            made = []
            for number, logged_op in enumerate(logging):
                if number:  # the slices after the first: the next seqs
                    seq += 1
                made.append((seq, slice_op_id(op_uuid, number) if number else op_uuid,
                             actor, logged_op))
            logged[op_uuid] = None  # a repeat later in the batch: answered below
            new_ops.append((position, made, size))
        if new_ops:
            at = timezone.now()
            run_together(rows.statements(map_id, locked.pks) + batch_sql.log_ops(
                map_id=map_id, seq=seq, node_count=index.live_count,
                content_bytes=index.content_bytes,
                logged=[row for _, made, _ in new_ops for row in made], at=at))
            published = []
            for position, made, size in new_ops:
                events = tuple(queries.event(*row, at) for row in made)
                logged[made[0][1]] = events[0]
                published.extend(events)
                outcomes[position] = OpOutcome(event=events[0], new=True, events=events,
                                               restored_bytes=size)
            publish_on_commit(group_name("map", map_id),
                              {"type": "map.ops", "map": map_id, "events": published})
        for position, op_uuid in repeats:
            outcomes[position] = OpOutcome(event=logged[op_uuid])
    return outcomes


def op_submit(*, map_id: int, team_id: int, actor_id: int, op_id: str, raw_op: object
              ) -> tuple[dict, bool]:
    """One op (scripts, tests); raises Rejected, NotAMember or MapNotFound."""
    (outcome,) = ops_submit(map_id=map_id, team_id=team_id,
                            submissions=[Submission(actor_id, op_id, raw_op)])
    if outcome.rejected is not None:
        raise outcome.rejected
    if outcome.refused is not None:
        raise outcome.refused
    return outcome.event, outcome.new
