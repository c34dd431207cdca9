"""Large uploads in parts on the local backend, through the REST flow a client follows:
the same MULTIPART grant S3 uploads get, part URLs signed for their upload, part and
size, a part of another size refused, a part sent again, the parts joined at
upload-complete with the checks S3 uploads get, and the staged parts removed by
completion, DELETE and the sweep."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.utils import timezone

from media_pipeline import storage
from media_pipeline.models import Job, Video
from media_pipeline.videos import upload_sweep
from tests.jobs.video_flow import create_video

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite,
              pytest.mark.usefixtures("local_storage")]
PART = 1000  # VIDEO_PART_BYTES here: no local body is larger


@pytest.fixture(autouse=True)
def small_parts(settings):
    settings.VIDEO_PART_BYTES = PART


def put(client, url: str, body: bytes):
    return client.generic("PUT", url, body, content_type="application/octet-stream")


def complete(client, video_id: str, parts: list[tuple[int, str]]):
    """upload-complete with the (part number, ETag) pairs in the order given."""
    return client.post(f"/api/v1/videos/{video_id}/upload-complete/",
                       {"parts": [{"part_number": number, "etag": etag}
                                  for number, etag in parts]},
                       content_type="application/json")


def staged(media) -> list[str]:
    """Every file and folder under the local backend's staging folder."""
    return sorted(str(path.relative_to(media)) for path in (media / ".multipart").rglob("*"))


def test_an_upload_above_one_part_goes_in_parts_and_is_joined_at_completion(
        client, alice, local_storage):
    client.force_login(alice)
    created = create_video(client, 2500)
    video_id, grant = created["video"]["id"], created["upload"]
    assert (grant["method"], grant["part_size"], grant["headers"]) == ("MULTIPART", PART, {})
    assert [(part["part_number"], part["size"]) for part in grant["parts"]] == [
        (1, 1000), (2, 1000), (3, 500)]
    assert all(part["url"].startswith("http://testserver/api/v1/storage/upload/")
               for part in grant["parts"])
    first, second, third = (part["url"] for part in grant["parts"])
    too_big = put(client, second, b"b" * 1001)
    assert too_big.status_code == 400 and too_big.json() == {
        "detail": "Expected 1000 bytes, got more.", "code": "size_mismatch"}
    etags = {3: put(client, third, b"c" * 500)["ETag"],
             1: put(client, first, b"a" * 1000)["ETag"]}
    dropped = put(client, second, b"x" * 1000)["ETag"]  # its sender never saw the answer
    etags[2] = put(client, second, b"b" * 1000)["ETag"]  # ... and sent part 2 again
    assert etags[1] == f'"{hashlib.md5(b"a" * 1000).hexdigest()}"'  # as S3's
    assert Video.objects.get(pk=video_id).status == "UPLOADING"

    stale = complete(client, video_id, sorted({**etags, 2: dropped}.items()))
    assert stale.status_code == 409 and "(InvalidPart)" in stale.json()["detail"]
    unordered = complete(client, video_id, [(3, etags[3]), (1, etags[1]), (2, etags[2])])
    assert unordered.status_code == 409 and "(InvalidPartOrder)" in unordered.json()["detail"]
    assert not Job.objects.exists()
    done = complete(client, video_id, sorted(etags.items()))
    assert done.status_code == 202, done.json()
    job = done.json()["job"]
    assert (job["kind"], job["status"]) == ("video.encode", "PENDING")
    original = local_storage / "videos" / video_id / "original"
    assert original.read_bytes() == b"a" * 1000 + b"b" * 1000 + b"c" * 500
    assert staged(local_storage) == []  # neither parts nor the key's folder stay
    again = complete(client, video_id, sorted(etags.items()))
    assert again.status_code == 202 and again.json()["job"]["id"] == job["id"]
    late = put(client, first, b"a" * 1000)
    assert late.status_code == 404 and late.json()["code"] == "no_such_upload"
    assert original.stat().st_size == 2500
    video = Video.objects.get(pk=video_id)
    assert (video.status, video.multipart_upload_id) == ("UPLOADED", "")


def test_an_upload_of_one_part_or_less_stays_a_single_put_with_an_etag(client, alice,
                                                                       local_storage):
    client.force_login(alice)
    created = create_video(client, PART)
    assert created["upload"]["method"] == "PUT"
    stored = put(client, created["upload"]["url"], b"v" * PART)
    assert stored.status_code == 200
    assert stored["ETag"] == f'"{hashlib.md5(b"v" * PART).hexdigest()}"'
    assert client.post(f"/api/v1/videos/{created['video']['id']}/upload-complete/"
                       ).status_code == 202
    assert (local_storage / "videos" / created["video"]["id"] / "original").stat(
        ).st_size == PART


