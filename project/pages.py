"""Server-rendered pages: each renders a template; the live parts are ES modules in
static/moa/ that speak the REST and WebSocket contracts (docs/protocol.md)."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from collab import queries
from collab.errors import MapNotFound, NotAMember
from collab.models import Team


def home(request):
    return render(request, "home.html", {"production": settings.PRODUCTION})


@login_required
def teams(request):
    return render(request, "teams.html", {"teams": queries.teams_of(request.user.pk)})


def member_role(request, team_id: int) -> tuple[Team, str]:
    """The team and the user's role in it; 404 for a stranger, as for no team."""
    found = Team.objects.filter(pk=team_id, is_deleted=False).first()
    try:
        role = found and queries.role_in_team(user_id=request.user.pk, team_id=team_id)
    except NotAMember:
        role = None
    if not role:
        raise Http404("No such team.")
    return found, role


@login_required
def team(request, team_id: int):
    found, role = member_role(request, team_id)
    return render(request, "team.html", {"team": found, "is_owner": role == "owner",
                                         "maps": queries.maps_of(team_id)})


@login_required
def board(request, team_id: int, map_id: int):
    found, _ = member_role(request, team_id)
    try:
        mindmap = queries.map_in_team(map_id=map_id, team_id=team_id)
    except MapNotFound:
        raise Http404("No such map.") from None
    return render(request, "board.html", {"team": found, "map": mindmap})


@login_required
def videos(request):
    return render(request, "videos.html", {
        "max_bytes": settings.VIDEO_MAX_UPLOAD_BYTES})
