"""The internal token: what an autoscaler, a metrics scraper or an operator presents
(`Authorization: Bearer <INTERNAL_API_TOKEN>`) to read what the public may not."""

import hmac

from django.conf import settings


def internal_token_presented(headers) -> bool:
    """Whether `headers` carry the internal token (compared in constant time). Never
    true when no token is configured."""
    expected = settings.INTERNAL_API_TOKEN or ""
    scheme, _, sent = headers.get("Authorization", "").partition(" ")
    return (scheme == "Bearer" and bool(expected)
            and hmac.compare_digest(sent.strip().encode(), expected.encode()))
