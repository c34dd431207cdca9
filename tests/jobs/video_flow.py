"""The upload flow a browser follows, and running the encode job in-process."""

from __future__ import annotations

from pathlib import Path

import httpx

from media_pipeline.jobs import actions as jobs
from media_pipeline.jobs.progress import JobContext
from media_pipeline.jobs.worker import execute
from media_pipeline.models import Job


def put_to_storage(client, grant: dict, body: bytes) -> None:
    """PUT where the grant says: Moa's local upload URL, or S3's presigned one."""
    if grant["url"].startswith("http://testserver/"):
        response = client.generic("PUT", grant["url"], body,
                                  content_type=grant["headers"]["Content-Type"])
    else:
        response = httpx.put(grant["url"], content=body, headers=grant["headers"])
    assert response.status_code == 200, response.content


def upload(client, path: Path, title: str = "Clip") -> dict:
    """What a browser does: ask, PUT the bytes where told, say it is done."""
    body = path.read_bytes()
    created = client.post("/api/v1/videos/", {"title": title, "filename": path.name,
                                              "size": len(body), "content_type": "video/mp4"},
                          content_type="application/json")
    assert created.status_code == 201, created.json()
    grant = created.json()["upload"]
    assert grant["method"] == "PUT"
    put_to_storage(client, grant, body)
    video_id = created.json()["video"]["id"]
    done = client.post(f"/api/v1/videos/{video_id}/upload-complete/")
    assert done.status_code == 202, done.json()
    return {"video": video_id, "job": done.json()["job"]}


def run_next_job() -> Job:
    claimed = jobs.job_claim(channels=["jobs.video"], worker_id="test")
    assert claimed is not None
    execute(JobContext(claimed))
    return Job.objects.get(pk=claimed.pk)


def encode_and_open(client, path: Path) -> tuple[dict, dict, object, object]:
    """Upload `path`, encode it here, and open it as a player does: what `upload`
    answered, the video's JSON, its master playlist and its first 360p segment."""
    sent = upload(client, path)
    assert run_next_job().status == "DONE"
    video = client.get(f"/api/v1/videos/{sent['video']}/").json()
    master = client.get(video["hls_url"])
    segment = client.get(video["hls_url"].replace("master.m3u8", "360p/seg_00000.ts"))
    return sent, video, master, segment


def create_video(client, size: int) -> dict:
    """POST /videos/ for a file of `size` bytes; its answer (video and upload grant)."""
    response = client.post("/api/v1/videos/", {"title": "Big", "filename": "big.mp4",
                                               "size": size, "content_type": "video/mp4"},
                           content_type="application/json")
    assert response.status_code == 201, response.json()
    return response.json()
