"""The video flow against S3 over HTTP (moto's standalone server): presigned PUT,
multipart upload with a failed part retried alone, playback through presigned
redirects, and storage failures answered as 503 with the request id (the details go
to the log); sizes bound in the presigned URLs and checked again at completion; the
sweep of abandoned uploads."""

from __future__ import annotations

import urllib.parse
import uuid
from datetime import timedelta

import httpx
import pytest
from django.core.files.storage import storages
from django.test import override_settings
from django.utils import timezone

from media_pipeline.models import Job, Video
from tests.jobs import clips
from tests.jobs.moto import s3_storages
from tests.jobs.video_flow import create_video, encode_and_open, run_next_job

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
MiB = 2**20


def test_encode_and_play_from_s3(moto_url, client, alice, tmp_path):
    source = clips.clip(tmp_path / "a.mp4", audio=False)
    client.force_login(alice)
    with override_settings(STORAGES=s3_storages(moto_url), STORAGE_BACKEND="s3"):
        _, video, master, segment = encode_and_open(client, source)
    assert video["status"] == "READY" and master.status_code == 200
    assert "360p/index.m3u8" in master.content.decode()
    assert segment.status_code == 302 and "X-Amz-Signature" in segment["Location"]
    fetched = httpx.get(segment["Location"])
    assert fetched.status_code == 200 and fetched.content[:1] == b"\x47"  # MPEG-TS sync byte
    assert fetched.headers["content-type"] == "video/mp2t"


def test_a_large_upload_goes_in_parts_and_a_failed_part_is_retried_alone(
        moto_url, client, alice, tmp_path, settings):
    settings.VIDEO_MULTIPART_THRESHOLD_BYTES = settings.VIDEO_PART_BYTES = 5 * MiB
    source = clips.clip(tmp_path / "big.mp4", seconds=4, audio=False, bitrate="14M")
    body = source.read_bytes()
    assert len(body) > 5 * MiB
    client.force_login(alice)
    with override_settings(STORAGES=s3_storages(moto_url), STORAGE_BACKEND="s3"):
        created = create_video(client, len(body))
        grant = created["upload"]
        assert grant["method"] == "MULTIPART" and len(grant["parts"]) == 2
        first, second = grant["parts"]
        assert (first["size"], second["size"]) == (5 * MiB, len(body) - 5 * MiB)
        one = httpx.put(first["url"], content=body[:5 * MiB])
        # Part 2's connection drops halfway: S3 keeps what arrived under a wrong ETag.
        broken = httpx.put(second["url"], content=body[5 * MiB: 5 * MiB + 1000])
        complete = f"/api/v1/videos/{created['video']['id']}/upload-complete/"
        refused = client.post(complete, {"parts": [
            {"part_number": 1, "etag": one.headers["ETag"]},
            {"part_number": 2, "etag": "\"0123456789abcdef0123456789abcdef\""}]},
            content_type="application/json")
        assert refused.status_code == 409
        assert "Part 2 holds 1000 bytes" in refused.json()["detail"]
        assert broken.status_code == 200
        two = httpx.put(second["url"], content=body[5 * MiB:])  # only that part again
        done = client.post(complete, {"parts": [
            {"part_number": 1, "etag": one.headers["ETag"]},
            {"part_number": 2, "etag": two.headers["ETag"]}]}, content_type="application/json")
        assert done.status_code == 202, done.json()
        job = run_next_job()
    assert job.status == "DONE", job.error_message
    assert Video.objects.get(pk=created["video"]["id"]).status == "READY"


def test_storage_refusing_the_credentials_is_503_with_the_request_id_never_the_bucket(
        moto_checking_credentials, client, alice, settings, caplog):
    settings.VIDEO_MULTIPART_THRESHOLD_BYTES = settings.VIDEO_PART_BYTES = 5 * MiB
    client.force_login(alice)
    with override_settings(STORAGES=s3_storages(moto_checking_credentials),
                           STORAGE_BACKEND="s3"):
        single = create_video(client, 1000)  # a presigned PUT is signed locally: no request yet
        complete = client.post(f"/api/v1/videos/{single['video']['id']}/upload-complete/")
        multipart = client.post("/api/v1/videos/", {
            "title": "t", "filename": "b.mp4", "size": 6 * MiB, "content_type": "video/mp4"},
            content_type="application/json")
    for answer in (complete, multipart):
        body = answer.json()
        assert answer.status_code == 503 and body["code"] == "storage_unavailable"
        assert body["request_id"] == answer["X-Request-ID"] and body["request_id"] in body["detail"]
        for secret in ("moa-test", "videos/", moto_checking_credentials.split("//")[1], "403",
                       "InvalidAccessKeyId"):
            assert secret not in answer.content.decode()
    logged = [record.getMessage() for record in caplog.records
              if record.name == "media_pipeline.storage"]
    assert "storage head of" in logged[0] and "moa-test" in logged[0] and "403" in logged[0]
    assert "multipart start" in logged[1] and "InvalidAccessKeyId" in logged[1]
    assert not Job.objects.exists() and Video.objects.count() == 1


def test_deleting_a_video_mid_upload_aborts_its_multipart_upload(moto_url, client, alice,
                                                                  settings):
    settings.VIDEO_MULTIPART_THRESHOLD_BYTES = settings.VIDEO_PART_BYTES = 5 * MiB
    client.force_login(alice)
    with override_settings(STORAGES=s3_storages(moto_url), STORAGE_BACKEND="s3"):
        created = create_video(client, 12 * MiB)
        key = f"videos/{created['video']['id']}/original"
        s3 = storages["default"].connection.meta.client

        def open_uploads():
            listed = s3.list_multipart_uploads(Bucket="moa-test", Prefix=key)
            return listed.get("Uploads", [])

        assert len(open_uploads()) == 1
        assert client.delete(f"/api/v1/videos/{created['video']['id']}/").status_code == 204
        assert open_uploads() == []
    assert not Video.objects.exists()


