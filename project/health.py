"""/health/ (liveness) and /health/ready/ (readiness, draining).

Both answer from a middleware placed before anything calls `request.get_host()`, so
an ALB probing with the instance IP as Host gets 200 while ALLOWED_HOSTS still guards
every other URL, and before the HTTPS redirect, since the ALB probes over plain HTTP.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from project import metrics, probes, runtime
from project.internal_auth import internal_token_presented

PROBE_FAILURES = metrics.counter(
    "moa_readiness_probe_failures_total", "Readiness probes that failed, by check "
    "(database, redis, storage...): counted once per probe run, not per request",
    ("check",))


def readiness_results() -> list[probes.ProbeResult]:
    """The readiness probes' results, shared by every caller for
    READINESS_CACHE_SECONDS: a flood of anonymous probes costs one database query,
    Redis round trip and storage check per interval, not one per request. Callers
    arriving while a probe runs wait for its result."""
    cache = runtime.current().timed_value("readiness", _probe)
    return cache.get(settings.READINESS_CACHE_SECONDS)


def _probe() -> list[probes.ProbeResult]:
    results = probes.readiness_probes()
    for result in results:
        if not result.ok:
            PROBE_FAILURES.labels(result.name).inc()
    return results


def liveness(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


def readiness(request: HttpRequest) -> HttpResponse:
    """The status for anyone (a load balancer); which checks ran, how long they took
    and why one failed (exception text, env names to check) only for a caller with the
    internal token: that is a map of the deployment."""
    if runtime.current().draining.is_set():
        response = JsonResponse({"status": "draining"}, status=503)
        response._has_been_logged = True  # expected while draining: no error per probe
        return response
    results = readiness_results()
    failed = [result.name for result in results if not result.ok]
    body = {"status": "unready" if failed else "ready"}
    if internal_token_presented(request.headers):
        body["checks"] = {result.name: result.as_json() for result in results}
        if failed:
            body["failed"] = failed
    return JsonResponse(body, status=503 if failed else 200)


ROUTES = {
    "/health": liveness,
    "/health/": liveness,
    "/health/ready": readiness,
    "/health/ready/": readiness,
}


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        view = ROUTES.get(request.path_info)
        if view is None:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return JsonResponse({"detail": "Use GET.", "code": "method_not_allowed"},
                                status=405)
        response = view(request)
        response["Cache-Control"] = "no-store"
        # Answered before SecurityMiddleware: the header it would have added.
        response["X-Content-Type-Options"] = "nosniff"
        return response
