"""Metrics scraped from a real web process and a real worker after real traffic: ops
(applied and rejected), hellos, presence, jobs that succeed and fail, a member import
traced by its request id, and a drain (SIGTERM) with its 1012 closes."""

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid

import httpx
import pytest
import websockets
from prometheus_client.parser import text_string_to_metric_families

from collab.actions import map_create, team_create
from media_pipeline.jobs import actions as jobs
from media_pipeline.models import Job, WorkerHeartbeat
from tests.helpers import ROOT
from tests.jobs import sheets
from tests.jobs.test_workers import wait_for
from tests.processes import daphne, free_port, serving, shared_database_url, stop

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis, pytest.mark.slow]

TOKEN = "metrics-test-token-4f1c0b7e"
DRAIN_SECONDS = 3
REQUEST_ID = "trace-" + uuid.uuid4().hex[:12]


class Scrape:
    """One exposition, parsed: sample values by name and labels."""

    def __init__(self, text: str):
        self.samples = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                self.samples[(sample.name, frozenset(sample.labels.items()))] = sample.value

    def __call__(self, name: str, **labels) -> float:
        return self.samples[(name, frozenset(labels.items()))]

    def get(self, name: str, **labels) -> float | None:
        return self.samples.get((name, frozenset(labels.items())))


def finished(scraped: Scrape, attempts: int) -> Scrape | None:
    """`scraped` once it has timed `attempts` attempts."""
    timed = sum(value for (name, _), value in scraped.samples.items()
                if name == "moa_job_duration_seconds_count")
    return scraped if timed == attempts else None


def scrape(url: str, token: str | None = TOKEN) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(url, headers=headers, timeout=10)


