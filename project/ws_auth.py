"""Who is on the other end of a WebSocket, and whether their page may open it.

Browsers authenticate with the session cookie, so their Origin must be Moa's own
(cross-site WebSocket hijacking): in production an exact origin of
CSRF_TRUSTED_ORIGINS, in development any origin on an allowed host. Scripts pass
`?token=`; no cookie is read on that path, so a missing Origin is fine there, and a
present one is still checked.
"""

from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.security.websocket import AllowedHostsOriginValidator, OriginValidator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from project.accounts.auth import live_tokens
from project.read_batches import ReadBatch

# A storm's token lookups, one query per batch (project/read_batches.py).
TOKENS = ReadBatch(live_tokens)


def query_token(scope) -> str | None:
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
    return values[0] if values else None


def has_origin(scope) -> bool:
    return any(name == b"origin" for name, _ in scope.get("headers", []))


class TokenAuthMiddleware:
    """Sets scope["user"] from `?token=` (AnonymousUser when it is not valid) and
    scope["token_id"], so revoking that token closes the socket."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        token = await TOKENS.get(query_token(scope) or "")
        scope = dict(scope, user=token.user if token else AnonymousUser(), auth="token",
                     token_id=token.pk if token else None)
        return await self.inner(scope, receive, send)


def origin_checked(application):
    """Refuse a handshake whose Origin is not Moa's own. In production that is an exact
    origin of CSRF_TRUSTED_ORIGINS (scheme, host and port: another port or plain http on
    the same host is another origin, maybe another program); in development, any
    origin on an allowed host."""
    if settings.PRODUCTION:
        return OriginValidator(application, settings.CSRF_TRUSTED_ORIGINS)
    return AllowedHostsOriginValidator(application)


class WebSocketAuth:
    def __init__(self, inner):
        self.by_token = TokenAuthMiddleware(inner)
        self.by_token_checked = origin_checked(self.by_token)
        self.by_session = origin_checked(AuthMiddlewareStack(inner))

    async def __call__(self, scope, receive, send):
        if query_token(scope) is None:
            return await self.by_session(scope, receive, send)
        if has_origin(scope):
            return await self.by_token_checked(scope, receive, send)
        return await self.by_token(scope, receive, send)
