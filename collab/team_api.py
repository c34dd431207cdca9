"""REST for managing a team: its members and their roles, leaving it, deleting it, and
its deleted maps. Parse, authorize (collab/access.py), call one action
(collab/team_actions.py, which holds who may do what), serialize."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, parser_classes
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from collab import access, openapi, queries, team_actions
from collab.errors import TeamNotFound
from collab.models import Membership
from project import rate_limits
from project.openapi import RETRY_AFTER, SIGNED_IN, errors


class MemberPage(serializers.Serializer):
    offset = serializers.IntegerField(min_value=0, max_value=2**31 - 1, default=0)
    limit = serializers.IntegerField(min_value=1, max_value=500, default=100)


class RoleChange(serializers.Serializer):
    role = serializers.ChoiceField(["member", "owner"])


@extend_schema(methods=["GET"], operation_id="team_detail",
               summary="One of the caller's teams, with its first owner and member count",
               responses={200: openapi.Team, **errors(*SIGNED_IN, 404)})
@extend_schema(methods=["DELETE"], summary="Delete a team (owners only): it and its maps "
                                           "disappear, every socket of its maps closes (4404)",
               parameters=[RETRY_AFTER], responses={204: None, **errors(*SIGNED_IN, 404, 429)})
@api_view(["GET", "DELETE"])
def team_detail(request: Request, team_id: int) -> Response:
    access.team_role(user_id=request.user.pk, team_id=team_id)
    if request.method == "DELETE":
        rate_limits.throttle(request, ("team.user", rate_limits.BY_USER))
        team_actions.team_delete(team_id=team_id, actor_id=request.user.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)
    found = queries.teams_of(request.user.pk, team_id=team_id)
    if not found:  # deleted since the check
        raise TeamNotFound(f"no team {team_id}")
    return Response(found[0])


@extend_schema(operation_id="team_members_list",
               summary="A team's members with their roles (any member may list them)",
               parameters=[MemberPage],
               responses={200: openapi.TeamMemberList, **errors(*SIGNED_IN, 400, 404)})
@api_view(["GET"])
def team_members(request: Request, team_id: int) -> Response:
    access.team_role(user_id=request.user.pk, team_id=team_id)
    page = MemberPage(data=request.query_params)
    page.is_valid(raise_exception=True)
    offset, limit = page.validated_data["offset"], page.validated_data["limit"]
    members, count = queries.members_of(team_id=team_id, offset=offset, limit=limit)
    following = offset + len(members)
    return Response({"members": members, "count": count,
                     "next_offset": following if members and following < count else None})


@extend_schema(methods=["PATCH"], summary="Change a member's role (owners only); 409 for "
                                          "the team's last owner",
               request=RoleChange, parameters=[RETRY_AFTER],
               responses={200: openapi.TeamMember,
                          **errors(*SIGNED_IN, 400, 404, 409, 413, 415, 429)})
@extend_schema(methods=["DELETE"], summary="Remove a member (owners), or leave the team "
                                           "(one's own id); their sockets of the team close "
                                           "(4403); 409 for the team's last owner",
               parameters=[RETRY_AFTER],
               responses={204: None, **errors(*SIGNED_IN, 404, 409, 429)})
@api_view(["PATCH", "DELETE"])
@parser_classes([JSONParser])
def team_member(request: Request, team_id: int, user_id: int) -> Response:
    access.team_role(user_id=request.user.pk, team_id=team_id)
    rate_limits.throttle(request, ("member.user", rate_limits.BY_USER))
    if request.method == "DELETE":
        team_actions.membership_end(team_id=team_id, actor_id=request.user.pk,
                                    user_id=user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
    body = RoleChange(data=request.data, partial=True)  # PATCH: no role, no change
    body.is_valid(raise_exception=True)
    membership = team_actions.membership_role_change(
        team_id=team_id, actor_id=request.user.pk, user_id=user_id,
        role=body.validated_data.get("role"))
    return Response(queries.member_json(membership))


@extend_schema(summary="A team's deleted maps the caller may restore: all of them for an "
                       "owner, the caller's own for a member",
               responses={200: openapi.DeletedMapList, **errors(*SIGNED_IN, 404)})
@api_view(["GET"])
def team_deleted_maps(request: Request, team_id: int) -> Response:
    _, role = access.team_role(user_id=request.user.pk, team_id=team_id)
    return Response({"maps": queries.deleted_maps_of(
        team_id=team_id, user_id=request.user.pk, owner=role == Membership.Role.OWNER)})


@extend_schema(summary="Bring a deleted map back (owners and the map's creator)",
               request=None, parameters=[RETRY_AFTER],
               responses={200: openapi.Map, **errors(*SIGNED_IN, 404, 429)})
@api_view(["POST"])
def map_undelete(request: Request, map_id: int) -> Response:
    rate_limits.throttle(request, ("map.user", rate_limits.BY_USER))
    mindmap = team_actions.map_undelete(map_id=map_id, actor_id=request.user.pk)
    return Response(queries.map_json(mindmap))
