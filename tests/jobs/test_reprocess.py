"""Reprocess (the ops console's): a finished job run again from its inputs, as a new job.
A video encode encodes its kept original again (real ffmpeg, the encoder in-process,
local storage); everything else is refused with the reason. The encode a reprocess
replaced is history: it is not retried, and if it runs anyway it touches nothing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from media_pipeline import storage
from media_pipeline.jobs import actions as jobs
from media_pipeline.jobs import policy
from media_pipeline.jobs.errors import ReprocessRefused
from media_pipeline.models import Job, Video
from media_pipeline.videos.actions import video_reprocess, videos_purge_originals
from tests.jobs import clips
from tests.jobs.video_flow import run_next_job, upload

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite, pytest.mark.slow,
              pytest.mark.usefixtures("local_storage")]


@pytest.fixture(scope="module")
def silent(tmp_path_factory) -> Path:
    return clips.clip(tmp_path_factory.mktemp("clips") / "silent.mp4", audio=False)


@pytest.fixture
def ready(client, alice, silent) -> dict:
    """A video encoded once: {"video": id, "job": its DONE job}."""
    client.force_login(alice)
    sent = upload(client, silent)
    job = run_next_job()
    assert job.status == "DONE", job.error_message
    return {"video": sent["video"], "job": job}


def test_a_done_encode_runs_again_as_a_new_job_from_the_kept_original(ready, local_storage):
    first_ready_at = Video.objects.get(pk=ready["video"]).ready_at
    again = jobs.job_reprocess(job_id=ready["job"].pk)
    assert again.pk != ready["job"].pk
    assert (again.kind, again.status, again.payload["video"]) == (
        "video.encode", "PENDING", ready["video"])
    video = Video.objects.get(pk=ready["video"])
    assert (video.job_id, video.status) == (again.pk, "UPLOADED")
    assert Job.objects.get(pk=ready["job"].pk).status == "DONE"  # the old one is history
    assert run_next_job().status == "DONE"
    video = Video.objects.get(pk=ready["video"])
    assert video.status == "READY" and video.ready_at > first_ready_at
    assert [r["name"] for r in video.renditions] == ["360p"]
    assert (local_storage / "videos" / ready["video"] / "original").exists()  # kept


def test_a_second_reprocess_while_one_is_queued_is_refused(ready):
    queued = jobs.job_reprocess(job_id=ready["job"].pk)
    with pytest.raises(ReprocessRefused, match=f"already PENDING \\(job {queued.pk}\\)"):
        video_reprocess(video_id=ready["video"])
    assert Job.objects.filter(kind="video.encode").count() == 2


def test_reprocess_is_refused_once_the_original_was_purged(ready):
    Video.objects.filter(pk=ready["video"]).update(ready_at=timezone.now() - timedelta(days=2))
    videos_purge_originals(older_than_days=1, dry_run=False)
    with pytest.raises(ReprocessRefused, match=r"original was purged on .* only a new upload"):
        jobs.job_reprocess(job_id=ready["job"].pk)
    assert Job.objects.filter(kind="video.encode").count() == 1


def test_reprocess_is_refused_when_storage_lost_the_original(ready):
    storage.delete(f"videos/{ready['video']}/original")
    with pytest.raises(ReprocessRefused, match="original is not in storage"):
        jobs.job_reprocess(job_id=ready["job"].pk)
    assert Video.objects.get(pk=ready["video"]).job_id == ready["job"].pk


def test_a_failed_encode_can_be_reprocessed_once_its_cause_is_fixed(client, alice, silent,
                                                                    settings):
    settings.FFMPEG_BINARY = "/nonexistent/ffmpeg"
    client.force_login(alice)
    sent = upload(client, silent)
    failed = run_next_job()
    assert (failed.status, failed.error_code) == ("FAILED", "ENCODER_UNAVAILABLE")
    settings.FFMPEG_BINARY = ""
    jobs.job_reprocess(job_id=failed.pk)
    assert run_next_job().status == "DONE"
    assert Video.objects.get(pk=sent["video"]).status == "READY"


def test_active_cancelled_and_import_jobs_are_refused_with_the_reason(alice, team):
    pending = jobs.job_enqueue(kind="noop", owner=alice, payload={})
    with pytest.raises(ReprocessRefused, match="This job is PENDING: only a DONE or FAILED"):
        jobs.job_reprocess(job_id=pending.pk)
    jobs.job_cancel(job_id=pending.pk)
    with pytest.raises(ReprocessRefused, match="This job is CANCELLED"):
        jobs.job_reprocess(job_id=pending.pk)
    # A member import's sheet is deleted when its job ends: nothing to run again from.
    imported = Job.objects.create(kind="excel.import", owner=alice, team=team,
                                  status="DONE", payload={"key": "imports/gone.xlsx"})
    with pytest.raises(ReprocessRefused, match=r"^Jobs of kind excel\.import cannot be "
                                               r"reprocessed: their input is not kept"):
        jobs.job_reprocess(job_id=imported.pk)
    assert Job.objects.count() == 2


def hls_files(root: Path, video_id: str) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in (root / "videos" / video_id / "hls")
                  .rglob("*") if path.is_file())


def test_an_old_failed_encode_superseded_by_a_reprocess_is_not_retried(
        client, alice, silent, settings, local_storage):
    """The review's scenario: retrying it once the newer encode published and the
    original was purged wiped the READY video's renditions and its whole HLS output."""
    settings.FFMPEG_BINARY = "/nonexistent/ffmpeg"
    client.force_login(alice)
    sent = upload(client, silent)
    old = run_next_job()
    assert (old.status, old.error_code) == ("FAILED", "ENCODER_UNAVAILABLE")
    settings.FFMPEG_BINARY = ""
    newer = jobs.job_reprocess(job_id=old.pk)
    # While the newer encode waits: a retry would run two encodes of the video at once.
    refused = client.post(f"/api/v1/jobs/{old.pk}/retry/")
    assert refused.status_code == 409
    assert refused.json()["detail"] == (f"This encode was superseded by job {newer.pk}, a "
                                        f"newer encode of the same video: retry or "
                                        f"reprocess that one instead.")
    assert run_next_job().pk == newer.pk
    Video.objects.filter(pk=sent["video"]).update(ready_at=timezone.now() - timedelta(days=2))
    videos_purge_originals(older_than_days=1, dry_run=False)
    published = hls_files(local_storage, sent["video"])
    assert f"videos/{sent['video']}/hls/master.m3u8" in published
    with pytest.raises(policy.RetryRefused, match=f"superseded by job {newer.pk}"):
        jobs.job_retry(job_id=old.pk)
    video = Video.objects.get(pk=sent["video"])
    assert (video.status, [r["name"] for r in video.renditions]) == ("READY", ["360p"])
    assert hls_files(local_storage, sent["video"]) == published
    assert Job.objects.get(pk=old.pk).status == "FAILED"


