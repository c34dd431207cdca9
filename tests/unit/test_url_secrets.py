"""No URL secret in a log line: the redaction itself and the filter on log records."""

import json
import logging

import pytest

from project.logcontext import RedactFilter
from project.url_secrets import REDACTED, redact

VIDEO = "0b7e6c1e-4a1b-4c2d-9e3f-445566778899"
SIGNED = ".eJwrSizPTSxKTixJzE3V0c3ILE4tKkosVrIy0jE0NDcxNjYxMTczMbQ0MjK0AACnHQom:1u2Ee:Ab-c_D"


@pytest.mark.parametrize(("url", "expected"), [
    (f"/api/v1/videos/{VIDEO}/hls/{SIGNED}/360p/seg_00001.ts",
     f"/api/v1/videos/{VIDEO}/hls/{REDACTED}/360p/seg_00001.ts"),
    (f"/api/v1/storage/upload/{SIGNED}/", f"/api/v1/storage/upload/{REDACTED}/"),
    ("/accounts/password-reset/MQ/cl2x9k-5f1e0a9b8c7d6e5f4a3b2c1d/",
     f"/accounts/password-reset/MQ/{REDACTED}/"),
    ("/accounts/invitation/MQ/cl2x9k-5f1e0a9b8c7d6e5f4a3b2c1d/",
     f"/accounts/invitation/MQ/{REDACTED}/"),
    (f"/accounts/verify/{SIGNED}/", f"/accounts/verify/{REDACTED}/"),
    (f"/accounts/verify/{SIGNED}", f"/accounts/verify/{REDACTED}"),  # before APPEND_SLASH
    ("/ws/ping/?token=s3cr3t-API-token", f"/ws/ping/?token={REDACTED}"),
    ("/ws/jobs/?x=1&token=s3cr3t&y=2", f"/ws/jobs/?x=1&token={REDACTED}&y=2"),
    ("https://b.s3.amazonaws.com/k?X-Amz-Security-Token=abc&X-Amz-Signature=f00",
     f"https://b.s3.amazonaws.com/k?X-Amz-Security-Token={REDACTED}"
     f"&X-Amz-Signature={REDACTED}"),
])
def test_every_kind_of_url_secret_is_replaced(url, expected):
    assert redact(url) == expected
    assert redact(f'GET "{url}" 404') == f'GET "{expected}" 404'  # inside a line too


@pytest.mark.parametrize("url", [
    "/accounts/password-reset/", "/accounts/password-reset/sent/",
    "/accounts/password-reset/done/", "/accounts/login/?next=/teams/",
    f"/api/v1/videos/{VIDEO}/", "/api/v1/storage/upload/",
])
def test_urls_without_a_secret_are_left_alone(url):
    assert redact(url) == url


def record(name: str, msg: str, args=(), **extra) -> logging.LogRecord:
    made = logging.getLogger(name).makeRecord(name, logging.WARNING, __file__, 1, msg, args,
                                              None, extra=extra or None)
    assert RedactFilter().filter(made)
    return made


def test_django_request_lines_and_the_request_they_carry_are_redacted(rf):
    from pythonjsonlogger.json import JsonFormatter

    path = f"/api/v1/videos/{VIDEO}/hls/{SIGNED}/master.m3u8"
    request = rf.get(path, {"token": "s3cr3t"})
    line = record("django.request", "Not Found: %s", (path,), request=request,
                  status_code=404)
    printed = JsonFormatter("%(message)s").format(line)
    assert SIGNED not in printed and "s3cr3t" not in printed
    assert json.loads(printed)["message"] == (
        f"Not Found: /api/v1/videos/{VIDEO}/hls/{REDACTED}/master.m3u8")
    assert json.loads(printed)["status_code"] == 404


def test_runserver_access_lines_with_a_mapping_keep_their_numbers():
    line = record("django.channels.server", "HTTP %(method)s %(path)s %(status)s [%(t).2f]",
                  ({"method": "PUT", "path": f"/api/v1/storage/upload/{SIGNED}/",
                    "status": 403, "t": 0.5},))
    assert line.getMessage() == f"HTTP PUT /api/v1/storage/upload/{REDACTED}/ 403 [0.50]"


def test_our_own_lines_are_redacted_in_the_message_itself():
    line = record("moa.test", "opened /ws/ping/?token=s3cr3t for %s after %d tries",
                  ("alice", 3))
    assert line.getMessage() == f"opened /ws/ping/?token={REDACTED} for alice after 3 tries"
