"""The membership rule: who may read and edit a team's maps. Every edge (REST, the
board's socket, the pages, member imports) asks here; a refusal is a domain error
(collab/errors.py) that each edge answers its own way (project/refusals.py)."""

from collab.errors import MapNotFound, NotAMember, TeamNotFound
from collab.models import Membership, Mindmap, Team


def team_role(*, user_id: int, team_id: int) -> tuple[Team, str]:
    """The live team and the user's role in it; TeamNotFound or NotAMember."""
    team = Team.objects.filter(pk=team_id, is_deleted=False).first()
    if team is None:
        raise TeamNotFound(f"no team {team_id}")
    return team, role_in_team(user_id=user_id, team_id=team_id)


def role_in_team(*, user_id: int, team_id: int, lock: bool = False) -> str:
    """The user's role in a live team, or NotAMember (a missing team included). With
    `lock` (in a transaction) the membership row stays as read until it commits: a
    removal waits for the write that relied on it."""
    memberships = Membership.objects.select_for_update() if lock else Membership.objects
    role = (memberships.filter(team_id=team_id, user_id=user_id, team__is_deleted=False)
            .values_list("role", flat=True).first())
    if role is None:
        raise NotAMember(f"user {user_id} is not a member of team {team_id}")
    return role


def member_map(*, user_id: int, map_id: int, team_id: int | None = None
               ) -> tuple[Mindmap, str]:
    """A live map (of `team_id` when given) of a live team and the user's role in
    that team; MapNotFound (the map's team deleted included) or NotAMember."""
    maps = Mindmap.objects.filter(pk=map_id, is_deleted=False, team__is_deleted=False)
    mindmap = (maps if team_id is None else maps.filter(team_id=team_id)).first()
    if mindmap is None:
        raise MapNotFound(f"no map {map_id}" + ("" if team_id is None else
                                                f" in team {team_id}"))
    return mindmap, role_in_team(user_id=user_id, team_id=mindmap.team_id)


MapAccess = tuple[int, int, int]  # (user_id, team_id, map_id)


def member_roles(checks: list[MapAccess]) -> dict[MapAccess, str | MapNotFound | NotAMember]:
    """member_map's answer for each (user, team, map) in one query (a second one only
    for refusals): the user's role, or the MapNotFound or NotAMember it would raise."""
    users, maps = {check[0] for check in checks}, {check[2] for check in checks}
    roles = {(user, team, map_id): role for user, team, map_id, role in Membership.objects
             .filter(user_id__in=users, team__is_deleted=False, team__maps__pk__in=maps,
                     team__maps__is_deleted=False)
             .values_list("user_id", "team_id", "team__maps__pk", "role")}
    refused = [check for check in checks if check not in roles]
    teams = dict(Mindmap.objects.filter(pk__in={check[2] for check in refused},
                                        is_deleted=False, team__is_deleted=False)
                 .values_list("pk", "team_id")) if refused else {}
    found: dict[MapAccess, str | MapNotFound | NotAMember] = dict(roles)
    for user, team, map_id in refused:
        found[user, team, map_id] = (
            MapNotFound(f"no map {map_id} in team {team}") if teams.get(map_id) != team
            else NotAMember(f"user {user} is not a member of team {team}"))
    return found
