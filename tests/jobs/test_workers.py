"""Real worker processes (`manage.py runworker`) against PostgreSQL and Redis."""

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import redis
import websockets
from django.conf import settings
from django.db import connection

from media_pipeline.jobs import actions as jobs
from media_pipeline.models import Job, WorkerHeartbeat
from tests.helpers import ROOT
from tests.processes import (
    daphne,
    free_port,
    serving,
    shared_database_url,
    stop,
    wait_for,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis, pytest.mark.slow]
LEASE = 3


@contextlib.contextmanager
def worker(log_name: str, **extra_env: str):
    env = {**os.environ, "DATABASE_URL": shared_database_url(),
           "JOB_LEASE_SECONDS": str(LEASE), **extra_env}
    log = open(f"/tmp/moa-{log_name}-{os.getpid()}.log", "w+")  # noqa: SIM115
    process = subprocess.Popen([sys.executable, "manage.py", "runworker", "jobs.video",
                                "jobs.excel"], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    process.log = log
    try:
        yield process
    finally:
        stop(process)
        log.close()


def output(process) -> str:
    process.log.flush()
    process.log.seek(0)
    return process.log.read()


def status(job) -> Job:
    return Job.objects.get(pk=job.pk)


def test_kill_9_mid_job_another_worker_finishes_it_exactly_once(alice):
    job = jobs.job_enqueue(kind="noop", owner=alice,
                           payload={"steps": 30, "step_seconds": 0.1})
    with worker("a") as first:
        wait_for(lambda: status(job).progress > 0, 20, "the first worker runs the job")
        first.kill()  # SIGKILL: no chance to release anything
        first.wait()
        killed_at = time.monotonic()
    with worker("b") as second:
        done = wait_for(lambda: (j := status(job)).status == "DONE" and j, LEASE + 5 + 5,
                        "the second worker finishes the job")
        assert time.monotonic() - killed_at <= LEASE + 5 + 5
        assert "reclaiming" in output(second)
    assert done.attempts == 2 and done.result == {"steps": 30, "attempt": 2}


def test_a_lost_wake_up_does_not_strand_the_job(alice):
    job = jobs.job_enqueue(kind="noop", owner=alice, payload={})
    # No worker heard the wake-up; delete it as an expiry would.
    client = redis.Redis.from_url(settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]
                                  ["address"])
    assert client.delete("moajobs.excel") == 1
    with worker("late"):
        wait_for(lambda: status(job).status == "DONE", settings.JOB_SWEEP_SECONDS + 15,
                 "the sweep finds the job")


def test_a_worker_outlives_its_database_connections_being_killed(alice):
    """A failover, a pooler restart, an idle-connection killer: the worker's connections
    die under it; it logs the failure and goes on claiming (it used to exit)."""
    with worker("reconnect", PGAPPNAME="moa-test-doomed-worker") as process:
        wait_for(lambda: WorkerHeartbeat.objects.exists(), 15, "the worker's heartbeat")
        wait_for(lambda: "terminated" in kill_connections("moa-test-doomed-worker")
                 and "database failed" in output(process), 30, "a failed claim")
        assert process.poll() is None, output(process)
        job = jobs.job_enqueue(kind="noop", owner=alice, payload={})
        wait_for(lambda: status(job).status == "DONE", settings.JOB_SWEEP_SECONDS + 20,
                 "the job done after the connections came back")


