"""Request rate limits: django-ratelimit's counters, under Moa's names and answers.

Each limit has a name (`signin.ip`, `video.user`: what is counted, per what) and a
rate from settings.RATE_LIMITS (defaults in project/config.py, overrides from the
RATE_LIMITS env). Counters live in Django's cache (Redis in production, so every web
instance shares them). Over a limit, REST answers 429 `rate_limited` with
Retry-After and pages answer 429 with the same header: the person retries later and
loses nothing. When the counters cannot be reached (Redis down), the request is
refused with 503 `unavailable` rather than let through unlimited.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import get_usage
from redis.exceptions import RedisError
from rest_framework.exceptions import APIException, Throttled

from project.accounts.identity import lookup_key

logger = logging.getLogger(__name__)

def client_address(address: str) -> str:
    """An address as limits count it: IPv4 whole, IPv6 by its /64 (one machine holds a
    whole /64). Without one (a Unix-socket listener that is not told), every such
    caller shares one counter."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "no-address"
    if ip.version == 6 and ip.ipv4_mapped:  # ::ffff:a.b.c.d from a dual-stack socket
        return str(ip.ipv4_mapped)
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _address(group: str, request) -> str:
    return client_address(request.META.get("REMOTE_ADDR", ""))


# What a limit counts per: the caller's address, or its user.
BY_IP = _address
BY_USER = "user"


class LimitExceeded(Exception):
    """Over a rate limit; `retry_after` is in whole seconds."""

    def __init__(self, name: str, retry_after: int):
        super().__init__(f"rate limit {name} exceeded; retry in {retry_after} s")
        self.name, self.retry_after = name, retry_after


class CountersUnavailable(Exception):
    """The cache holding the counters did not answer."""


class Unavailable(APIException):
    status_code = 503
    default_code = "unavailable"
    default_detail = "The service is briefly unavailable; try again in a few seconds."


def value_key(value: str) -> Callable:
    """A key that counts per `value` (a username, an email) as lookups compare it: a
    full-width or look-alike spelling counts as the account it signs in to."""
    return lambda group, request: lookup_key(value)


def value_and_address_key(value: str) -> Callable:
    """A key that counts per `value` and caller's address together."""
    return lambda group, request: f"{lookup_key(value)}@{_address(group, request)}"


def hit(request: HttpRequest, name: str, key, *, count: bool = True) -> None:
    """Count one request against limit `name` (or, with `count=False`, only look) and
    raise LimitExceeded once over it. `key` is BY_IP, BY_USER or a `value_key`."""
    try:
        usage = get_usage(request, group=name, key=key, rate=settings.RATE_LIMITS[name],
                          increment=count)
    except (RedisError, OSError) as error:  # Redis away, or its socket
        logger.error("rate limit %s: counters unavailable: %s: %s", name,
                     type(error).__name__, error)
        raise CountersUnavailable(str(error)) from error
    if usage is None:  # limits switched off (RATELIMIT_ENABLE = False)
        return
    if usage["time_left"] < 0:  # django-ratelimit's answer when the cache failed
        raise CountersUnavailable(f"no counter for {name}")
    # A look (count=False) asks whether one more counted request would be over.
    over = usage["should_limit"] if count else usage["count"] >= usage["limit"]
    if over:
        logger.warning("rate limit %s exceeded (%d over %d)", name, usage["count"],
                       usage["limit"])
        raise LimitExceeded(name, max(1, usage["time_left"]))


@dataclass(frozen=True)
class Refusal:
    """How a page answers a request over a limit: status, reason, Retry-After."""

    status: int
    message: str
    retry_after: int


def refusal(request: HttpRequest, *limits: tuple[str, object, bool]) -> Refusal | None:
    """For pages (sign-in, sign-up, reset): check each (name, key, count) limit;
    the refusal to show, or None when the request may go on."""
    try:
        for name, key, count in limits:
            hit(request, name, key, count=count)
    except LimitExceeded as exceeded:
        wait = exceeded.retry_after
        when = f"{wait} seconds" if wait < 120 else f"{round(wait / 60)} minutes"
        return Refusal(429, f"Too many attempts: nothing was done. Try again in {when}.",
                       wait)
    except CountersUnavailable:
        return Refusal(503, "Moa is briefly unavailable: nothing was done. Try again in a "
                            "few seconds.", 5)
    return None


def throttle(request, *limits: tuple[str, object]) -> None:
    """For REST views: count the request against each (name, key) limit; 429
    `rate_limited` with Retry-After when one is exceeded, 503 when none can be
    counted."""
    try:
        for name, key in limits:
            hit(request, name, key)
    except LimitExceeded as exceeded:
        raise Throttled(wait=exceeded.retry_after, code="rate_limited",
                        detail="Too many requests; nothing was done.") from None
    except CountersUnavailable:
        raise Unavailable() from None
