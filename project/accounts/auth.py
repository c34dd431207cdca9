"""Bearer tokens for scripts: REST (`Authorization: Bearer`) and WebSockets (`?token=`)."""

from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions

from project.accounts.models import ApiToken, token_digest

# Writing last_used_at on every request would turn reads into writes.
LAST_USED_RESOLUTION = timedelta(minutes=5)


def live_token(raw: str) -> ApiToken | None:
    """The token `raw` is, with its live, active user (`token.user`), or None
    (unknown, expired, deleted)."""
    if not raw or len(raw) > 200:
        return None
    token = (ApiToken.objects.select_related("user")
             .filter(digest=token_digest(raw)).first())
    now = timezone.now()
    if token is None or token.expires_at <= now:
        return None
    user = token.user
    if not user.is_active or user.is_deleted:
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        scheme, _, raw = header.partition(" ")
        if scheme != self.keyword:
            return None
        token = live_token(raw.strip())
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        return token.user, token

    def authenticate_header(self, request) -> str:
        return self.keyword
