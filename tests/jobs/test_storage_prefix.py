"""STORAGE_KEY_PREFIX (the seeds' R2_PREFIX) on S3 over HTTP (moto's standalone server)
and on the local disk: every object Moa writes, reads, lists and deletes lies under
it, while the keys Moa keeps stay its own; and VIDEO_CDN_BASE_URL sends segments to
the CDN at the prefixed key."""

from __future__ import annotations

import httpx
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.test import override_settings

from media_pipeline import storage
from media_pipeline.models import Video
from tests.jobs import clips
from tests.jobs.moto import s3_storages
from tests.jobs.video_flow import encode_and_open

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
PREFIX = "tenant-a/moa/"


def bucket_keys() -> list[str]:
    s3 = storages["default"]
    listed = s3.connection.meta.client.list_objects_v2(Bucket=s3.bucket_name)
    return sorted(item["Key"] for item in listed.get("Contents", []))


@pytest.fixture
def on_prefixed_s3(moto_url, client, alice, settings):
    """Alice signed in, on moto's S3, every key under PREFIX."""
    settings.STORAGE_KEY_PREFIX = PREFIX
    client.force_login(alice)
    with override_settings(STORAGES=s3_storages(moto_url), STORAGE_BACKEND="s3"):
        yield settings


def test_a_video_on_s3_lives_under_the_prefix_from_upload_to_delete(
        on_prefixed_s3, client, tmp_path):
    sent, _, master, segment = encode_and_open(client, clips.clip(tmp_path / "a.mp4",
                                                                  audio=False))
    fetched = httpx.get(segment["Location"])
    stored = bucket_keys()
    assert Video.objects.get(pk=sent["video"]).original_key == \
        f"videos/{sent['video']}/original"  # the database keeps Moa's key
    assert client.delete(f"/api/v1/videos/{sent['video']}/").status_code == 204
    left = bucket_keys()
    assert master.status_code == 200 and "360p/index.m3u8" in master.content.decode()
    assert f"/{PREFIX}videos/{sent['video']}/hls/360p/seg_00000.ts" in segment["Location"]
    assert fetched.status_code == 200 and fetched.content[:1] == b"\x47"  # MPEG-TS sync
    assert f"{PREFIX}videos/{sent['video']}/original" in stored
    assert f"{PREFIX}videos/{sent['video']}/hls/master.m3u8" in stored
    assert all(key.startswith(f"{PREFIX}videos/{sent['video']}/") for key in stored), stored
    assert left == []


def test_segments_and_thumbnails_redirect_to_the_cdn_at_the_prefixed_key(
        on_prefixed_s3, client, tmp_path):
    on_prefixed_s3.VIDEO_CDN_BASE_URL = "https://cdn.example.com/media"
    sent, video, master, segment = encode_and_open(client, clips.clip(tmp_path / "a.mp4",
                                                                      audio=False))
    thumbnail = client.get(video["thumbnail_url"])
    stored = bucket_keys()
    assert master.status_code == 200  # the playlists stay behind Moa's token
    base = f"https://cdn.example.com/media/{PREFIX}videos/{sent['video']}/hls/"
    assert segment.status_code == 302 and segment["Location"] == f"{base}360p/seg_00000.ts"
    assert thumbnail["Location"] == f"{base}thumbnail.jpg"
    for url in (segment["Location"], thumbnail["Location"]):  # what the CDN will fetch
        assert url.removeprefix("https://cdn.example.com/media/") in stored


def test_multipart_uploads_on_s3_are_under_the_prefix_and_listed_by_moas_keys(
        moto_url, settings):
    settings.STORAGE_KEY_PREFIX = PREFIX
    with override_settings(STORAGES=s3_storages(moto_url), STORAGE_BACKEND="s3"):
        upload_id = storage.multipart_start("videos/x/original", content_type="video/mp4")
        raw = storages["default"].connection.meta.client.list_multipart_uploads(
            Bucket=storages["default"].bucket_name)["Uploads"]
        listed = storage.multipart_uploads("videos/")
        storage.multipart_abort("videos/x/original", upload_id)
    assert [upload["Key"] for upload in raw] == [f"{PREFIX}videos/x/original"]
    assert [(key, found) for key, found, _ in listed] == [("videos/x/original", upload_id)]


def test_the_local_backend_keeps_every_key_under_the_prefix(local_storage, settings,
                                                            client, alice, tmp_path):
    settings.STORAGE_KEY_PREFIX = PREFIX
    storage.put("imports/list.xlsx", ContentFile(b"sheet"))
    assert (local_storage / PREFIX / "imports/list.xlsx").read_bytes() == b"sheet"
    assert storage.read_bytes("imports/list.xlsx") == b"sheet"
    client.force_login(alice)
    # Through Moa's own upload URL, on this backend.
    sent, _, _, segment = encode_and_open(client, clips.clip(tmp_path / "a.mp4", audio=False))
    assert segment.status_code == 200 and b"".join(segment.streaming_content)[:1] == b"\x47"
    folder = local_storage / PREFIX / "videos" / sent["video"]
    assert (folder / "original").is_file() and (folder / "hls/master.m3u8").is_file()
    assert sorted(path.name for path in local_storage.iterdir()) == ["tenant-a"]
    assert storage.delete_prefix("videos/") > 0 and not folder.exists()
