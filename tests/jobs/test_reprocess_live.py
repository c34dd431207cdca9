"""Reprocess from the ops console with a real worker process (`manage.py runworker`):
two READY videos, reprocessed in one bulk action, are encoded again by the worker
from their kept originals and are READY again."""

from __future__ import annotations

import pytest

from media_pipeline.models import Job, Video
from tests.integration.test_console import JOBS, act
from tests.jobs import clips
from tests.jobs.test_workers import wait_for, worker
from tests.jobs.video_flow import upload

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis, pytest.mark.slow]


def test_bulk_reprocess_in_the_console_runs_on_the_worker_to_ready_again(
        client, alice, make_user, local_storage, tmp_path):
    root = make_user("root", is_staff=True, is_superuser=True)
    clip = clips.clip(tmp_path / "clip.mp4", audio=False)
    with worker("console-reprocess", STORAGE_LOCAL_ROOT=str(local_storage)):
        client.force_login(alice)
        sent = [upload(client, clip, title=title)["video"] for title in ("One", "Two")]
        wait_for(lambda: Video.objects.filter(status="READY").count() == 2, 120,
                 "both videos encoded by the worker")
        before = {str(video.pk): (video.job_id, video.ready_at)
                  for video in Video.objects.all()}
        client.force_login(root)
        said = act(client, JOBS, "reprocess", Job.objects.filter(status="DONE"))
        assert said == ["Reprocess: 2 done."]
        wait_for(lambda: Job.objects.filter(status="DONE").count() == 4
                 and Video.objects.filter(status="READY").count() == 2, 120,
                 "both encoded again by the worker")
    for video in Video.objects.filter(pk__in=sent).select_related("job"):
        job_id, ready_at = before[str(video.pk)]
        assert video.job_id != job_id and video.job.status == "DONE"
        assert video.ready_at > ready_at and video.renditions
        assert (local_storage / "videos" / str(video.pk) / "original").exists()
