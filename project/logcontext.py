"""Request and job ids carried into every log line, for text and JSON logs alike, and
no URL secret in any of them.

Context variables follow a request through sync_to_async threads and a job through
its handler, so a log line says which request or job it belongs to without every
call site passing ids around.
"""

import contextvars
import logging
import re
import uuid

from project.url_secrets import redact

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
job_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("job_id", default="")

# A client may send its own id (nginx's $request_id); accept only a sane one.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class ContextFilter(logging.Filter):
    """Adds request_id and job_id to every record (empty when not in one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = getattr(record, "request_id", None) or request_id_var.get()
        record.job_id = getattr(record, "job_id", None) or job_id_var.get()
        return True


class RedactFilter(logging.Filter):
    """Hides URL secrets (project/url_secrets.py) in a record's message, its string
    arguments, and the request django.request attaches (JSON logs print it: its repr
    holds the path and the query string)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, dict):
            record.args = {key: _redacted(value) for key, value in record.args.items()}
        elif record.args:
            record.args = tuple(_redacted(value) for value in record.args)
        if getattr(record, "request", None) is not None:
            record.request = redact(repr(record.request))
        return True


def _redacted(value):
    return redact(value) if isinstance(value, str) else value


class TextFormatter(logging.Formatter):
    """Readable development lines that show request and job ids only when present."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = " ".join(
            f"{key}={value}"
            for key in ("request_id", "job_id")
            if (value := getattr(record, key, ""))
        )
        return f"{line} [{context}]" if context else line


class RequestIdMiddleware:
    """Takes X-Request-ID from the proxy (or makes one) and echoes it on the response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response
