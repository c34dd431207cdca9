"""/health/ (liveness) and /health/ready/ (readiness, draining).

Both answer from a middleware placed before anything calls `request.get_host()`, so
an ALB probing with the instance IP as Host gets 200 while ALLOWED_HOSTS still guards
every other URL, and before the HTTPS redirect, since the ALB probes over plain HTTP.
"""

import threading

from django.http import HttpRequest, HttpResponse, JsonResponse

from project import probes

_draining = threading.Event()


def begin_draining() -> None:
    """Turn readiness to 503 at once; the instance keeps serving until it exits."""
    _draining.set()


def is_draining() -> bool:
    return _draining.is_set()


def liveness(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


def readiness(request: HttpRequest) -> HttpResponse:
    if is_draining():
        response = JsonResponse({"status": "draining"}, status=503)
        response._has_been_logged = True  # expected while draining: no error per probe
        return response
    results = probes.readiness_probes()
    checks = {result.name: result.as_json() for result in results}
    failed = [result.name for result in results if not result.ok]
    if failed:
        return JsonResponse({"status": "unready", "failed": failed, "checks": checks},
                            status=503)
    return JsonResponse({"status": "ready", "checks": checks})


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
        return response
