"""State changes of teams, memberships and maps. Each is one transaction."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import transaction

from collab import ops, queries
from collab.errors import MapNotFound
from collab.models import Membership, Mindmap, Node, Op, Team
from project.accounts.actions import sockets_revoke
from project.accounts.models import User
from project.realtime import group_name, publish_on_commit
from project.ws_frames import CLOSE_NOT_A_MEMBER

ROOT_TITLE = "Central topic"


def team_create(*, name: str, owner: User) -> Team:
    with transaction.atomic():
        team = Team.objects.create(name=name)
        Membership.objects.create(team=team, user=owner, role=Membership.Role.OWNER)
    return team


def membership_ensure(*, team: Team, user: User, role: str = Membership.Role.MEMBER
                      ) -> Membership:
    """Add `user` to `team` (idempotent); an existing membership keeps its role."""
    membership, _ = Membership.objects.get_or_create(team=team, user=user,
                                                     defaults={"role": role})
    return membership


def membership_remove(*, team: Team, user: User) -> bool:
    """Take `user` out of `team`; their sockets of that team close (4403) everywhere."""
    with transaction.atomic():
        removed, _ = Membership.objects.filter(team=team, user=user).delete()
        if removed:
            sockets_revoke(user_id=user.pk, team_id=team.pk, code=CLOSE_NOT_A_MEMBER)
    return bool(removed)


def map_create(*, team: Team, title: str, actor: User | None) -> Mindmap:
    """A new map always has its one root node, so no client ever sees an empty tree."""
    with transaction.atomic():
        mindmap = Mindmap.objects.create(team=team, title=title, created_by=actor)
        Node.objects.create(map=mindmap, node_id=uuid.uuid4(), parent_id=None,
                            title=title or ROOT_TITLE)
    return mindmap


def op_submit(*, map_id: int, team_id: int, actor_id: int, op_id: str, raw_op: object
              ) -> tuple[dict, bool]:
    """Validate, apply and log one op; return (its op event, whether it is new).

    One transaction under the map row's lock: the op, its effect on the nodes and the
    map's next seq commit together, so seqs are gapless and an event is only ever
    published after its commit. The same op_id again returns the original event and
    changes nothing. Raises OpRejected, NotAMember or MapNotFound.
    """
    op = ops.normalize(raw_op)
    op_uuid = ops.node_id(op_id, "op_id")
    with transaction.atomic():
        queries.role_in_team(user_id=actor_id, team_id=team_id)
        mindmap = (Mindmap.objects.select_for_update()
                   .filter(pk=map_id, team_id=team_id, is_deleted=False).first())
        if mindmap is None:
            raise MapNotFound(f"no map {map_id} in team {team_id}")
        existing = Op.objects.filter(map_id=map_id, op_id=op_uuid).first()
        if existing is not None:
            return queries.op_event(existing), False
        index = queries.tree_index(map_id=map_id, op=op, live_count=mindmap.node_count)
        effect = ops.plan(op, index, settings.COLLAB_MAX_NODES_PER_MAP)
        seq = mindmap.seq + 1
        _write_effect(mindmap, effect, seq)
        mindmap.seq = seq
        mindmap.save(update_fields=["seq", "node_count"])
        logged = Op.objects.create(map=mindmap, seq=seq, op_id=op_uuid, actor_id=actor_id,
                                   op=op)
        event = queries.op_event(logged)
        publish_on_commit(group_name("map", map_id),
                          {"type": "map.op", "map": map_id, "event": event})
    return event, True


def _write_effect(mindmap: Mindmap, effect: ops.Effect, seq: int) -> None:
    nodes = Node.objects.filter(map=mindmap)
    if effect.kind == "node.create":
        values = dict(effect.values)
        Node.objects.create(map=mindmap, node_id=effect.id, parent_id=values.pop("parent"),
                            **values)
        mindmap.node_count += 1
    elif effect.kind == "node.delete":
        nodes.filter(node_id__in=effect.deleted).update(deleted_seq=seq)
        mindmap.node_count -= len(effect.deleted)
    elif effect.kind == "node.reparent":
        nodes.filter(node_id=effect.id).update(parent_id=effect.values["parent"])
    else:
        nodes.filter(node_id=effect.id).update(**effect.values)
