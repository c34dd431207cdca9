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
    return live_tokens([raw])[raw]


def live_tokens(raws: list[str]) -> dict[str, ApiToken | None]:
    """live_token of each of `raws` in one query (a reconnect storm's sockets,
    project/ws_auth.py)."""
    digests = {raw: token_digest(raw) for raw in raws if raw and len(raw) <= 200}
    tokens = {token.digest: token for token in ApiToken.objects.select_related("user")
              .filter(digest__in=set(digests.values()))} if digests else {}
    now = timezone.now()
    found: dict[str, ApiToken | None] = {}
    for raw in raws:
        token = tokens.get(digests.get(raw, ""))
        live = (token is not None and token.expires_at > now and token.user.is_active
                and not token.user.is_deleted)
        found[raw] = token if live else None
    stale = {token.pk for token in found.values() if token is not None and (
        token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION)}
    if stale:
        ApiToken.objects.filter(pk__in=stale).update(last_used_at=now)
    return found


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
