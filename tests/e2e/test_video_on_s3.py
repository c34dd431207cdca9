"""A video uploaded straight to S3 (moto's server, on an origin of its own) and played by
hls.js from presigned segment URLs: the Content-Security-Policy allows the storage
endpoint the settings name, and nothing breaks a policy on the way."""

from __future__ import annotations

import pytest

from tests.e2e.waits import upload_and_play
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
    upload_and_play(page, moa.url, source)
    assert "PUT" in storage_requests  # the upload went to the storage itself ...
    assert "GET" in storage_requests  # ... and so did the player, for segments
