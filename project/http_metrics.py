"""The web role's HTTP metrics, and `GET /metrics`, where its registry is scraped.

Requests are counted by URL pattern (`api/v1/jobs/<uuid:job_id>/`), never by raw path,
so a scan of random URLs adds one series (`unmatched`), not one per URL. Latency is
measured until the response object is ready (a streamed body's transfer is not in it).

`/metrics` exists only for a caller presenting the internal token
(`Authorization: Bearer <INTERNAL_API_TOKEN>`): anyone else gets what any unknown URL
gets, a 404. It answers before the Host header is read and before the HTTPS
redirect, as the health checks do, because Prometheus scrapes each instance by its
address over the private network.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.http import HttpRequest, HttpResponse
from prometheus_client.django.exposition import PrometheusDjangoView

from project import health, metrics
from project.internal_auth import internal_token_presented

METRICS_PATH = "/metrics"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

HTTP_REQUESTS = metrics.counter(
    "moa_http_requests_total", "HTTP requests answered, by URL pattern, method and status",
    ("route", "method", "status"))
HTTP_SECONDS = metrics.histogram(
    "moa_http_request_duration_seconds", "Time to answer an HTTP request (until the "
    "response is ready), by URL pattern and method", ("route", "method"))


def route_of(request: HttpRequest) -> str:
    """The URL pattern that answered, as a bounded label: the resolved route, or the
    fixed paths answered before URL resolution, or `unmatched`."""
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return "/" + match.route
    path = request.path_info
    if path in health.ROUTES:
        return path.rstrip("/") + "/"
    if path == METRICS_PATH:
        return path
    if path.startswith(settings.STATIC_URL):
        return settings.STATIC_URL
    return "unmatched"


class RequestMetricsMiddleware:
    """moa_http_requests_total and moa_http_request_duration_seconds."""

    def __init__(self, get_response):
        if not metrics.enabled():
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        route = route_of(request)
        method = request.method if request.method in METHODS else "other"
        HTTP_SECONDS.labels(route, method).observe(time.perf_counter() - started)
        HTTP_REQUESTS.labels(route, method, str(response.status_code)).inc()
        return response


class MetricsEndpointMiddleware:
    """`GET /metrics` for the internal token's holder (Prometheus' text format, or
    OpenMetrics with exemplars when the scraper asks for it); anyone else goes on to
    the URL resolver, which knows no such URL."""

    def __init__(self, get_response):
        if not metrics.enabled():
            raise MiddlewareNotUsed
        self.get_response = get_response
        self.exposition = PrometheusDjangoView.as_view()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (request.path_info != METRICS_PATH or request.method not in ("GET", "HEAD")
                or not internal_token_presented(request.headers)):
            return self.get_response(request)
        response = self.exposition(request)
        response["Cache-Control"] = "no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response
