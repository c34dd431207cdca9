"""Managing a team: members' roles, removals and leaving, the team's deletion, and the
renaming, deletion and restoring of its maps. Each action is one transaction.

Who may do what (docs/protocol.md, "REST: managing a team"):
- owners change roles, remove members and delete the team; any member may leave;
- owners and a map's creator (while a member) rename, delete and restore the map;
- a team always keeps an owner: its last owner cannot leave, be removed or be demoted
  (LastOwner, 409); only owners who can act count, and no owner may go while no other
  one can act (a deleted or deactivated owner is no owner, but is not taken away
  either: they may come back);
- `actor_id=None` is an operator in the ops console (the admin lets in staff only):
  they act with an owner's rights on any team, under the same rules and side effects,
  and alone may bring a deleted team back (`team_undelete`).

The last-owner rule holds under concurrency because every action that may take an
owner away first locks the team's owner memberships (SELECT ... FOR UPDATE, in primary
key order, so two such transactions never deadlock). A second transaction waits for the
first; PostgreSQL then re-reads the rows it waited for and drops those that are no
longer owners, so it counts the owners as they are after the first commits: two last
owners demoting each other (or themselves) at once leave one owner, never none.

Closing sockets waits for the commit: a removed member's sockets of the team close with
4403 (collab.actions.membership_remove), a deleted map's with 4404 (`map.closed`, which
each process's hub applies to its sockets of that map), and so do those of every map of
a deleted team.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from collab import access
from collab.actions import membership_remove, owners_changed
from collab.errors import (
    LastOwner,
    MapNotFound,
    MemberNotFound,
    NotAnOwner,
    NotMapManager,
    TeamNotFound,
)
from collab.models import Membership, Mindmap, Team
from project.realtime import group_name, publish_on_commit
from project.ws_frames import CLOSE_NOT_FOUND

OWNER = Membership.Role.OWNER


def locked_owners(team_id: int) -> set[int]:
    """The user ids of the team's owners who can act (accounts neither deleted nor
    deactivated: a deleted owner would otherwise let the last real one step down),
    their memberships locked until the commit."""
    return set(Membership.objects.select_for_update(of=("self",))
               .filter(team_id=team_id, role=OWNER, user__is_deleted=False,
                       user__is_active=True).order_by("pk")
               .values_list("user_id", flat=True))


def actor_role(*, team_id: int, actor_id: int | None, owners: set[int]) -> str:
    """The actor's role (an operator's is an owner's), with the team's owners already
    locked; TeamNotFound, NotAMember."""
    if not Team.objects.filter(pk=team_id, is_deleted=False).exists():
        raise TeamNotFound(f"no team {team_id}")
    if actor_id is None or actor_id in owners:
        return OWNER
    return access.role_in_team(user_id=actor_id, team_id=team_id)


def target_membership(*, team_id: int, user_id: int) -> Membership:
    membership = (Membership.objects.select_for_update(of=("self",))
                  .select_related("team", "user").filter(team_id=team_id, user_id=user_id).first())
    if membership is None:
        raise MemberNotFound(f"user {user_id} is not a member of team {team_id}")
    return membership


def maps_close(map_ids: list[int]) -> None:
    """After the commit, close every socket of these maps, on every instance (4404)."""
    for map_id in map_ids:
        publish_on_commit(group_name("map", map_id), {"type": "map.closed", "map": map_id,
                                                      "code": CLOSE_NOT_FOUND})


def membership_role_change(*, team_id: int, actor_id: int | None, user_id: int, role: str | None
                           ) -> Membership:
    """Set a member's role (owners only; None changes nothing); LastOwner when it would
    leave no owner."""
    with transaction.atomic():
        owners = locked_owners(team_id)
        if actor_role(team_id=team_id, actor_id=actor_id, owners=owners) != OWNER:
            raise NotAnOwner(f"user {actor_id} is not an owner of team {team_id}")
        membership = target_membership(team_id=team_id, user_id=user_id)
        if role is None or membership.role == role:
            return membership
        if membership.role == OWNER and not owners - {user_id}:
            raise LastOwner(f"user {user_id} is the last owner of team {team_id}")
        membership.role = role
        membership.save(update_fields=["role"])
        owners_changed(user_ids=[user_id])
    return membership


def membership_end(*, team_id: int, actor_id: int | None, user_id: int) -> None:
    """Take a member out of the team: owners remove anyone, a member leaves (their own
    id). Their sockets of the team close (4403). LastOwner for the last owner."""
    with transaction.atomic():
        owners = locked_owners(team_id)
        role = actor_role(team_id=team_id, actor_id=actor_id, owners=owners)
        if user_id != actor_id and role != OWNER:
            raise NotAnOwner(f"user {actor_id} is not an owner of team {team_id}")
        membership = target_membership(team_id=team_id, user_id=user_id)
        if membership.role == OWNER and not owners - {user_id}:
            raise LastOwner(f"user {user_id} is the last owner of team {team_id}")
        membership_remove(team=membership.team, user=membership.user)
        if membership.role == OWNER:
            owners_changed(user_ids=[user_id])


def team_delete(*, team_id: int, actor_id: int | None) -> None:
    """Soft-delete a team (owners only): it and its maps disappear for everyone, and
    every socket of its maps closes (4404). Its rows stay."""
    with transaction.atomic():
        owners = locked_owners(team_id)
        if actor_role(team_id=team_id, actor_id=actor_id, owners=owners) != OWNER:
            raise NotAnOwner(f"user {actor_id} is not an owner of team {team_id}")
        Team.objects.filter(pk=team_id).update(is_deleted=True, deleted_at=timezone.now())
        maps_close(list(Mindmap.objects.filter(team_id=team_id, is_deleted=False)
                        .values_list("pk", flat=True)))
        owners_changed(user_ids=sorted(owners))


def team_undelete(*, team_id: int) -> Team:
    """Bring a deleted team back with its members and maps as they were (an operator's
    action: owners no longer see a deleted team). A live team is left as it is."""
    with transaction.atomic():
        team = Team.objects.select_for_update().filter(pk=team_id).first()
        if team is None:
            raise TeamNotFound(f"no team {team_id}")
        if team.is_deleted:
            team.is_deleted, team.deleted_at = False, None
            team.save(update_fields=["is_deleted", "deleted_at"])
            owners_changed(user_ids=sorted(locked_owners(team_id)))
    return team


def managed_map(*, map_id: int, actor_id: int | None) -> Mindmap:
    """A map of a live team, deleted or not, locked, that the actor may manage (an owner
    of its team, or its creator while a member); MapNotFound, NotAMember,
    NotMapManager."""
    mindmap = (Mindmap.objects.select_for_update(of=("self",))
               .filter(pk=map_id, team__is_deleted=False).first())
    if mindmap is None:
        raise MapNotFound(f"no map {map_id}")
    if actor_id is None:
        return mindmap
    role = access.role_in_team(user_id=actor_id, team_id=mindmap.team_id)
    if role != OWNER and mindmap.created_by_id != actor_id:
        raise NotMapManager(f"user {actor_id} may not manage map {map_id}")
    return mindmap


def map_rename(*, map_id: int, actor_id: int | None, title: str | None) -> Mindmap:
    """Retitle a live map (None changes nothing). Its root node keeps its own title (an
    op changes that)."""
    with transaction.atomic():
        mindmap = managed_map(map_id=map_id, actor_id=actor_id)
        if mindmap.is_deleted:
            raise MapNotFound(f"map {map_id} is deleted")
        if title is not None:
            mindmap.title = title
            mindmap.save(update_fields=["title"])
    return mindmap


def map_delete(*, map_id: int, actor_id: int | None) -> None:
    """Soft-delete a map: it leaves the lists, its sockets close (4404), and its nodes,
    ops and history stay for `map_undelete`. Deleting a deleted map changes nothing."""
    with transaction.atomic():
        mindmap = managed_map(map_id=map_id, actor_id=actor_id)
        if mindmap.is_deleted:
            return
        mindmap.is_deleted, mindmap.deleted_at = True, timezone.now()
        mindmap.save(update_fields=["is_deleted", "deleted_at"])
        maps_close([map_id])


def map_undelete(*, map_id: int, actor_id: int | None) -> Mindmap:
    """Bring a deleted map back as it was (a live map is left as it is)."""
    with transaction.atomic():
        mindmap = managed_map(map_id=map_id, actor_id=actor_id)
        if mindmap.is_deleted:
            mindmap.is_deleted, mindmap.deleted_at = False, None
            mindmap.save(update_fields=["is_deleted", "deleted_at"])
    return mindmap
