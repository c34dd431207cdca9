"""Secrets that travel in URLs, and how a log line hides them.

Scripts authenticate WebSockets with `?token=<API token>`, and signed grants sit in
paths: playback (`/api/v1/videos/<id>/hls/<token>/<file>`), local uploads
(`/api/v1/storage/upload/<token>/`), password reset and invitation links
(`/accounts/password-reset/<uidb64>/<token>/`, `/accounts/invitation/<uidb64>/<token>/`)
and email verification (`/accounts/verify/<token>/`). Whoever reads a log must not be
able to replay one. nginx/nginx.conf hides the same path segments in its access log
(and drops the query string); tests/edge/test_log_redaction.py checks they agree.
"""

from __future__ import annotations

import re

REDACTED = "[redacted]"

# Group 1 is what stays before the secret: a path segment, up to the next "/" or the
# end of the path.
_SECRET_SEGMENT = re.compile(
    r"(/api/v1/videos/[^/\s]+/hls/"
    r"|/api/v1/storage/upload/"
    r"|/accounts/(?:password-reset|invitation)/[^/\s]+/"
    r"|/accounts/verify/)"
    r"[^/\s?#\"']+")
# The value of any query parameter named like a credential: token, access_token,
# X-Amz-Security-Token, X-Amz-Signature, ...
_SECRET_QUERY_VALUE = re.compile(r"([?&][\w.-]*(?:token|signature)=)[^&\s#\"']*", re.IGNORECASE)


def redact(text: str) -> str:
    """`text` with every secret of a Moa URL in it replaced by [redacted]."""
    text = _SECRET_SEGMENT.sub(rf"\1{REDACTED}", text)
    return _SECRET_QUERY_VALUE.sub(rf"\1{REDACTED}", text)
