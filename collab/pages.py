"""collab's pages: a person's teams, a team's maps, and the board. Each renders a
template; the live parts are ES modules in static/moa/ that speak the REST and
WebSocket contracts (docs/protocol.md).

Every page here is `never_cache` (Cache-Control: no-store, private): after leaving or
deleting a team, the Back button must ask the server again, never show a stored page
whose controls act on a team the person is no longer in."""

import re

from csp.decorators import csp_update
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.views.decorators.cache import never_cache

from collab import access, queries
from collab.models import Membership, Team
from project.refusals import Refusal


def member_role(request, team_id: int) -> tuple[Team, str]:
    """The team and the user's role in it; 404 for a stranger, as for no team (a page
    does not tell who is in a team one is not in)."""
    try:
        return access.team_role(user_id=request.user.pk, team_id=team_id)
    except Refusal:
        raise Http404("No such team.") from None


@never_cache
@login_required
def teams(request):
    return render(request, "teams.html", {"teams": queries.teams_of(request.user.pk)})


MEMBERS_PER_PAGE = 100


@never_cache
@login_required
def team(request, team_id: int):
    """The team's maps and members; what the person may manage has its buttons
    (static/moa/team_manage.js calls the REST endpoints, which decide)."""
    found, role = member_role(request, team_id)
    is_owner = role == Membership.Role.OWNER
    wanted = request.GET.get("members", "")
    offset = int(wanted) if re.fullmatch(r"[0-9]{1,9}", wanted) else 0
    listed_at = timezone.now()  # before the read: an import that ended since is not in it
    members, count = queries.members_of(team_id=team_id, offset=offset,
                                        limit=MEMBERS_PER_PAGE)
    following = offset + len(members)
    return render(request, "team.html", {
        "team": found, "is_owner": is_owner, "maps": queries.maps_of(team_id),
        "deleted_maps": queries.deleted_maps_of(team_id=team_id, user_id=request.user.pk,
                                                owner=is_owner),
        "members": members, "member_count": count, "members_offset": offset,
        "members_listed_at": listed_at.isoformat(),
        "next_members": following if members and following < count else None})


@never_cache
@login_required
def board(request, team_id: int, map_id: int):
    found, _ = member_role(request, team_id)
    try:
        mindmap, _ = access.member_map(user_id=request.user.pk, map_id=map_id,
                                       team_id=team_id)
    except Refusal:
        raise Http404("No such map.") from None
    return render(request, "board.html", {"team": found, "map": mindmap})


urlpatterns = [
    path("teams/", teams, name="teams"),
    path("teams/<int:team_id>/", team, name="team"),
    # The board exports a PNG by drawing its SVG (a blob: image) on a canvas.
    path("teams/<int:team_id>/maps/<int:map_id>/",
         csp_update({"img-src": ["blob:"]})(board), name="board"),
]