def test_an_encode_that_is_no_longer_its_videos_job_fails_touching_nothing(ready,
                                                                          local_storage):
    newer = jobs.job_reprocess(job_id=ready["job"].pk)
    assert run_next_job().pk == newer.pk
    published = hls_files(local_storage, ready["video"])
    # However it got back to the queue (a retry taken before this rule), it must not run.
    Job.objects.filter(pk=ready["job"].pk).update(status="PENDING")
    stale = run_next_job()
    assert (stale.pk, stale.status, stale.error_code) == (ready["job"].pk, "FAILED",
                                                          "SUPERSEDED")
    assert f"(job {newer.pk}) replaced this one" in stale.error_message
    video = Video.objects.get(pk=ready["video"])
    assert (video.status, video.job_id) == ("READY", newer.pk)
    assert [r["name"] for r in video.renditions] == ["360p"] and video.ready_at
    assert hls_files(local_storage, ready["video"]) == published


def test_the_videos_own_failed_encode_is_retried_while_its_original_is_kept(
        client, alice, silent, settings):
    settings.FFMPEG_BINARY = "/nonexistent/ffmpeg"
    client.force_login(alice)
    sent = upload(client, silent)
    failed = run_next_job()
    settings.FFMPEG_BINARY = ""
    Video.objects.filter(pk=sent["video"]).update(original_deleted_at=timezone.now())
    with pytest.raises(policy.RetryRefused, match=r"original was purged on .* only a new "
                                                  r"upload"):
        jobs.job_retry(job_id=failed.pk)
    Video.objects.filter(pk=sent["video"]).update(original_deleted_at=None)
    assert jobs.job_retry(job_id=failed.pk).status == "PENDING"
    assert run_next_job().status == "DONE"
    assert Video.objects.get(pk=sent["video"]).status == "READY"
