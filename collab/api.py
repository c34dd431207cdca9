"""REST for teams and maps: parse, authorize against membership, call, serialize."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from collab import actions, openapi, queries
from collab.errors import NotAMember
from collab.models import Mindmap, Team
from project import rate_limits
from project.api_fields import JsonString
from project.openapi import RETRY_AFTER, SIGNED_IN, errors
from project.ws_frames import encode


def require_member(request: Request, team_id: int) -> str:
    if not Team.objects.filter(pk=team_id, is_deleted=False).exists():
        raise NotFound("No such team.")
    try:
        return queries.role_in_team(user_id=request.user.pk, team_id=team_id)
    except NotAMember:
        raise PermissionDenied("You are not a member of this team.") from None


class MapCreate(serializers.Serializer):
    title = JsonString(max_length=200)


@extend_schema(operation_id="teams_list",
               summary="The caller's teams, with their first owner and member count",
               responses={200: openapi.TeamList, **errors(*SIGNED_IN)})
@api_view(["GET"])
def teams(request: Request) -> Response:
    return Response({"teams": queries.teams_of(request.user.pk)})


@extend_schema(methods=["GET"], operation_id="team_maps_list",
               summary="A team's maps, newest first",
               responses={200: openapi.MapList, **errors(*SIGNED_IN, 404)})
@extend_schema(methods=["POST"], summary="A new map, with its root node", request=MapCreate,
               parameters=[RETRY_AFTER],
               responses={201: openapi.Map, **errors(*SIGNED_IN, 400, 404, 413, 415, 429)})
@api_view(["GET", "POST"])
def team_maps(request: Request, team_id: int) -> Response:
    require_member(request, team_id)
    if request.method == "GET":
        return Response({"maps": queries.maps_of(team_id)})
    rate_limits.throttle(request, ("map.user", rate_limits.BY_USER),
                         ("create.ip", rate_limits.BY_IP))
    body = MapCreate(data=request.data)
    body.is_valid(raise_exception=True)
    team = get_object_or_404(Team, pk=team_id)
    mindmap = actions.map_create(team=team, title=body.validated_data["title"],
                                 actor=request.user)
    return Response(queries.map_json(mindmap), status=status.HTTP_201_CREATED)


@extend_schema(summary="A map's snapshot and the seq it is at",
               responses={200: openapi.MapSnapshot, **errors(*SIGNED_IN, 404)})
@api_view(["GET"])
def map_detail(request: Request, map_id: int) -> Response:
    mindmap = Mindmap.objects.filter(pk=map_id, is_deleted=False).first()
    if mindmap is None:
        raise NotFound("No such map.")
    require_member(request, mindmap.team_id)
    snapshot = queries.map_snapshot(map_id=map_id)
    # The nodes go out as they were encoded (once, compact UTF-8 bytes): a full map is a
    # few MB, bounded by COLLAB_MAX_CONTENT_BYTES_PER_MAP, never a tree of objects.
    head = encode({"map": snapshot.map, "seq": snapshot.seq})[:-1] + ',"nodes":'
    return HttpResponse(head.encode() + snapshot.array() + b"}",
                        content_type="application/json")
