"""An encode against a newer encode of the same video, on PostgreSQL: an attempt that
lost its lease to a reprocess leaves the newer encode's output and renditions alone,
and a retry and a reprocess of the same encode at once queue one encode, not two."""

from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from media_pipeline import storage
from media_pipeline.jobs import actions as jobs
from media_pipeline.jobs import registry
from media_pipeline.jobs.errors import JobFailed, JobFenced, ReprocessRefused
from media_pipeline.jobs.progress import JobContext
from media_pipeline.jobs.states import ACTIVE
from media_pipeline.models import Job, Video
from media_pipeline.videos import actions, encode_job
from tests.collab.test_team_concurrency import race

pytestmark = pytest.mark.usefixtures("local_storage")


def uploaded_video(owner) -> Video:
    video = Video.objects.create(owner=owner, title="Clip", filename="clip.mp4", size=10,
                                 content_type="video/mp4", status="UPLOADED",
                                 uploaded_at=timezone.now())
    storage.put(video.original_key, ContentFile(b"an original"))
    return video


def hls_files(root, video: Video) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in (root / video.output_prefix)
                  .rglob("*") if path.is_file())


@pytest.mark.django_db
def test_an_attempt_that_lost_its_lease_to_a_reprocess_keeps_the_newer_output(
        alice, monkeypatch, local_storage):
    """The review's scenario: the attempt stalls, is reclaimed as WORKER_LOST, a
    reprocess publishes the video, then the stalled attempt fails (not fenced: its
    ffmpeg hit a limit); its cleanup deleted the newer HLS and emptied the renditions."""
    video = uploaded_video(alice)
    old = jobs.job_enqueue(kind="video.encode", owner=alice, payload={"video": str(video.id)},
                           max_attempts=1)
    Video.objects.filter(pk=video.pk).update(job=old)
    claimed = jobs.job_claim(channels=["jobs.video"], worker_id="w1")
    assert claimed.pk == old.pk
    published = {}

    def stalls_then_fails(context, row, work):
        Job.objects.filter(pk=old.pk).update(lease_expires_at=timezone.now()
                                             - timedelta(seconds=1))
        assert jobs.job_claim(channels=["jobs.video"], worker_id="w2") is None
        assert Job.objects.get(pk=old.pk).error_code == "WORKER_LOST"
        newer = jobs.job_reprocess(job_id=old.pk)
        storage.put(f"{video.output_prefix}master.m3u8", ContentFile(b"#EXTM3U\n"))
        storage.put(f"{video.output_prefix}360p/index.m3u8", ContentFile(b"#EXTM3U\n"))
        Job.objects.filter(pk=newer.pk).update(status="DONE", finished_at=timezone.now())
        Video.objects.filter(pk=video.pk).update(status="READY", renditions=[{"name": "360p"}])
        published.update(job=newer.pk, files=hls_files(local_storage, video))
        raise JobFailed("INPUT_TOO_COMPLEX", "ffmpeg stopped: the time limit")

    monkeypatch.setattr(encode_job, "_encode", stalls_then_fails)
    with pytest.raises(JobFailed):
        encode_job.video_encode(JobContext(claimed))
    video.refresh_from_db()
    assert (video.job_id, video.status, video.renditions) == (
        published["job"], "READY", [{"name": "360p"}])
    assert len(published["files"]) == 2
    assert hls_files(local_storage, video) == published["files"]


@pytest.mark.django_db
def test_a_stale_attempts_rendition_and_ready_writes_are_fenced(alice):
    """Its row writes are conditional on the video's job: a stale attempt stops."""
    video = uploaded_video(alice)
    old = Job.objects.create(kind="video.encode", owner=alice, status="FAILED",
                             payload={"video": str(video.id)})
    newer = Job.objects.create(kind="video.encode", owner=alice, status="DONE",
                               payload={"video": str(video.id)})
    Video.objects.filter(pk=video.pk).update(job=newer, status="READY",
                                             renditions=[{"name": "360p"}])
    with pytest.raises(JobFenced):
        actions.video_ready(video_id=str(video.id), job_id=old.pk, renditions=[],
                            has_thumbnail=False)
    actions.video_output_withdrawn(video_id=str(video.id), job_id=old.pk)
    video.refresh_from_db()
    assert (video.status, video.renditions) == ("READY", [{"name": "360p"}])


@pytest.mark.django_db(transaction=True)
def test_a_retry_and_a_reprocess_of_one_encode_at_once_queue_one_encode(alice, monkeypatch):
    """The retry holds the job's and the video's locks (its kind check waits here); the
    reprocess, which read the job FAILED before, waits for the video's lock, then must
    see the job PENDING: it read the job's status through the join of its locking
    SELECT, from before the wait, and queued a second encode."""
    video = uploaded_video(alice)
    failed = Job.objects.create(kind="video.encode", owner=alice, status="FAILED",
                                payload={"video": str(video.id)}, attempts=1, max_attempts=1,
                                error_code="ENCODER_UNAVAILABLE", finished_at=timezone.now())
    Video.objects.filter(pk=video.pk).update(job=failed)
    inside, release = threading.Event(), threading.Event()
    declared = registry.kind("video.encode")

    def held_open(*, job):
        refusal = declared.retry_refusal(job=job)  # takes the video's lock
        if threading.current_thread().name == "first":
            inside.set()
            release.wait(10)
        return refusal

    monkeypatch.setitem(registry._kinds, "video.encode",
                        dataclasses.replace(declared, retry_refusal=held_open))
    outcomes = race(lambda act: act(job_id=failed.pk), inside, release,
                    ((jobs.job_retry,), (jobs.job_reprocess,)))
    assert outcomes["first"] == "done"
    assert isinstance(outcomes["second"], ReprocessRefused), outcomes["second"]
    assert "already PENDING" in str(outcomes["second"])
    active = Job.objects.filter(kind="video.encode", status__in=ACTIVE)
    assert list(active.values_list("pk", flat=True)) == [failed.pk]
    assert Video.objects.get(pk=video.pk).job_id == failed.pk