def test_upload_complete_checks_local_parts_as_it_checks_s3_parts(client, alice,
                                                                  local_storage):
    client.force_login(alice)
    created = create_video(client, 2500)
    video_id, (first, second, _) = created["video"]["id"], created["upload"]["parts"]
    etags = {1: put(client, first["url"], b"a" * 1000)["ETag"],
             2: put(client, second["url"], b"b" * 1000)["ETag"]}
    none = client.post(f"/api/v1/videos/{video_id}/upload-complete/")
    assert none.status_code == 409 and "This upload is in parts" in none.json()["detail"]
    never_sent = [*sorted(etags.items()), (3, '"' + "0" * 32 + '"')]
    missing = complete(client, video_id, never_sent)
    assert missing.status_code == 409
    assert missing.json()["detail"].startswith("Part 3 is not in storage: PUT it (500 bytes)")
    # A part that changed size in storage (the URL refuses any other size, the
    # completion checks what storage holds whatever wrote it).
    [part_two] = (local_storage / ".multipart").rglob("00002.*")
    part_two.write_bytes(b"b" * 999)
    shrunk = complete(client, video_id, never_sent)
    assert shrunk.status_code == 409
    assert shrunk.json()["detail"].startswith("Part 2 holds 999 bytes; 1000 were granted")
    assert not (local_storage / "videos" / video_id / "original").exists()
    assert not Job.objects.exists()


def test_part_urls_are_signed_for_their_upload_part_and_size_and_expire(client, alice,
                                                                        settings):
    client.force_login(alice)
    first = create_video(client, 2500)["upload"]["parts"][0]["url"]
    token = first.rstrip("/").rsplit("/", 1)[1]
    forged = first.replace(token, token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    assert put(client, forged, b"a" * 1000).json()["code"] == "forbidden"
    settings.STORAGE_URL_EXPIRY_SECONDS = -1  # every URL issued is past its age
    expired = put(client, first, b"a" * 1000)
    assert expired.status_code == 403 and expired.json()["code"] == "expired"


def test_deleting_a_video_mid_upload_removes_its_staged_parts(client, alice, local_storage):
    client.force_login(alice)
    created = create_video(client, 2500)
    put(client, created["upload"]["parts"][0]["url"], b"a" * 1000)
    assert len(staged(local_storage)) == 3  # the key's folder, the upload's, one part
    assert client.delete(f"/api/v1/videos/{created['video']['id']}/").status_code == 204
    assert staged(local_storage) == []
    assert not Video.objects.exists()


def test_the_sweep_removes_abandoned_and_orphaned_local_multipart_uploads(client, alice,
                                                                           local_storage):
    client.force_login(alice)
    abandoned, live = create_video(client, 2500), create_video(client, 2500)
    put(client, abandoned["upload"]["parts"][0]["url"], b"a" * 1000)
    put(client, live["upload"]["parts"][0]["url"], b"a" * 1000)
    Video.objects.filter(pk=abandoned["video"]["id"]).update(
        created_at=timezone.now() - timedelta(hours=3))
    orphan_key, young_key = (f"videos/{uuid.uuid4()}/original" for _ in range(2))
    orphan_id = storage.multipart_start(orphan_key, content_type="video/mp4")  # no video
    storage.multipart_start(young_key, content_type="video/mp4")  # no video, but young
    two_days_ago = time.time() - 2 * 86400
    os.utime(local_storage / ".multipart" / quote(orphan_key, safe="") / orphan_id,
             (two_days_ago, two_days_ago))

    def keys() -> set[str]:
        return {key for key, _, _ in storage.multipart_uploads("videos/")}

    before = keys()
    dry = upload_sweep.uploads_sweep(dry_run=True)
    assert keys() == before
    report = upload_sweep.uploads_sweep(dry_run=False)
    again = upload_sweep.uploads_sweep(dry_run=False)
    assert [str(video.id) for video in report.videos] == [abandoned["video"]["id"]]
    assert report.orphans == dry.orphans == [(orphan_key, orphan_id)] and report.failed == []
    assert keys() == {f"videos/{live['video']['id']}/original", young_key}
    assert (again.videos, again.orphans, again.failed) == ([], [], [])  # idempotent
    assert list(Video.objects.values_list("id", flat=True)) == [uuid.UUID(live["video"]["id"])]
