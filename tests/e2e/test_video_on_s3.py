"""A video uploaded straight to S3 (moto's server, on an origin of its own) and played by
hls.js from presigned segment URLs: the Content-Security-Policy allows the storage
endpoint the settings name, and nothing breaks a policy on the way."""

from __future__ import annotations

import pytest

from tests.e2e.waits import wait_until
from tests.jobs import clips
from tests.jobs.moto import BUCKET, moto_server

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.e2e]


@pytest.fixture
def storage_env():
    with moto_server() as url:
        yield {"STORAGE_BACKEND": "s3", "STORAGE_BUCKET": BUCKET, "STORAGE_ENDPOINT_URL": url,
               "STORAGE_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test",
               "AWS_SECRET_ACCESS_KEY": "test"}


def test_a_video_uploads_to_s3_and_plays_from_presigned_segments(page_as, alice, tmp_path,
                                                                   moa, storage_env):
    source = clips.clip(tmp_path / "clip.mp4", size="640x360", seconds=4)
    page = page_as(alice)
    storage_requests = []

    def seen(request) -> None:
        if request.url.startswith(storage_env["STORAGE_ENDPOINT_URL"]):
            storage_requests.append(request.method)

    page.on("request", seen)
    page.goto(f"{moa.url}/videos/")
    page.get_by_label("Title").fill("Stand-up")
    page.get_by_label("Video file").set_input_files(str(source))
    page.get_by_role("button", name="Upload").click()
    wait_until(page, "document.getElementById('upload-progress').value === 100")
    wait_until(page, "!document.getElementById('player').hidden", timeout=60_000)
    page.evaluate("() => { const p = document.getElementById('player'); p.muted = true; "
                  "return p.play().catch(() => null); }")
    wait_until(page, "document.getElementById('player').currentTime > 0", timeout=30_000)
    assert "PUT" in storage_requests  # the upload went to the storage itself ...
    assert "GET" in storage_requests  # ... and so did the player, for segments
