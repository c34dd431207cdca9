"""REST for teams and maps: parse, authorize against membership, call, serialize."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, parser_classes
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from collab import access, actions, history, history_actions, openapi, queries, team_actions
from collab.models import Mindmap, Team
from project import rate_limits
from project.api_errors import Conflict, Gone
from project.api_fields import JsonString
from project.openapi import RETRY_AFTER, SIGNED_IN, errors
from project.ws_frames import encode


def require_member(request: Request, team_id: int) -> str:
    """The caller's role in a live team; 404 or 403 otherwise (project/refusals.py)."""
    return access.team_role(user_id=request.user.pk, team_id=team_id)[1]


def member_map(request: Request, map_id: int) -> Mindmap:
    """A live map of a team the caller is in; 404 or 403 otherwise."""
    return access.member_map(user_id=request.user.pk, map_id=map_id)[0]


class MapCreate(serializers.Serializer):
    title = JsonString(max_length=200)


class TeamCreate(serializers.Serializer):
    name = JsonString(max_length=100)


@extend_schema(methods=["GET"], operation_id="teams_list",
               summary="The caller's teams, with their first owner and member count",
               responses={200: openapi.TeamList, **errors(*SIGNED_IN)})
@extend_schema(methods=["POST"], operation_id="teams_create",
               summary="A new team, with the caller as its owner", request=TeamCreate,
               parameters=[RETRY_AFTER],
               responses={201: openapi.Team, **errors(*SIGNED_IN, 400, 413, 415, 429)})
@api_view(["GET", "POST"])
def teams(request: Request) -> Response:
    if request.method == "GET":
        return Response({"teams": queries.teams_of(request.user.pk)})
    rate_limits.throttle(request, ("team.user", rate_limits.BY_USER),
                         ("create.ip", rate_limits.BY_IP))
    body = TeamCreate(data=request.data)
    body.is_valid(raise_exception=True)
    team = actions.team_create(name=body.validated_data["name"], owner=request.user)
    (created,) = queries.teams_of(request.user.pk, team_id=team.pk)
    return Response(created, status=status.HTTP_201_CREATED)


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


@extend_schema(methods=["GET"], summary="A map's snapshot and the seq it is at",
               responses={200: openapi.MapSnapshot, **errors(*SIGNED_IN, 404)})
@extend_schema(methods=["PATCH"], summary="Rename a map (owners and the map's creator)",
               request=MapCreate, parameters=[RETRY_AFTER],
               responses={200: openapi.Map, **errors(*SIGNED_IN, 400, 404, 413, 415, 429)})
@extend_schema(methods=["DELETE"], summary="Delete a map (owners and the map's creator): "
                                           "it leaves the lists, its sockets close (4404); "
                                           "undelete/ brings it back",
               parameters=[RETRY_AFTER],
               responses={204: None, **errors(*SIGNED_IN, 404, 429)})
@api_view(["GET", "PATCH", "DELETE"])
@parser_classes([JSONParser])
def map_detail(request: Request, map_id: int) -> Response:
    if request.method == "PATCH":
        return map_rename(request, map_id)
    if request.method == "DELETE":
        rate_limits.throttle(request, ("map.user", rate_limits.BY_USER))
        team_actions.map_delete(map_id=map_id, actor_id=request.user.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)
    member_map(request, map_id)
    snapshot = queries.map_snapshot(map_id=map_id)
    # The nodes go out as they were encoded (once, compact UTF-8 bytes): a full map is a
    # few MB, bounded by COLLAB_MAX_CONTENT_BYTES_PER_MAP, never a tree of objects.
    head = encode({"map": snapshot.map, "seq": snapshot.seq})[:-1] + ',"nodes":'
    return HttpResponse(head.encode() + snapshot.array() + b"}",
                        content_type="application/json")


def map_rename(request: Request, map_id: int) -> Response:
    rate_limits.throttle(request, ("map.user", rate_limits.BY_USER))
    body = MapCreate(data=request.data, partial=True)  # PATCH: no title, no change
    body.is_valid(raise_exception=True)
    mindmap = team_actions.map_rename(map_id=map_id, actor_id=request.user.pk,
                                      title=body.validated_data.get("title"))
    return Response(queries.map_json(mindmap))


