"""REST endpoints of the project itself (the apps mount theirs under /api/v1/ too)."""

from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response


@api_view(["GET"])
def me(request: Request) -> Response:
    """Who a session or token authenticates as: the first call a script makes."""
    user = request.user
    return Response({"id": user.pk, "username": user.username, "name": user.name,
                     "email": user.email})
