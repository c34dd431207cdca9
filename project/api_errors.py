"""Every REST error is `{"detail": "<for a person>", "code": "<machine code>"}`.

A server-side failure (5xx) adds `request_id`, the id of X-Request-ID and of every log
line of the request, and names it in `detail`: a person can quote it, an operator finds
the logs; what failed inside (a bucket, a key, a host) stays in the logs.

DRF views answer through `exception_handler`, which also answers the services' domain
refusals (project/refusals.py) with their own status and code. What fails outside
them under /api/ (a URL no view matches, an error in a middleware, such as the session
lookup with the database down) reaches Django's handler400/403/404/500, which project/urls.py points
here. Pages outside /api/ get Moa's error pages (project/error_pages.py), whatever DEBUG
says.
"""

import logging
import sys

from django import db
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from project import error_pages
from project.logcontext import request_id_var
from project.refusals import Refusal

logger = logging.getLogger(__name__)

# The database is down, unreachable, went away mid-request or gave up on a query (a
# timeout, a deadlock): the client can only retry.
DATABASE_DOWN = (db.OperationalError, db.InterfaceError)


class DatabaseUnavailable(exceptions.APIException):
    status_code = 503
    default_code = "unavailable"
    default_detail = "The database is unavailable; try again in a minute."


class Conflict(exceptions.APIException):
    """The object is not in a state that allows this."""

    status_code = 409
    default_code = "conflict"


class Gone(exceptions.APIException):
    """What was asked for existed once and is no longer kept."""

    status_code = 410
    default_code = "gone"


def exception_handler(exc, context):
    if isinstance(exc, DATABASE_DOWN):
        logger.error("database unavailable: %s", exc)
        exc = DatabaseUnavailable()
    elif isinstance(exc, Refusal):
        logger.info("refused: %s", exc)
        answer = exceptions.APIException(exc.public, exc.code)
        answer.status_code = exc.status
        exc = answer
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # not an API exception: Django's 500 handling and logging take it
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        body = {"detail": _first_message(data), "code": "invalid", "errors": data}
    else:
        detail = data.get("detail", "") if isinstance(data, dict) else data
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        body = error_body(response.status_code, str(detail), code)
    if response.status_code >= 500:
        logger.error("API %s: %s", response.status_code, body["detail"])
    return Response(body, status=response.status_code, headers=_headers(response))


def error_body(status: int, detail: str, code: str) -> dict:
    """The error object; a 5xx one carries the request id, in `detail` too."""
    request_id = request_id_var.get()
    if status < 500 or not request_id:
        return {"detail": detail, "code": code}
    return {"detail": f"{detail.rstrip('.')} (request {request_id}).", "code": code,
            "request_id": request_id}


def bad_request(request: HttpRequest, exception: Exception):
    """handler400: a body over DATA_UPLOAD_MAX_MEMORY_SIZE, a disallowed Host, a
    malformed form."""
    if not _is_api(request):
        return error_pages.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        return _answer(413, "The request body is over the limit.", "too_large")
    return _answer(400, "The request could not be read.", "bad_request")


def permission_denied(request: HttpRequest, exception: Exception):
    """handler403: a refusal raised outside a DRF view."""
    if not _is_api(request):
        return error_pages.permission_denied(request, exception)
    return _answer(403, "You do not have permission to perform this action.",
                   "permission_denied")


def not_found(request: HttpRequest, exception: Exception):
    """handler404: under /api/, a URL that no endpoint answers."""
    if not _is_api(request):
        return error_pages.page_not_found(request, exception)
    return _answer(404, "No such endpoint.", "not_found")


def server_error(request: HttpRequest):
    """handler500. Django calls it while handling the exception, so it can tell a
    database outage (503, retry) from a bug (500, logged with its traceback by Django)."""
    if not _is_api(request):
        return error_pages.server_error(request)
    if isinstance(sys.exception(), DATABASE_DOWN):
        return _answer(503, DatabaseUnavailable.default_detail, "unavailable")
    return _answer(500, "Something went wrong on our side; it is logged.", "server_error")


def _answer(status: int, detail: str, code: str) -> JsonResponse:
    return JsonResponse(error_body(status, detail, code), status=status)


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def _headers(response) -> dict:
    return {key: value for key, value in response.items() if key != "Content-Type"}


def _first_message(data) -> str:
    """The first field error, as 'field: message', so `detail` alone is enough to act."""
    if isinstance(data, list):
        return _first_message(data[0]) if data else "Invalid input."
    if isinstance(data, dict):
        for field, errors in data.items():
            message = _first_message(errors)
            return message if field == "non_field_errors" else f"{field}: {message}"
        return "Invalid input."
    return str(data)