@contextlib.contextmanager
def worker(env: dict[str, str], log_path):
    with open(log_path, "w+") as log:
        process = subprocess.Popen([sys.executable, "manage.py", "runworker", "jobs.video",
                                    "jobs.excel"], cwd=ROOT, env={**os.environ, **env},
                                   stdout=log, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            stop(process)


async def close_code(ws) -> int:
    """The code the server closes `ws` with (after the drain's `reconnect` frame)."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), DRAIN_SECONDS + 10)
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code


async def edit_a_map(ws_url: str) -> dict:
    """hello, three ops acked, one rejected (gone), one presence frame, a resync."""
    ws = await websockets.connect(ws_url, open_timeout=10)
    await ws.send(json.dumps({"type": "hello", "client_id": str(uuid.uuid4()), "since": None}))
    welcome = await next_frame(ws, "welcome")
    root = next(node["id"] for node in welcome["snapshot"]["nodes"] if node["parent"] is None)
    for title in ("one", "two", "three"):
        await ws.send(json.dumps({"type": "op", "op_id": str(uuid.uuid4()), "op": {
            "kind": "node.create", "node": {"id": str(uuid.uuid4()), "parent": root,
                                            "title": title}}}))
        await next_frame(ws, "op", "ops")
    await ws.send(json.dumps({"type": "op", "op_id": str(uuid.uuid4()), "op": {
        "kind": "node.update", "id": str(uuid.uuid4()), "set": {"title": "nobody"}}}))
    rejected = await next_frame(ws, "reject")
    await ws.send(json.dumps({"type": "presence", "cursor": {"x": 1.0, "y": 2.0},
                              "selection": [], "drag": None}))
    await ws.send(json.dumps({"type": "hello", "client_id": str(uuid.uuid4()), "since": 2}))
    resync = await next_frame(ws, "welcome")
    return {"ws": ws, "rejected": rejected, "resync": resync}


async def next_frame(ws, *kinds: str) -> dict:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if frame["type"] in kinds:
            return frame


def test_web_and_worker_metrics_after_real_traffic(alice, token_for, tmp_path):
    team = team_create(name="Crew", owner=alice)
    mindmap = map_create(team=team, title="Plan", actor=alice)
    good = jobs.job_enqueue(kind="noop", owner=alice, payload={})
    bad = jobs.job_enqueue(kind="noop", owner=alice, payload={"steps": -1})
    time.sleep(1.1)  # the oldest pending job waits at least a second
    user_token = token_for(alice)
    storage = {"STORAGE_LOCAL_ROOT": str(tmp_path / "media")}
    env = {"DATABASE_URL": shared_database_url(), "INTERNAL_API_TOKEN": TOKEN,
           "DRAIN_SECONDS": str(DRAIN_SECONDS), "DRAIN_JITTER_SECONDS": "0", **storage}
    port, worker_port = free_port(), free_port()
    loop = asyncio.new_event_loop()  # the map's socket lives across the test's phases
    with contextlib.closing(loop), serving(daphne(port), port, env) as web:
        metrics_url = f"{web.url}/metrics"
        # Nobody but the internal token's holder finds /metrics.
        assert scrape(metrics_url, token=None).status_code == 404
        assert scrape(metrics_url, token="not-" + TOKEN).status_code == 404
        before = scrape(metrics_url)
        assert before.status_code == 200
        first = Scrape(before.text)
        # The backlog, read from the database by the web role too: no worker yet.
        assert first("moa_jobs_pending", kind="noop", channel="jobs.excel") == 2
        assert first("moa_job_oldest_pending_seconds", kind="noop", channel="jobs.excel") >= 1
        assert first("moa_workers_alive", channel="jobs.excel") == 0
        assert first("moa_draining") == 0

        api = httpx.Client(base_url=web.url, timeout=30,
                           headers={"Authorization": f"Bearer {user_token}"})
        sheet = sheets.workbook(tmp_path / "m.xlsx", sheets.members(4))
        with open(sheet, "rb") as handle:
            posted = api.post(f"/api/v1/teams/{team.pk}/members/import/",
                              files={"file": ("m.xlsx", handle.read())},
                              headers={"X-Request-ID": REQUEST_ID})
        assert posted.status_code == 202, posted.text
        imported = posted.json()["job"]["id"]
        assert Job.objects.get(pk=imported).payload["request_id"] == REQUEST_ID

        ws_url = (web.url.replace("http", "ws", 1)
                  + f"/ws/mindmap/{team.pk}/{mindmap.pk}/?token={user_token}")
        edited = loop.run_until_complete(edit_a_map(ws_url))
        assert edited["rejected"]["code"] == "gone"
        assert edited["resync"]["ops"] is not None  # the ops after seq 2: a replay

        with worker({**env, "WORKER_METRICS_PORT": str(worker_port)},
                    tmp_path / "worker.log"):
            ids = [good.pk, bad.pk, imported]
            wait_for(lambda: Job.objects.filter(pk__in=ids, status__in=["DONE", "FAILED"])
                     .count() == 3, 60, "the three jobs end")
            wait_for(lambda: WorkerHeartbeat.objects.exists(), 10, "a heartbeat")
            assert api.get(f"/api/v1/jobs/{imported}/").json()["status"] == "DONE"
            # An attempt is timed once its end is stored: a scrape can come between.
            at_worker = wait_for(lambda: finished(Scrape(scrape(
                f"http://127.0.0.1:{worker_port}/metrics", token=None).text), 3), 10,
                "the worker's metrics count three attempts")
            runner_output = (tmp_path / "worker.log").read_text()
        assert Job.objects.get(pk=bad.pk).error_code == "INPUT_INVALID"

        # The worker: each attempt by kind and outcome, the failure's code, the claims.
        assert at_worker("moa_job_duration_seconds_count", kind="noop", outcome="done") == 1
        assert at_worker("moa_job_duration_seconds_count", kind="noop", outcome="failed") == 1
        assert at_worker("moa_job_duration_seconds_count", kind="excel.import",
                         outcome="done") == 1
        assert at_worker("moa_job_failures_total", kind="noop", code="INPUT_INVALID") == 1
        assert at_worker.get("moa_job_retries_total", kind="noop", code="INPUT_INVALID") is None
        assert at_worker("moa_job_claim_latency_seconds_count", kind="noop") == 2
        assert at_worker("moa_job_claim_latency_seconds_sum", kind="noop") >= 2
        assert at_worker("moa_import_rows_total") == 4
        assert at_worker("moa_import_rows_per_second_count") == 1
        assert at_worker("moa_job_fenced_writes_total") == 0
        assert at_worker("moa_jobs_pending", kind="noop", channel="jobs.excel") == 0
        assert at_worker("moa_job_oldest_pending_seconds", kind="noop", channel="jobs.excel") == 0
        assert at_worker("moa_workers_alive", channel="jobs.excel") == 1
        assert at_worker("moa_workers_alive", channel="jobs.video") == 1
        # One id from the browser's request to the job's log lines in the worker.
        traced = [line for line in runner_output.splitlines()
                  if f"request_id={REQUEST_ID}" in line and f"job_id={imported}" in line]
        assert any("done" in line for line in traced), runner_output[-3000:]

        # The web role: its socket, the ops, the hellos, presence, HTTP by route.
        at_web = Scrape(scrape(metrics_url).text)
        assert at_web("moa_ws_connections", endpoint="mindmap") == 1
        assert at_web("moa_ops_applied_total") == 3
        assert at_web("moa_ops_rejected_total", code="gone") == 1
        assert at_web("moa_op_ack_seconds_count") == 3
        assert 0 < at_web("moa_op_ack_seconds_sum") < 3
        assert at_web("moa_commit_batch_ops_sum") == 4  # the rejected op was checked too
        assert at_web("moa_hellos_total", welcome="snapshot") == 1
        assert at_web("moa_hellos_total", welcome="replay") == 1
        assert at_web("moa_resyncs_total") == 1
        assert at_web("moa_snapshot_bytes_count") == 1 and at_web("moa_snapshot_bytes_sum") > 0
        assert at_web("moa_presence_frames_total", direction="in") == 1
        assert at_web("moa_http_requests_total", route="/api/v1/teams/<int:team_id>/members/"
                      "import/", method="POST", status="202") == 1
        assert at_web("moa_http_requests_total", route="/metrics", method="GET",
                      status="404") == 2
        assert at_web("moa_http_request_duration_seconds_count",
                      route="/api/v1/jobs/<uuid:job_id>/", method="GET") == 1

        # A drain: readiness 503 at once, then every socket closed with 1012. The last
        # scrape's request line goes out before SIGTERM (a request in flight is let
        # finish after the listener has closed); its end, after the 1012.
        late = socket.create_connection(("127.0.0.1", port), timeout=10)
        late.sendall(f"GET /metrics HTTP/1.0\r\nAuthorization: Bearer {TOKEN}\r\n".encode())
        web.process.send_signal(signal.SIGTERM)
        wait_for(lambda: scrape(f"{web.url}/health/ready/", token=None).status_code == 503,
                 5, "readiness says draining")
        draining = Scrape(scrape(metrics_url).text)
        assert draining("moa_draining") == 1
        assert draining("moa_ws_closed_for_restart_total") == 0
        assert loop.run_until_complete(close_code(edited["ws"])) == 1012
        time.sleep(0.3)  # the server sees the close handshake end
        late.sendall(b"\r\n")
        answer = b""
        while chunk := late.recv(65536):
            answer += chunk
        late.close()
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") or head.startswith(b"HTTP/1.0 200"), head
        drained = Scrape(body.decode())
        assert drained("moa_ws_closed_for_restart_total") == 1
        assert drained("moa_ws_connections", endpoint="mindmap") == 0
        assert drained("moa_ws_disconnects_total", endpoint="mindmap", code="1012") == 1
        assert web.process.wait(timeout=DRAIN_SECONDS + 10) == 0


def test_a_worker_whose_metrics_port_is_taken_refuses_to_start(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "manage.py", "runworker", "jobs.excel"],
                              cwd=ROOT, env={**os.environ, "DATABASE_URL": shared_database_url(),
                                             "WORKER_METRICS_PORT": str(port)},
                              capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "WORKER_METRICS_PORT" in done.stderr and str(port) in done.stderr
