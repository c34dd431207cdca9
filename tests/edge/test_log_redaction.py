"""No URL secret in nginx's access log, nor in what the web instance prints (Moa's log
lines and Daphne's access lines), after a WebSocket opened with ?token= and requests
to playback, upload, password-reset, invitation and verification URLs."""

import asyncio
import re
import ssl
import time
import uuid

import httpx
import pytest
import websockets

from project.url_secrets import REDACTED, redact
from tests.helpers import PRODUCTION_ENV

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

HOST = "moa.example.com"


async def open_and_close(url: str, context: ssl.SSLContext) -> str:
    async with websockets.connect(url, ssl=context, open_timeout=10) as ws:
        return await asyncio.wait_for(ws.recv(), 10)


def wait_for(read, expected: list[str], timeout: float = 10) -> str:
    """What `read()` returns once it holds every expected piece (log lines of a closed
    WebSocket are written when it closes)."""
    deadline = time.monotonic() + timeout
    while not all(piece in (text := read()) for piece in expected):
        assert time.monotonic() < deadline, f"never logged: {expected} in\n{text}"
        time.sleep(0.1)
    return text


def test_no_token_reaches_a_log_line(edge, alice, token_for):
    api_token = token_for(alice)
    signed = {name: f"{name}.{uuid.uuid4().hex}:1uQx7Z:b-c_D" for name in
              ("hls", "upload", "reset", "invitation", "verify")}
    paths = [
        f"/api/v1/videos/{uuid.uuid4()}/hls/{signed['hls']}/360p/seg_00000.ts",
        f"/api/v1/storage/upload/{signed['upload']}/",
        f"/accounts/password-reset/MQ/{signed['reset']}/",
        f"/accounts/invitation/MQ/{signed['invitation']}/",
        f"/accounts/verify/{signed['verify']}/",
    ]
    secrets = [api_token, *signed.values()]
    with edge(env={**PRODUCTION_ENV, "STORAGE_BACKEND": "local"}) as (proxy, servers):
        context = ssl.create_default_context(cafile=proxy.ca_file)
        welcome = asyncio.run(open_and_close(
            proxy.https_url.replace("https", "wss", 1) + f"/ws/ping/?token={api_token}",
            context))
        assert '"welcome"' in welcome
        with httpx.Client(verify=context, headers={"Host": HOST}, timeout=10) as http:
            answers = [http.get(proxy.https_url + paths[0]),
                       http.put(proxy.https_url + paths[1], content=b"x"),
                       *(http.get(proxy.https_url + path) for path in paths[2:])]
        assert [answer.status_code for answer in answers][:2] == [404, 403]
        logged = [redact(path) for path in paths]
        nginx_log = wait_for(lambda: "\n".join(proxy.access_lines()),
                             ["GET /ws/ping/ ", *logged])
        instance_log = wait_for(servers[0].output, ["WSDISCONNECT /ws/ping/",
                                                    f"Forbidden: {logged[1]}"])
    for text in (nginx_log, instance_log):
        for secret in secrets:
            assert secret not in text
    # nginx's maps and Moa's redaction hide the same segments.
    requested = re.findall(r'"[A-Z]+ (\S+) HTTP/1\.1"', nginx_log)
    assert all(path in requested for path in logged)
    assert all(path.count(REDACTED) == 1 for path in logged)
