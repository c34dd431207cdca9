"""Every REST error is `{"detail": "<for a person>", "code": "<machine code>"}`."""

import logging

from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


def exception_handler(exc, context):
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # not an API exception: Django's 500 handling and logging take it
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        body = {"detail": _first_message(data), "code": "invalid", "errors": data}
    else:
        detail = data.get("detail", "") if isinstance(data, dict) else data
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        body = {"detail": str(detail), "code": code}
    if response.status_code >= 500:
        logger.error("API %s: %s", response.status_code, body["detail"])
    return Response(body, status=response.status_code, headers=_headers(response))


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
