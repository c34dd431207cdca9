"""Moa's error pages: a 400, 403, 404 or 500 outside /api/ is a page in the site's
layout saying what happened and where to go, whatever DEBUG says (under /api/ the
handlers answer JSON, whatever DEBUG says too: project/api_errors.py).

Why whatever DEBUG says: the embedded default (`make run`) runs with DEBUG on for
what it gives a developer (static files straight from the app folders, reloaded as
they change), and it is also what a new person tries first. With DEBUG on, Django
answers a 400, 404 or 500 with its debug page (the URL patterns, settings, a
traceback) instead of calling the handlers; `DebugErrorsAsPages` puts the handlers'
answer in its place. The traceback of a 500 is in the console log either way, with the
request id the page shows.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import loader
from django.urls import get_resolver, get_urlconf

from project.logcontext import request_id_var

PAGES = {
    400: ("The request could not be read",
          "Your browser sent something this server cannot read. Go back, reload the page "
          "and try again."),
    403: ("You may not open this page",
          "Your account does not have access to it. If someone shared the link, ask them "
          "to add you to their team."),
    404: ("Page not found",
          "Nothing is at this address, or it is not yours to see: a team or map you are "
          "not a member of looks the same. Check the address, or start from your teams."),
    500: ("Something went wrong on our side",
          "The server failed while answering; it is logged. Try again in a minute."),
}
CSRF_FAILED = ("This form has expired",
               "The page was open too long, or you signed in or out in another tab since "
               "it loaded. Go back, reload the page and send the form again.")


def page(request: HttpRequest, status: int, heading: str | None = None,
         explanation: str | None = None) -> HttpResponse:
    """The error page of `status`, rendered with the request's context (the signed-in
    user's links in the bar)."""
    default_heading, default_explanation = PAGES[status]
    response = render(request, "error.html", {
        "heading": heading or default_heading,
        "explanation": explanation or default_explanation}, status=status)
    response.moa_error_page = True
    return response


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return page(request, 400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return page(request, 403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return page(request, 404)


def server_error(request: HttpRequest | None = None) -> HttpResponse:
    """Without the request's context: the session, the user or the database may be
    what failed, and this page must still render."""
    heading, explanation = PAGES[500]
    body = loader.get_template("500.html").render({
        "heading": heading, "explanation": explanation, "request_id": request_id_var.get()})
    response = HttpResponse(body, status=500)
    response.moa_error_page = True
    return response


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: Django's page names the middleware's reason (a missing
    cookie, a bad Referer), which tells a person nothing they can do."""
    return page(request, 403, *CSRF_FAILED)


def status_of(exception: BaseException) -> int:
    """The status Django gives a view's exception without DEBUG."""
    if isinstance(exception, Http404):
        return 404
    if isinstance(exception, PermissionDenied):
        return 403
    if isinstance(exception, (BadRequest, SuspiciousOperation)):
        return 400
    return 500


class DebugErrorsAsPages:
    """With DEBUG on, what the handlers answer with DEBUG off, in place of Django's
    debug page: Moa's page outside /api/, the JSON error under it.

    A view's exception is noted on its way past (`process_exception`); a 404 or 500
    with no `resolver_match` is a URL that nothing matched or a failure before any
    view (a middleware's). Django has logged the failure by then; only the answer
    changes. Answers a view chose (an API's 404, a form answered 400) pass as they are.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not settings.DEBUG or getattr(response, "moa_error_page", False):
            return response
        failure = getattr(request, "moa_view_failure", None)
        if failure is not None:
            status = status_of(failure)
        elif response.status_code in (404, 500) and request.resolver_match is None:
            status, failure = response.status_code, Http404()
        else:
            return response
        handler = get_resolver(get_urlconf()).resolve_error_handler(status)
        return handler(request) if status == 500 else handler(request, failure)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        request.moa_view_failure = exception  # Django goes on to answer it
