"""REST for a user's own API tokens: list, create (from a signed-in browser session
only: a token cannot mint more tokens), revoke."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from project import rate_limits
from project.accounts import actions, openapi
from project.accounts.auth import BearerTokenAuthentication
from project.accounts.models import ApiToken
from project.api_fields import JsonString
from project.openapi import RETRY_AFTER, SIGNED_IN, errors


class TokenCreate(serializers.Serializer):
    name = JsonString(max_length=100)
    expires_in_days = serializers.IntegerField(min_value=1, max_value=365, required=False)


def token_json(token: ApiToken) -> dict:
    return {"id": token.pk, "name": token.name, "prefix": token.prefix,
            "created_at": token.created_at, "last_used_at": token.last_used_at,
            "expires_at": token.expires_at}


@extend_schema(methods=["GET"], operation_id="tokens_list", summary="The caller's API tokens",
               responses={200: openapi.TokenList, **errors(*SIGNED_IN)})
@extend_schema(methods=["POST"], summary="A new API token (from a signed-in session only)",
               request=TokenCreate, parameters=[RETRY_AFTER],
               responses={201: openapi.TokenCreated, **errors(*SIGNED_IN, 400, 413, 415, 429)})
@api_view(["GET", "POST"])
def tokens(request: Request) -> Response:
    if request.method == "GET":
        mine = ApiToken.objects.filter(user=request.user).order_by("-created_at")
        return Response({"tokens": [token_json(token) for token in mine]})
    if isinstance(request.successful_authenticator, BearerTokenAuthentication):
        raise PermissionDenied("Create tokens from a signed-in session, not with a token.",
                               code="session_required")
    rate_limits.throttle(request, ("token.user", rate_limits.BY_USER),
                         ("create.ip", rate_limits.BY_IP))
    body = TokenCreate(data=request.data)
    body.is_valid(raise_exception=True)
    live = ApiToken.objects.filter(user=request.user, expires_at__gt=timezone.now()).count()
    if live >= settings.API_TOKENS_PER_USER:
        raise PermissionDenied(f"You have {live} live tokens, the most one account may "
                               f"hold; revoke one first.", code="quota_exceeded")
    days = body.validated_data.get("expires_in_days", settings.API_TOKEN_DAYS)
    token, secret = actions.token_create(
        user=request.user, name=body.validated_data["name"],
        expires_at=timezone.now() + timedelta(days=days))
    return Response({"token": token_json(token), "secret": secret}, status=201)


@extend_schema(summary="Revoke one of the caller's tokens",
               responses={204: None, **errors(*SIGNED_IN, 404)})
@api_view(["DELETE"])
def token_detail(request: Request, token_id: int) -> Response:
    if not actions.token_revoke(user=request.user, token_id=token_id):
        raise NotFound("No such token.")
    return Response(status=204)