def kill_connections(application: str) -> str:
    """Terminate the connections of one program (libpq's PGAPPNAME) to the test
    database, none of the suite's own: 'terminated' if any."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND application_name = %s",
                       [application])
        (count,) = cursor.fetchone()
    return "terminated" if count else ""


def test_two_workers_racing_for_100_jobs_run_each_once(alice):
    queued = [jobs.job_enqueue(kind="noop", owner=alice, payload={}) for _ in range(100)]
    with worker("r1") as first, worker("r2") as second:
        wait_for(lambda: Job.objects.filter(status="DONE").count() == 100, 60,
                 "all 100 jobs done")
        logs = output(first) + output(second)
    rows = Job.objects.filter(pk__in=[job.pk for job in queued])
    assert set(rows.values_list("attempts", flat=True)) == {1}
    assert all(row.result == {"steps": 0, "attempt": 1} for row in rows)
    assert "reclaiming" not in logs


def test_sigterm_lets_the_current_job_finish_then_exits(alice):
    job = jobs.job_enqueue(kind="noop", owner=alice, payload={"steps": 10, "step_seconds": 0.1})
    with worker("term") as process:
        wait_for(lambda: status(job).status == "RUNNING", 20, "the job starts")
        wait_for(lambda: WorkerHeartbeat.objects.exists(), 10, "a heartbeat")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=settings.JOB_STOP_GRACE_SECONDS + 10) == 0
    assert status(job).status == "DONE"
    assert not WorkerHeartbeat.objects.exists()  # a clean exit says goodbye


def test_progress_reaches_the_browser_in_order_and_ends_as_rest_says(alice, token_for, client):
    token = token_for(alice)
    port = free_port()
    with serving(daphne(port), port, {"DATABASE_URL": shared_database_url()}) as server, \
            worker("ws"):
        events = asyncio.run(watch_job(server.url, token, lambda: jobs.job_enqueue(
            kind="noop", owner=alice, payload={"steps": 8, "step_seconds": 0.3})))
        final = events[-1]
    assert final["status"] == "DONE"
    progress = [event["progress"] for event in events]
    versions = [event["version"] for event in events]
    assert progress == sorted(progress) and progress[-1] == 100
    assert versions == sorted(versions)
    # The snapshot on connect and a live event can both carry a version: the same one.
    # (`queue` is computed when sent, so only the job's own fields are compared.)
    by_version = {}
    for event in events:
        state = {k: v for k, v in event.items() if k != "queue"}
        assert by_version.setdefault(event["version"], state) == state
    assert len(events) >= 4  # PENDING, RUNNING, some progress, DONE
    client.force_login(alice)
    rest = client.get(f"/api/v1/jobs/{final['id']}/").json()
    assert {k: rest[k] for k in ("status", "progress", "version", "result")} == \
        {k: final[k] for k in ("status", "progress", "version", "result")}


async def watch_job(base_url: str, token: str, enqueue) -> list[dict]:
    """Connect to /ws/jobs/, call `enqueue()` (returns a job), collect that job's
    events until it ends."""
    from channels.db import database_sync_to_async

    url = base_url.replace("http", "ws", 1) + f"/ws/jobs/?token={token}"
    events = []
    async with websockets.connect(url) as ws:
        job = await database_sync_to_async(enqueue)()
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
            if frame["job"]["id"] != str(job.pk):
                continue
            events.append(frame["job"])
            if frame["job"]["status"] in ("DONE", "FAILED", "CANCELLED"):
                return events


def test_video_progress_rises_to_100_over_the_jobs_socket(alice, token_for, tmp_path):
    """A real worker encodes a real clip; the browser's socket sees every stage."""
    from media_pipeline import storage
    from media_pipeline.videos import actions
    from tests.jobs import clips

    source = clips.clip(tmp_path / "talk.mp4", size="1280x720", seconds=6)
    video, _ = actions.video_create(owner=alice, team_id=None, title="Talk",
                                    filename="talk.mp4", size=source.stat().st_size,
                                    content_type="video/mp4")
    storage.put_file(video.original_key, str(source), "video/mp4")
    port = free_port()
    with serving(daphne(port), port, {"DATABASE_URL": shared_database_url()}) as server, \
            worker("video"):
        events = asyncio.run(watch_job(server.url, token_for(alice), lambda: (
            actions.video_upload_complete(video_id=video.id, parts=None))))
    storage.delete_prefix(f"videos/{video.id}/")
    assert events[-1]["status"] == "DONE", events[-1]["error_message"]
    progress = [event["progress"] for event in events]
    assert progress == sorted(progress) and progress[-1] == 100
    stages = [event["stage"] for event in events]
    for stage in ("probing", "encoding 360p", "uploading 360p", "encoding 720p", "done"):
        assert stage in stages
    assert stages.index("360p playable") < stages.index("encoding 720p")
    assert [r["name"] for r in events[-1]["result"]["renditions"]] == ["360p", "480p", "720p"]


def test_import_progress_reaches_the_browser_by_rows(alice, token_for, tmp_path):
    from collab.actions import team_create
    from media_pipeline import storage
    from tests.jobs import sheets

    team = team_create(owner=alice, name="Importers")
    path = sheets.workbook(tmp_path / "m.xlsx", sheets.members(3000))
    key = "imports/progress-test.xlsx"
    storage.put_file(key, str(path), "application/octet-stream")
    port = free_port()
    with serving(daphne(port), port, {"DATABASE_URL": shared_database_url()}) as server, \
            worker("import"):
        events = asyncio.run(watch_job(server.url, token_for(alice), lambda: jobs.job_enqueue(
            kind="excel.import", owner=alice, team_id=team.pk,
            payload={"key": key, "team": team.pk, "sha256": "", "dry_run": False})))
    assert events[-1]["status"] == "DONE", events[-1]["error_message"]
    assert events[-1]["result"]["counts"]["created"] == 3000
    progress = [event["progress"] for event in events]
    assert progress == sorted(progress) and progress[-1] == 100
    # Rows are read in milliseconds here, faster than progress is throttled: the stage
    # change to "checking" carries the count.
    assert {"reading", "checking", "applying"} <= {event["stage"] for event in events}
    assert any(event["stage"] == "checking" and event["message"] == "3000 rows read"
               for event in events)
    with pytest.raises(storage.StorageError):
        storage.size(key)  # the upload is deleted once the job ends
