"""REST endpoints of the project itself (the apps mount theirs under /api/v1/ too)."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from project.openapi import SIGNED_IN, errors


@extend_schema(summary="Who the session or token authenticates as", responses={
    200: inline_serializer("Me", {"id": serializers.IntegerField(),
                                  "username": serializers.CharField(),
                                  "name": serializers.CharField(),
                                  "email": serializers.CharField(allow_blank=True)}),
    **errors(*SIGNED_IN)})
@api_view(["GET"])
def me(request: Request) -> Response:
    """Who a session or token authenticates as: the first call a script makes."""
    user = request.user
    return Response({"id": user.pk, "username": user.username, "name": user.name,
                     "email": user.email})
