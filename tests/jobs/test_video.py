"""The video pipeline on local storage: the REST upload flow a browser follows, real
ffmpeg on generated clips, the encoder run in-process, and the output read back."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import av
import pytest
from django.conf import settings
from django.db import connection

from media_pipeline import storage
from media_pipeline.jobs import actions as jobs
from media_pipeline.jobs.progress import JobContext
from media_pipeline.jobs.worker import execute
from media_pipeline.models import Job, Video
from tests.jobs import clips
from tests.jobs.video_flow import run_next_job, upload

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite, pytest.mark.slow,
              pytest.mark.usefixtures("local_storage")]


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    landscape = clips.clip(folder / "landscape.mp4", size="854x480")
    return {
        "landscape": landscape,
        "portrait": clips.rotated(clips.clip(folder / "stored.mp4", size="640x360"),
                                  folder / "portrait.mp4"),
        "silent": clips.clip(folder / "silent.mp4", audio=False),
        "audio": clips.audio_only(folder / "audio.m4a"),
        "truncated": clips.truncated(landscape, folder / "truncated.mp4"),
        "text": clips.text_file(folder / "notes.mp4"),
    }


def read_back(media_root: Path, video_id: str, rung: str):
    """Open a stored rendition's playlist with FFmpeg's HLS demuxer (what ffprobe does)."""
    with av.open(str(media_root / "videos" / video_id / "hls" / rung / "index.m3u8")) as hls:
        stream = hls.streams.video[0]
        return (stream.codec_context.width, stream.codec_context.height,
                hls.duration / av.time_base, len(hls.streams.audio))


def test_a_landscape_clip_becomes_an_hls_ladder_that_plays(client, alice, media, local_storage):
    client.force_login(alice)
    sent = upload(client, media["landscape"])
    assert sent["job"]["status"] == "PENDING" and sent["job"]["kind"] == "video.encode"
    assert client.get(f"/api/v1/videos/{sent['video']}/").json()["status"] == "UPLOADED"
    job = run_next_job()
    assert (job.status, job.progress, job.attempts) == ("DONE", 100, 1), job.error_message
    video = client.get(f"/api/v1/videos/{sent['video']}/").json()
    assert video["status"] == "READY" and video["duration"] == pytest.approx(3, abs=0.1)
    assert [(r["name"], r["width"], r["height"]) for r in video["renditions"]] == [
        ("360p", 640, 360), ("480p", 854, 480)]  # none taller than the source
    assert all(r["bandwidth"] >= r["average_bandwidth"] > 0 for r in video["renditions"])
    for rung, size in (("360p", (640, 360)), ("480p", (854, 480))):
        width, height, duration, audio = read_back(local_storage, sent["video"], rung)
        assert (width, height, audio) == (*size, 1)
        assert duration == pytest.approx(3, abs=0.2)
    master = client.get(video["hls_url"])
    assert master.status_code == 200
    assert master["Content-Type"] == "application/vnd.apple.mpegurl"
    text = master.content.decode()
    assert text.count("#EXT-X-STREAM-INF") == 2 and "RESOLUTION=854x480" in text
    assert 'CODECS="avc1.4d401e,mp4a.40.2"' in text
    segment = client.get(video["hls_url"].replace("master.m3u8", "360p/seg_00000.ts"))
    assert segment.status_code == 200 and segment["Content-Type"] == "video/mp2t"
    assert client.get(video["thumbnail_url"]).status_code == 200


def test_a_rotated_portrait_clip_keeps_its_upright_shape(client, alice, media, local_storage):
    client.force_login(alice)
    sent = upload(client, media["portrait"])
    assert run_next_job().status == "DONE"
    video = Video.objects.get(pk=sent["video"])
    assert (video.width, video.height) == (360, 640)
    assert [(r["width"], r["height"]) for r in video.renditions] == [(360, 640)]
    assert read_back(local_storage, sent["video"], "360p")[:2] == (360, 640)


def test_a_clip_without_audio_encodes_silent_renditions(client, alice, media, local_storage):
    client.force_login(alice)
    sent = upload(client, media["silent"])
    assert run_next_job().status == "DONE"
    video = Video.objects.get(pk=sent["video"])
    assert video.renditions[0]["codecs"] == "avc1.4d401e"
    assert read_back(local_storage, sent["video"], "360p")[3] == 0


@pytest.mark.parametrize(("name", "code", "words"), [
    ("text", "INPUT_INVALID", "unreadable"),
    ("audio", "INPUT_NOT_VIDEO", "no video stream"),
    ("truncated", "INPUT_INVALID", "truncated"),
])
def test_files_that_are_not_playable_videos_fail_once_with_a_clear_message(
        client, alice, media, local_storage, name, code, words):
    client.force_login(alice)
    sent = upload(client, media[name])
    job = run_next_job()
    assert (job.status, job.error_code, job.attempts) == ("FAILED", code, 1)  # no retry loop
    assert words in job.error_message
    video = client.get(f"/api/v1/videos/{sent['video']}/").json()
    assert video["status"] == "FAILED" and video["hls_url"] is None
    assert video["job"]["error_message"] == job.error_message
    assert not (local_storage / "videos" / sent["video"] / "hls").exists()


def test_a_video_over_the_duration_limit_fails_before_encoding(client, alice, media, settings):
    settings.VIDEO_MAX_DURATION_SECONDS = 2
    client.force_login(alice)
    upload(client, media["landscape"])
    job = run_next_job()
    assert (job.status, job.error_code) == ("FAILED", "INPUT_TOO_LONG")
    assert "VIDEO_MAX_DURATION_SECONDS" in job.error_message


def test_a_missing_ffmpeg_fails_the_job_naming_ffmpeg_binary(client, alice, media, settings):
    settings.FFMPEG_BINARY = "/nonexistent/ffmpeg"
    client.force_login(alice)
    upload(client, media["silent"])
    job = run_next_job()
    assert (job.status, job.error_code, job.attempts) == ("FAILED", "ENCODER_UNAVAILABLE", 1)
    assert "FFMPEG_BINARY" in job.error_message


def test_a_retry_starts_from_a_clean_output_prefix(client, alice, media, local_storage):
    client.force_login(alice)
    sent = upload(client, media["silent"])
    stale = local_storage / "videos" / sent["video"] / "hls" / "1080p" / "seg_00042.ts"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"from an earlier attempt")
    assert run_next_job().status == "DONE"
    assert not stale.exists()
    assert sorted(p.name for p in (stale.parents[1]).iterdir()) == [
        "360p", "master.m3u8", "thumbnail.jpg"]


def test_upload_requests_are_checked_before_anything_is_stored(client, alice, settings):
    settings.VIDEO_MAX_UPLOAD_BYTES = 1000
    client.force_login(alice)
    refused = client.post("/api/v1/videos/", {"title": "", "filename": "../x.mp4",
                                              "size": 1001, "content_type": "text/plain"},
                          content_type="application/json")
    assert refused.status_code == 400
    assert set(refused.json()["errors"]) == {"title", "filename", "size", "content_type"}
    assert "limit of 1000 bytes" in refused.json()["errors"]["size"]
    assert not Video.objects.exists()


def test_upload_complete_is_409_until_storage_holds_the_whole_file(client, alice, media):
    client.force_login(alice)
    body = media["silent"].read_bytes()
    created = client.post("/api/v1/videos/", {"title": "t", "filename": "a.mp4",
                                              "size": len(body), "content_type": "video/mp4"},
                          content_type="application/json").json()
    complete = f"/api/v1/videos/{created['video']['id']}/upload-complete/"
    missing = client.post(complete)
    assert missing.status_code == 409 and "not in storage" in missing.json()["detail"]
    storage.put_file(f"videos/{created['video']['id']}/original", str(media["text"]), "video/mp4")
    short = client.post(complete)
    assert short.status_code == 409 and "declared" in short.json()["detail"]
    assert not Job.objects.exists()
    client.generic("PUT", created["upload"]["url"], body, content_type="video/mp4")
    first, again = client.post(complete), client.post(complete)
    assert first.status_code == again.status_code == 202
    assert first.json()["job"]["id"] == again.json()["job"]["id"]  # idempotent
    assert Job.objects.count() == 1


def test_videos_are_private_to_their_owner_and_team(client, alice, bob, media):
    from collab.actions import team_create

    client.force_login(alice)
    sent = upload(client, media["silent"])
    team = team_create(owner=alice, name="Crew")
    client.force_login(bob)
    assert client.get(f"/api/v1/videos/{sent['video']}/").status_code == 404
    assert client.post(f"/api/v1/videos/{sent['video']}/upload-complete/").status_code == 404
    joined = client.post("/api/v1/videos/", {"title": "t", "filename": "a.mp4", "size": 10,
                                             "content_type": "video/mp4", "team": team.pk},
                         content_type="application/json")
    assert joined.status_code == 403


def test_hls_files_need_a_valid_token_and_a_known_name(client, alice, media):
    client.force_login(alice)
    sent = upload(client, media["silent"])
    run_next_job()
    hls_url = client.get(f"/api/v1/videos/{sent['video']}/").json()["hls_url"]
    client.logout()  # players send no credentials: the token is enough
    assert client.get(hls_url).status_code == 200
    token = hls_url.split("/hls/")[1].split("/")[0]
    assert client.get(hls_url.replace(token, token[:-2] + "xx")).status_code == 404
    assert client.get(hls_url.replace("master.m3u8", "../original")).status_code == 404
    other = Video.objects.create(owner=alice, title="o", filename="o.mp4", size=1,
                                 content_type="video/mp4")
    assert client.get(hls_url.replace(sent["video"], str(other.pk))).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_cancel_stops_ffmpeg_and_removes_partial_output(client, alice, tmp_path, local_storage):
    if connection.vendor == "sqlite":  # the test database is in-memory, shared-cache:
        pytest.skip("two threads writing it lock each other ('table is locked')")
    long_clip = clips.clip(tmp_path / "long.mp4", size="1280x720", seconds=40, audio=False)
    client.force_login(alice)
    sent = upload(client, long_clip)
    claimed = jobs.job_claim(channels=["jobs.video"], worker_id="test")
    def run_in_thread():  # as a worker thread does: its own connection, closed after
        try:
            execute(JobContext(claimed))
        finally:
            connection.close()

    runner = threading.Thread(target=run_in_thread)
    runner.start()
    deadline = time.monotonic() + 60
    while not Job.objects.get(pk=claimed.pk).stage.startswith("encoding 480p"):
        assert time.monotonic() < deadline and runner.is_alive(), "never reached 480p"
        time.sleep(0.1)
    asked = time.monotonic()
    jobs.job_cancel(job_id=claimed.pk)
    runner.join(timeout=30)
    assert not runner.is_alive() and time.monotonic() - asked < 10
    job = Job.objects.get(pk=claimed.pk)
    assert job.status == "CANCELLED"
    assert not (local_storage / "videos" / sent["video"] / "hls").exists()
    video = client.get(f"/api/v1/videos/{sent['video']}/").json()
    assert (video["status"], video["renditions"], video["hls_url"]) == ("FAILED", [], None)


def test_original_retention_deletes_originals_and_keeps_hls(client, alice, media,
                                                              local_storage):
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    client.force_login(alice)
    sent = upload(client, media["silent"])
    run_next_job()
    Video.objects.filter(pk=sent["video"]).update(ready_at=timezone.now() - timedelta(days=31))
    original = local_storage / "videos" / sent["video"] / "original"
    call_command("purge_video_originals", "--days", "30", "--dry-run")
    assert original.exists()
    call_command("purge_video_originals", "--days", "30")
    assert not original.exists()
    assert (local_storage / "videos" / sent["video"] / "hls" / "master.m3u8").exists()
    assert client.get(f"/api/v1/videos/{sent['video']}/").json()["original_deleted"] is True


def test_the_upload_limit_default_is_two_gib():
    assert settings.VIDEO_MAX_UPLOAD_BYTES == 2 * 2**30


def test_deleting_a_video_removes_its_files_and_only_its_uploader_may(client, alice, bob,
                                                                      media, local_storage):
    from collab.actions import membership_ensure, team_create

    team = team_create(owner=alice, name="Crew")
    membership_ensure(team=team, user=bob)
    client.force_login(alice)
    body = media["silent"].read_bytes()
    created = client.post("/api/v1/videos/", {"title": "t", "filename": "a.mp4", "team": team.pk,
                                              "size": len(body), "content_type": "video/mp4"},
                          content_type="application/json").json()
    video_id = created["video"]["id"]
    client.generic("PUT", created["upload"]["url"], body, content_type="video/mp4")
    client.post(f"/api/v1/videos/{video_id}/upload-complete/")
    run_next_job()
    client.force_login(bob)
    assert client.get(f"/api/v1/videos/{video_id}/").status_code == 200  # a team member sees it
    assert client.delete(f"/api/v1/videos/{video_id}/").status_code == 403
    client.force_login(alice)
    assert client.delete(f"/api/v1/videos/{video_id}/").status_code == 204
    assert not (local_storage / "videos" / video_id).exists()
    assert client.get(f"/api/v1/videos/{video_id}/").status_code == 404


def test_a_clip_faster_than_60_fps_is_encoded_at_60(client, alice, tmp_path, local_storage):
    """A 120 fps slow-motion clip: each rung encodes (and scales) half its frames."""
    client.force_login(alice)
    fast = clips.clip(tmp_path / "fast.mp4", size="320x240", seconds=1, audio=False,
                      rate=120)
    sent = upload(client, fast)
    job = run_next_job()
    assert job.status == "DONE", job.error_message
    rung = job.result["renditions"][0]["name"]
    playlist = local_storage / "videos" / sent["video"] / "hls" / rung / "index.m3u8"
    with av.open(str(playlist)) as hls:
        frames = sum(1 for _ in hls.decode(video=0))
        rate = hls.streams.video[0].average_rate
    assert 55 <= frames <= 61 and rate <= 60, (frames, rate)
