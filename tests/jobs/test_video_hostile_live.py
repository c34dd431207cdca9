"""The hostile corpus through real processes: Moa's Daphne entry point and a
`manage.py runworker jobs.video` sharing PostgreSQL, Redis and local storage. Every
file goes through the REST flow a script follows (bearer token, upload URL,
upload-complete) and its job ends FAILED with its code; afterwards both processes
are alive, /health/ answers and the same worker still encodes a good clip. The
worker also sweeps an abandoned upload when it starts."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from django.utils import timezone

from media_pipeline.models import Video
from tests.helpers import ROOT
from tests.jobs import clips, hostile
from tests.jobs.test_workers import wait_for
from tests.processes import daphne, free_port, job_ended, serving, shared_database_url, stop

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis, pytest.mark.slow]
JOB_SECONDS = 30


@contextlib.contextmanager
def video_worker(env: dict[str, str], log_path: Path):
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "manage.py", "runworker", "jobs.video"],
                                   cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            stop(process)


def send(api: httpx.Client, path: Path) -> tuple[str, str]:
    """The upload flow: ask, PUT the bytes, say it is done; (video id, job id)."""
    body = path.read_bytes()
    created = api.post("/api/v1/videos/", json={"title": path.name, "filename": path.name,
                                                "size": len(body), "content_type": "video/mp4"})
    assert created.status_code == 201, created.text
    grant = created.json()["upload"]
    put = httpx.put(grant["url"], content=body, headers=grant["headers"], timeout=30)
    assert put.status_code == 200, put.text
    video_id = created.json()["video"]["id"]
    done = api.post(f"/api/v1/videos/{video_id}/upload-complete/")
    assert done.status_code == 202, done.text
    return video_id, done.json()["job"]["id"]


def test_hostile_uploads_fail_and_leave_the_web_and_the_worker_serving(alice, token_for,
                                                                        tmp_path):
    bait = hostile.Bait(tmp_path)
    try:
        corpus = hostile.corpus(tmp_path, bait)
        good = clips.clip(tmp_path / "good.mp4", size="320x240", seconds=1)
        abandoned = Video.objects.create(owner=alice, title="abandoned", filename="a.mp4",
                                         size=10, content_type="video/mp4")
        Video.objects.filter(pk=abandoned.pk).update(
            created_at=timezone.now() - timedelta(hours=3))
        env = {"DATABASE_URL": shared_database_url(),
               "STORAGE_LOCAL_ROOT": str(tmp_path / "media")}
        port = free_port()
        with serving(daphne(port), port, env) as server, \
                video_worker({**os.environ, **env}, tmp_path / "worker.log") as worker:
            api = httpx.Client(base_url=server.url, timeout=30,
                               headers={"Authorization": f"Bearer {token_for(alice)}"})
            sent = {name: send(api, path) for name, (path, _) in corpus.items()}
            ended = {name: job_ended(api, job_id, JOB_SECONDS * len(sent))
                     for name, (_, job_id) in sent.items()}
            assert server.process.poll() is None and worker.poll() is None
            assert httpx.get(f"{server.url}/health/").status_code == 200
            video_id, job_id = send(api, good)
            encoded = job_ended(api, job_id, 60)
            playable = api.get(f"/api/v1/videos/{video_id}/").json()
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
            wait_for(lambda: not Video.objects.filter(pk=abandoned.pk).exists(), 10,
                     "the worker sweeps the abandoned upload")
            assert "upload sweep: removed 1 abandoned" in (tmp_path / "worker.log").read_text()
    finally:
        bait.close()
    for name, (_, code) in corpus.items():
        job = ended[name]
        assert (job["status"], job["error_code"], job["attempts"]) == ("FAILED", code, 1), (
            name, job["error_message"])
        assert job["error_message"]
    assert encoded["status"] == "DONE", encoded["error_message"]
    assert playable["status"] == "READY" and playable["hls_url"]
    assert bait.touched == []

