"""What every app's OpenAPI description shares: the error bodies, the error answers by
status, and the bearer-token scheme.

drf-spectacular serves the schema at /api/v1/schema/; tests/api/test_fuzz.py
(schemathesis) holds the views to it, so a status or a field written here is one the
code answers.
"""

from typing import ClassVar

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from drf_spectacular.views import SpectacularAPIView
from rest_framework import serializers
from rest_framework.response import Response


class Error(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, for a person.")
    code = serializers.CharField(help_text="A stable machine code (docs/protocol.md).")
    request_id = serializers.CharField(
        required=False, help_text="On 5xx answers: this request's id (also in X-Request-ID "
                                  "and in every log line of the request), to quote.")


class InvalidInput(Error):
    errors = serializers.DictField(
        child=serializers.JSONField(), required=False,
        help_text="With code `invalid`: the messages by field.")


ANSWERS = {
    400: OpenApiResponse(InvalidInput, "Invalid input: code `invalid` with `errors` by field, "
                                       "or `parse_error` for a body that cannot be read."),
    401: OpenApiResponse(Error, "No valid session or token: `not_authenticated` (with "
                                "WWW-Authenticate: Bearer) or `authentication_failed`."),
    403: OpenApiResponse(Error, "Refused: `permission_denied` (not a member of the team, not "
                                "an owner, not the uploader, or a session request without "
                                "its CSRF token), `session_required` (tokens are created from "
                                "a session), `quota_exceeded`."),
    404: OpenApiResponse(Error, "No such object, or none the caller may see: `not_found`."),
    409: OpenApiResponse(Error, "The object is not in a state that allows this: `conflict`."),
    410: OpenApiResponse(Error, "Existed once, no longer kept (a map's history before its "
                                "oldest seq): `gone`."),
    413: OpenApiResponse(Error, "The body is over the limit: `too_large`."),
    415: OpenApiResponse(Error, "A body of another media type than documented: "
                                "`unsupported_media_type`."),
    429: OpenApiResponse(Error, "Too many requests: `rate_limited`; Retry-After says when "
                                "to try again."),
    503: OpenApiResponse(Error, "A dependency failed, nothing to fix on the client's side: "
                                "`unavailable` (the database, the rate limit counters), "
                                "`storage_unavailable`. The body "
                                "carries `request_id`; try again in a minute."),
}
SIGNED_IN = (401, 403, 503)  # any endpoint behind a session or token may answer these

RETRY_AFTER = OpenApiParameter(
    "Retry-After", OpenApiTypes.INT, OpenApiParameter.HEADER, response=[429],
    description="Seconds to wait before trying again.")

# The internal endpoints' INTERNAL_API_TOKEN (SPECTACULAR_SETTINGS declares the scheme).
INTERNAL_TOKEN = [{"internalToken": []}]


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """The documented error answers for these statuses, for `extend_schema(responses=)`."""
    return {status: ANSWERS[status] for status in sorted(statuses)}


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Scripts' `Authorization: Bearer <token>` (project/accounts/auth.py)."""

    target_class = "project.accounts.auth.BearerTokenAuthentication"
    name = "bearerToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": "A token from `manage.py issue_api_token` or "
                               "`seed_demo --json`."}


class SchemaView(SpectacularAPIView):
    """The schema changes only with the code: generated once per process and API
    version, not for every anonymous request (about 40 ms of CPU each)."""

    generated: ClassVar[dict] = {}

    def _get_schema_response(self, request):
        version = self.api_version or request.version or self._get_version_parameter(request)
        if version not in self.generated:
            generator = self.generator_class(urlconf=self.urlconf, api_version=version,
                                             patterns=self.patterns)
            self.generated[version] = generator.get_schema(request=request,
                                                           public=self.serve_public)
        return Response(data=self.generated[version], headers={
            "Content-Disposition": f'inline; filename="{self._get_filename(request, version)}"'})
