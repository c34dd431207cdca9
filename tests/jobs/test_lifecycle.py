"""The state machine against the database, with handlers run in-process."""

import pytest
from django.core.files.base import ContentFile

from media_pipeline import storage
from media_pipeline.jobs import actions as jobs
from media_pipeline.jobs.errors import JobFenced
from media_pipeline.jobs.policy import IllegalTransition, RetryRefused
from media_pipeline.jobs.progress import JobContext
from media_pipeline.jobs.worker import execute
from media_pipeline.models import Job

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]
CHANNELS = ["jobs.video", "jobs.excel"]


def claim(worker: str = "w1") -> Job:
    job = jobs.job_claim(channels=CHANNELS, worker_id=worker)
    assert job is not None
    return job


def expire_lease(job: Job) -> None:
    from datetime import timedelta

    from django.utils import timezone

    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))


def test_enqueue_claim_run_done(alice):
    job = jobs.job_enqueue(kind="noop", owner=alice, payload={"steps": 3})
    assert job.status == "PENDING" and job.attempts == 0
    claimed = claim()
    assert (claimed.pk, claimed.status, claimed.attempts) == (job.pk, "RUNNING", 1)
    assert jobs.job_claim(channels=CHANNELS, worker_id="w2") is None  # taken
    execute(JobContext(claimed))
    done = Job.objects.get(pk=job.pk)
    assert (done.status, done.progress, done.result) == ("DONE", 100, {"steps": 3, "attempt": 1})
    assert done.version > job.version and done.finished_at


def test_a_worker_presumed_dead_cannot_write_over_the_next_attempt(alice):
    jobs.job_enqueue(kind="noop", owner=alice, payload={})
    first = claim("w1")
    expire_lease(first)
    second = claim("w2")
    assert second.attempts == 2
    with pytest.raises(JobFenced):
        jobs.job_progress(job_id=first.pk, attempt=1, progress=50, stage="zombie")
    with pytest.raises(JobFenced):
        jobs.job_finish(job_id=first.pk, attempt=1, result={"zombie": True})
    jobs.job_finish(job_id=second.pk, attempt=2, result={"ok": True})
    assert Job.objects.get(pk=first.pk).result == {"ok": True}


def test_a_job_whose_workers_keep_dying_fails_as_worker_lost(alice):
    job = jobs.job_enqueue(kind="noop", owner=alice, payload={}, max_attempts=2)
    expire_lease(claim())
    expire_lease(claim())
    assert jobs.job_claim(channels=CHANNELS, worker_id="w3") is None
    failed = Job.objects.get(pk=job.pk)
    assert (failed.status, failed.error_code) == ("FAILED", "WORKER_LOST")
    assert "2 attempts" in failed.error_message


def test_transient_failures_retry_with_backoff_permanent_ones_fail_at_once(alice):
    jobs.job_enqueue(kind="noop", owner=alice, payload={})
    job = claim()
    assert jobs.job_fail(job_id=job.pk, attempt=1, code="STORAGE_UNAVAILABLE",
                         message="timeout") == "PENDING"
    retried = Job.objects.get(pk=job.pk)
    assert retried.run_after is not None and retried.error_code == "STORAGE_UNAVAILABLE"
    assert jobs.job_claim(channels=CHANNELS, worker_id="w1") is None  # not due yet
    Job.objects.filter(pk=job.pk).update(run_after=None)
    again = claim()
    assert jobs.job_fail(job_id=again.pk, attempt=2, code="INPUT_INVALID",
                         message="bad") == "FAILED"


def test_invalid_input_fails_with_a_clear_message_and_no_retry(alice):
    job = jobs.job_enqueue(kind="noop", owner=alice, payload={"steps": "many"})
    execute(JobContext(claim()))
    failed = Job.objects.get(pk=job.pk)
    assert (failed.status, failed.error_code, failed.attempts) == ("FAILED", "INPUT_INVALID", 1)
    assert "steps must be" in failed.error_message


def test_cancel_pending_at_once_running_at_the_next_progress_point(alice):
    pending = jobs.job_enqueue(kind="noop", owner=alice, payload={})
    assert jobs.job_cancel(job_id=pending.pk).status == "CANCELLED"
    with pytest.raises(IllegalTransition):
        jobs.job_cancel(job_id=pending.pk)
    running = jobs.job_enqueue(kind="noop", owner=alice, payload={"steps": 5})
    context = JobContext(claim())
    jobs.job_cancel(job_id=running.pk)
    execute(context)
    assert Job.objects.get(pk=running.pk).status == "CANCELLED"


def test_only_a_failed_job_can_be_retried_and_not_for_its_input(alice):
    job = jobs.job_enqueue(kind="noop", owner=alice, payload={"steps": -1})
    with pytest.raises(IllegalTransition):
        jobs.job_retry(job_id=job.pk)
    execute(JobContext(claim()))
    with pytest.raises(RetryRefused, match="INPUT_INVALID"):  # the same input fails again
        jobs.job_retry(job_id=job.pk)
    Job.objects.filter(pk=job.pk).update(error_code="ENCODER_UNAVAILABLE")  # the deployment's
    retried = jobs.job_retry(job_id=job.pk)
    assert (retried.status, retried.error_code, retried.max_attempts) == ("PENDING", "", 6)


def test_checksum_of_a_stored_object_and_of_a_missing_one(alice):
    storage.put("tests/blob.bin", ContentFile(b"x" * 3_000_000))
    ok = jobs.job_enqueue(kind="storage.checksum", owner=alice, payload={"key": "tests/blob.bin"})
    execute(JobContext(claim()))
    result = Job.objects.get(pk=ok.pk).result
    assert result["size"] == 3_000_000 and len(result["sha256"]) == 64
    missing = jobs.job_enqueue(kind="storage.checksum", owner=alice,
                               payload={"key": "tests/nope.bin"})
    execute(JobContext(claim()))
    failed = Job.objects.get(pk=missing.pk)
    assert (failed.status, failed.error_code) == ("FAILED", "INPUT_MISSING")
    assert "no longer in storage" in failed.error_message
    assert "tests/nope.bin" not in failed.error_message  # the key is in the log only
    storage.delete("tests/blob.bin")


def test_a_stopping_worker_releases_its_job_without_spending_an_attempt(alice):
    job = jobs.job_enqueue(kind="noop", owner=alice, payload={"steps": 5})
    context = JobContext(claim("stopping"))
    context.release_requested = True  # what SIGTERM does after the grace period
    execute(context)
    released = Job.objects.get(pk=job.pk)
    assert (released.status, released.stage, released.max_attempts) == ("PENDING", "released", 6)
    again = claim("other")
    assert again.attempts == 2
