"""A large video uploaded to a real web process (Moa's Daphne entry point) on the local
backend, the way a script follows the grant. Daphne puts a request's whole body in
memory before Moa reads a byte of it, so one PUT of a 200 MiB file cost the web
process 200 MiB; in parts, no body is larger than one part and the process's peak
stays far below the file's size."""

from __future__ import annotations

import httpx
import pytest

from media_pipeline.models import Video
from tests.processes import daphne, free_port, peak_mib, serving, shared_database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
MiB = 2**20
SIZE = 200 * MiB
# The web process starts at about 100 MiB; a part of 16 MiB in flight adds about 20.
PEAK_LIMIT_MIB = 150


def send(grant: dict) -> dict:
    """PUT zeros where the grant says; the body of upload-complete."""
    if grant["method"] == "PUT":
        answer = httpx.put(grant["url"], content=bytes(SIZE), headers=grant["headers"],
                           timeout=60)
        assert answer.status_code == 200, answer.text
        return {}
    parts = []
    for part in grant["parts"]:
        answer = httpx.put(part["url"], content=bytes(part["size"]), timeout=60)
        assert answer.status_code == 200, answer.text
        parts.append({"part_number": part["part_number"], "etag": answer.headers["ETag"]})
    return {"parts": parts}


def test_a_large_local_upload_never_sits_whole_in_the_web_process(alice, token_for,
                                                                   tmp_path):
    media = tmp_path / "media"
    env = {"DATABASE_URL": shared_database_url(), "STORAGE_LOCAL_ROOT": str(media)}
    port = free_port()
    with serving(daphne(port), port, env) as server:
        api = httpx.Client(base_url=server.url, timeout=60,
                           headers={"Authorization": f"Bearer {token_for(alice)}"})
        created = api.post("/api/v1/videos/", json={
            "title": "Big", "filename": "big.mp4", "size": SIZE, "content_type": "video/mp4"})
        assert created.status_code == 201, created.text
        video_id, grant = created.json()["video"]["id"], created.json()["upload"]
        started_at = peak_mib(server.process.pid)
        done = api.post(f"/api/v1/videos/{video_id}/upload-complete/", json=send(grant))
        peak = peak_mib(server.process.pid)
    assert peak < PEAK_LIMIT_MIB, (
        f"the web process peaked at {peak:.0f} MiB ({started_at:.0f} MiB before the "
        f"upload) for a {SIZE // MiB} MiB upload ({grant['method']})")
    assert grant["method"] == "MULTIPART" and len(grant["parts"]) == 13
    assert done.status_code == 202, done.text
    assert done.json()["job"]["kind"] == "video.encode"
    assert (media / "videos" / video_id / "original").stat().st_size == SIZE
    assert not any((media / ".multipart").iterdir())  # the staged parts are gone
    assert Video.objects.get(pk=video_id).status == "UPLOADED"