def next_before(events: list[dict], limit: int) -> int | None:
    """Where the next page starts: after a full page, or one a big op cut short."""
    full = len(events) == limit or sum(
        len(encode(event["op"]).encode()) for event in events) > queries.MAX_HISTORY_PAGE_BYTES
    return events[-1]["seq"] if events and full else None


class HistoryPage(serializers.Serializer):
    before = serializers.IntegerField(min_value=1, max_value=2**62, required=False,
                                      help_text="Only ops with a seq below this.")
    limit = serializers.IntegerField(min_value=1, max_value=200, default=50)


class MapRestore(serializers.Serializer):
    seq = serializers.IntegerField(min_value=0, max_value=2**62,
                                   help_text="The map as it was right after this op.")
    node = serializers.UUIDField(allow_null=True, default=None,
                                 help_text="Only this node's subtree; null: the whole map.")


@extend_schema(summary="A map's ops, newest first: who did what, when",
               parameters=[HistoryPage],
               responses={200: openapi.MapHistory, **errors(*SIGNED_IN, 400, 404)})
@api_view(["GET"])
def map_history(request: Request, map_id: int) -> Response:
    mindmap = member_map(request, map_id)
    page = HistoryPage(data=request.query_params)
    page.is_valid(raise_exception=True)
    before, limit = page.validated_data.get("before"), page.validated_data["limit"]
    events = queries.history_events(map_id=map_id, before=before, limit=limit)
    return Response({"map": queries.map_header(mindmap), "seq": mindmap.seq,
                     "oldest_seq": queries.oldest_seq(map_id), "events": events,
                     "next_before": next_before(events, limit)})


@extend_schema(summary="The ops that named one node, newest first, and who last set "
                       "each of its fields",
               parameters=[HistoryPage],
               responses={200: openapi.NodeHistory, **errors(*SIGNED_IN, 400, 404)})
@api_view(["GET"])
def node_history(request: Request, map_id: int, node_id) -> Response:
    mindmap = member_map(request, map_id)
    page = HistoryPage(data=request.query_params)
    page.is_valid(raise_exception=True)
    limit = page.validated_data["limit"]
    events = queries.history_events(map_id=map_id, before=page.validated_data.get("before"),
                                    limit=limit, node=str(node_id))
    return Response({"map": queries.map_header(mindmap), "seq": mindmap.seq,
                     "oldest_seq": queries.oldest_seq(map_id), "events": events,
                     "next_before": next_before(events, limit),
                     "blame": queries.node_blame(map_id=map_id, node=str(node_id))})


@extend_schema(summary="The map as it was right after op <seq>",
               responses={200: openapi.MapSnapshot, **errors(*SIGNED_IN, 404, 410)})
@api_view(["GET"])
def map_at(request: Request, map_id: int, seq: int) -> Response:
    mindmap = member_map(request, map_id)
    nodes = queries.state_at(map_id=map_id, seq=seq)
    if nodes is None:
        raise Gone(f"This map's history starts at seq {queries.oldest_seq(map_id)} and it "
                   f"is at seq {mindmap.seq}; seq {seq} is not kept.")
    return Response({"map": queries.map_header(mindmap), "seq": seq,
                     "nodes": list(nodes.values())})


@extend_schema(summary="Make the map, or one subtree, look as it did at an earlier seq, "
                       "as new ops", request=MapRestore, parameters=[RETRY_AFTER],
               responses={200: openapi.MapRestored,
                          **errors(*SIGNED_IN, 400, 404, 409, 410, 415, 429)})
@api_view(["POST"])
@parser_classes([JSONParser])
def map_restore(request: Request, map_id: int) -> Response:
    mindmap = member_map(request, map_id)
    rate_limits.throttle(request, ("map.user", rate_limits.BY_USER))
    body = MapRestore(data=request.data)
    body.is_valid(raise_exception=True)
    node = body.validated_data["node"]
    try:
        applied, seq = history_actions.map_restore(
            map_id=map_id, team_id=mindmap.team_id, actor_id=request.user.pk,
            seq=body.validated_data["seq"], top=str(node) if node else None)
    except history_actions.HistoryGone:
        raise Gone("That seq is not in this map's history (see oldest_seq).") from None
    except history.RestoreImpossible as error:
        raise Conflict(f"Nothing was changed: {error}") from None
    return Response({"seq": seq, "applied": applied})