def signed_headers(url: str) -> list[str]:
    query = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)
    return query["X-Amz-SignedHeaders"][0].split(";")


def s3_client():
    return storages["default"].connection.meta.client


def test_a_part_of_another_size_is_refused_at_completion_and_never_joined(
        moto_url, client, alice, settings):
    """S3 refuses a PUT whose Content-Length differs from the signed one; moto does not
    check signatures, so the oversized part lands here and completion must catch it."""
    settings.VIDEO_MULTIPART_THRESHOLD_BYTES = settings.VIDEO_PART_BYTES = 5 * MiB
    client.force_login(alice)
    with override_settings(STORAGES=s3_storages(moto_url), STORAGE_BACKEND="s3"):
        created = create_video(client, 7 * MiB)
        first, second = created["upload"]["parts"]
        assert all("content-length" in signed_headers(part["url"]) for part in (first, second))
        one = httpx.put(first["url"], content=b"a" * 5 * MiB)
        too_big = httpx.put(second["url"], content=b"b" * 3 * MiB)  # 2 MiB were granted
        assert too_big.status_code == 200  # moto: no signature check
        complete = f"/api/v1/videos/{created['video']['id']}/upload-complete/"
        parts = [{"part_number": 1, "etag": one.headers["ETag"]},
                 {"part_number": 2, "etag": too_big.headers["ETag"]}]
        refused = client.post(complete, {"parts": parts}, content_type="application/json")
        assert refused.status_code == 409
        assert refused.json()["detail"].startswith(
            f"Part 2 holds {3 * MiB} bytes; {2 * MiB} were granted")
        key = f"videos/{created['video']['id']}/original"
        assert s3_client().list_multipart_uploads(Bucket="moa-test", Prefix=key)["Uploads"]
        only_one = client.post(complete, {"parts": parts[:1]}, content_type="application/json")
        assert only_one.status_code == 409 and "parts 1-2" in only_one.json()["detail"]
        right = httpx.put(second["url"], content=b"b" * 2 * MiB)
        parts[1]["etag"] = right.headers["ETag"]
        done = client.post(complete, {"parts": parts}, content_type="application/json")
        assert done.status_code == 202, done.json()
        assert s3_client().head_object(Bucket="moa-test", Key=key)["ContentLength"] == 7 * MiB


def test_a_single_put_of_another_size_is_deleted_before_the_409(moto_url, client, alice):
    client.force_login(alice)
    with override_settings(STORAGES=s3_storages(moto_url), STORAGE_BACKEND="s3"):
        created = create_video(client, 1000)
        assert "content-length" in signed_headers(created["upload"]["url"])
        put = httpx.put(created["upload"]["url"], content=b"x" * 50_000,
                        headers=created["upload"]["headers"])
        assert put.status_code == 200  # moto: no signature check
        refused = client.post(f"/api/v1/videos/{created['video']['id']}/upload-complete/")
        listed = s3_client().list_objects_v2(Bucket="moa-test",
                                             Prefix=f"videos/{created['video']['id']}/")
    assert refused.status_code == 409
    assert "held 50000 bytes; 1000 were declared" in refused.json()["detail"]
    assert listed.get("KeyCount") == 0  # the oversized object does not stay


def test_the_sweep_aborts_abandoned_and_orphaned_multipart_uploads(moto_url, client, alice,
                                                                   settings):
    """moto answers every upload's Initiated as 2010-11-10: any upload without a video
    is old enough to be an orphan here (the age rule: tests/unit/test_upload_rules.py)."""
    from media_pipeline import storage
    from media_pipeline.videos import upload_sweep

    settings.VIDEO_MULTIPART_THRESHOLD_BYTES = settings.VIDEO_PART_BYTES = 5 * MiB
    client.force_login(alice)
    with override_settings(STORAGES=s3_storages(moto_url), STORAGE_BACKEND="s3"):
        abandoned, live = create_video(client, 6 * MiB), create_video(client, 6 * MiB)
        httpx.put(abandoned["upload"]["parts"][0]["url"], content=b"a" * 5 * MiB)
        Video.objects.filter(pk=abandoned["video"]["id"]).update(
            created_at=timezone.now() - timedelta(hours=3))
        orphan_key = "videos/00000000-0000-4000-8000-000000000000/original"
        storage.multipart_start(orphan_key, content_type="video/mp4")  # its video is gone

        def open_uploads():
            listed = s3_client().list_multipart_uploads(Bucket="moa-test", Prefix="videos/")
            return {upload["Key"] for upload in listed.get("Uploads", [])}

        before = open_uploads()
        dry = upload_sweep.uploads_sweep(dry_run=True)
        assert open_uploads() == before
        report = upload_sweep.uploads_sweep(dry_run=False)
        remaining = open_uploads()
        again = upload_sweep.uploads_sweep(dry_run=False)
    assert [str(video.id) for video in dry.videos] == [abandoned["video"]["id"]]
    assert [key for key, _ in dry.orphans] == [orphan_key]
    assert [str(video.id) for video in report.videos] == [abandoned["video"]["id"]]
    assert [key for key, _ in report.orphans] == [orphan_key] and report.failed == []
    assert remaining == {f"videos/{live['video']['id']}/original"}  # its video waits for it
    assert list(Video.objects.values_list("id", flat=True)) == [uuid.UUID(live["video"]["id"])]
    assert (again.videos, again.orphans, again.failed) == ([], [], [])  # idempotent
