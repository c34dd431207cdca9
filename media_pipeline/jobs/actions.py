"""The job state machine: enqueue, claim, fenced writes by the worker, retry, cancel.

The Job row is the source of truth. A channel message is only a wake-up: channel
layers deliver at most once (messages expire after 60 s, a full channel refuses them,
a dying worker loses what it received), so workers also sweep the table for PENDING
jobs and for RUNNING jobs whose lease expired. Every write a worker makes is fenced by
the attempt it claimed (`attempts` is the fencing token): a worker presumed dead that
wakes up later updates zero rows and stops.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from media_pipeline.jobs import policy, registry
from media_pipeline.jobs.errors import JobFenced, ReprocessRefused, is_permanent, retry_refusal
from media_pipeline.jobs.metrics import (
    CLAIM_LATENCY,
    FAILURES,
    FENCED_WRITES,
    LEASE_EXPIRIES,
    RETRIES,
    TAKEOVERS,
)
from media_pipeline.jobs.models import Job
from media_pipeline.jobs.serializers import job_json
from media_pipeline.jobs.statements import claim_oldest_pending, update_returning
from media_pipeline.jobs.states import JobStatus
from project.accounts.models import User
from project.logcontext import request_id_var
from project.realtime import group_name, publish_on_commit, send_channel

logger = logging.getLogger(__name__)

REPROCESSABLE = frozenset({JobStatus.DONE, JobStatus.FAILED})


def publish(job: Job) -> None:
    """The job's new state to its owner and, for a team job, the team's owners."""
    message = {"type": "job.event", "job": job_json(job), "owner": job.owner_id}
    publish_on_commit(group_name("jobs.user", job.owner_id), message)
    if job.team_id:
        publish_on_commit(group_name("jobs.team", job.team_id), message)


def wake(kind: str, job_id: uuid.UUID) -> None:
    """Nudge the kind's workers, after the commit; a lost nudge is caught by the sweep."""
    channel = registry.kind(kind).channel
    transaction.on_commit(
        lambda: send_channel(channel, {"type": "job.wake", "job": str(job_id)}), robust=True)


# --- what people (and the apps) do ------------------------------------------------------

def job_enqueue(*, kind: str, owner: User, payload: dict, team_id: int | None = None,
                max_attempts: int | None = None) -> Job:
    """Create the job in the caller's transaction; its wake-up goes out on commit.
    ValueError for a kind no domain declared (registry.py), before anything is written.
    The id of the request enqueuing it goes into its payload (`request_id`): the
    worker logs the job under it (worker.execute), so one id follows an upload from
    the browser to its end."""
    allowance = _attempts_allowed(kind)
    request_id = request_id_var.get()
    if request_id:
        payload = {**payload, "request_id": request_id}
    job = Job.objects.create(kind=kind, owner=owner, team_id=team_id, payload=payload,
                             max_attempts=max_attempts or allowance)
    publish(job)
    wake(kind, job.id)
    logger.info("job %s (%s) enqueued", job.id, kind, extra={"job_id": str(job.id)})
    return job


def _attempts_allowed(kind: str) -> int:
    """The kind's retry allowance (JobKind.max_attempts, else JOB_MAX_ATTEMPTS);
    ValueError for a kind no domain declared."""
    return registry.kind(kind).max_attempts or settings.JOB_MAX_ATTEMPTS


def job_cancel(*, job_id: uuid.UUID) -> Job:
    """PENDING: cancelled at once. RUNNING: its handler stops at its next progress point."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        if job.status == JobStatus.RUNNING:
            job.cancel_requested = True
            job.stage = "cancelling"
        else:
            policy.check_transition(job.status, JobStatus.CANCELLED)
            job.status, job.finished_at = JobStatus.CANCELLED, timezone.now()
        job.version += 1
        job.save()
        publish(job)
    return job


def job_retry(*, job_id: uuid.UUID) -> Job:
    """Run a FAILED job again, with a fresh allowance of attempts. RetryRefused, saying
    why, for a job that is not FAILED (a RUNNING one still has its worker), one that
    failed on its input (retry_refusal), or one its kind refuses (JobKind.retry_refusal:
    a video encode that a newer encode of the video replaced, an import into a deleted
    team). Every check runs under the job's row lock."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        refusal = _retry_refusal(job)
        if refusal:
            raise policy.RetryRefused(refusal)
        job.status, job.progress, job.stage, job.message = JobStatus.PENDING, 0, "", ""
        job.error_code, job.error_message, job.result = "", "", None
        # Runnable from now: its wait is counted from here (runnable_since).
        job.finished_at, job.run_after, job.cancel_requested = None, timezone.now(), False
        job.max_attempts = job.attempts + _attempts_allowed(job.kind)
        job.version += 1
        job.save()
        publish(job)
        wake(job.kind, job.id)
    return job


def job_retryable(*, job: Job) -> bool:
    """Whether a retry of `job` would be taken now: the whole check job_retry makes,
    its kind's included, for one job's detail (a list keeps serializers.job_json's rule,
    which reads no other row). In a short transaction of its own, since the kind's
    check locks the rows it reads (a video's), as a retry does; a job the cheap rules
    refuse reads nothing more."""
    with transaction.atomic():
        return _retry_refusal(job) is None


def _retry_refusal(job: Job) -> str | None:
    return (policy.retry_status_refusal(job.status) or retry_refusal(job.error_code)
            or _kind_retry_refusal(job))


def _kind_retry_refusal(job: Job) -> str | None:
    try:
        refusal = registry.kind(job.kind).retry_refusal
    except ValueError:
        return f"No worker runs {job.kind} jobs any more: this one cannot run again."
    return refusal(job=job) if refusal else None


def job_reprocess(*, job_id: uuid.UUID) -> Job:
    """Run a job that ended DONE or FAILED again from its inputs, as a new job: the
    ops console's reprocess (a retry, by contrast, runs the same FAILED job again).
    How is its kind's (JobKind.reprocess): a video encode encodes its original again
    while the original is kept. ReprocessRefused, saying why, for a job still active
    or cancelled, or of a kind whose inputs are gone once it ends (a member import's
    sheet is deleted when the job ends)."""
    job = Job.objects.get(pk=job_id)
    if job.status not in REPROCESSABLE:
        raise ReprocessRefused(f"This job is {job.status}: only a DONE or FAILED job can "
                               f"be reprocessed (cancel an active one first, or let it end).")
    try:
        rerun = registry.kind(job.kind).reprocess
    except ValueError:
        rerun = None  # a kind no longer declared cannot run at all
    if rerun is None:
        raise ReprocessRefused(f"Jobs of kind {job.kind} cannot be reprocessed: their input "
                               f"is not kept once they end. Start it again with a new "
                               f"upload.")
    return rerun(job=job)


# --- what workers do ---------------------------------------------------------------------

def job_claim(*, channels: list[str], worker_id: str) -> Job | None:
    """Atomically take the oldest runnable job of these channels' kinds, or None.

    Runnable: PENDING and due, or else RUNNING with an expired lease (its worker
    died). A reclaimed job that used up its attempts fails as WORKER_LOST.
    """
    now = timezone.now()
    kinds = registry.kinds_of(channels)
    job = claim_oldest_pending(kinds, now, **_claimed(worker_id, now))
    if job is not None:
        CLAIM_LATENCY.labels(job.kind).observe(
            max(0.0, (now - runnable_since(job)).total_seconds()))
    else:
        job = _reclaim_expired(kinds, worker_id, now)
    if job is not None:
        publish(job)
    return job


def runnable_since(job: Job):
    """When a PENDING job became runnable: its retry's or release's `run_after`, else
    its creation."""
    return job.run_after or job.created_at


def _claimed(worker_id: str, now) -> dict:
    """The fields a claim sets: a new attempt (the fencing token) and its lease."""
    return {"status": JobStatus.RUNNING, "attempts": F("attempts") + 1,
            "lease_owner": worker_id,
            "lease_expires_at": now + timedelta(seconds=settings.JOB_LEASE_SECONDS),
            "started_at": Coalesce("started_at", Value(now)), "stage": "starting",
            "message": "", "version": F("version") + 1, "updated_at": now}


def _reclaim_expired(kinds: list[str], worker_id: str, now) -> Job | None:
    with transaction.atomic():
        job = (Job.objects.select_for_update(skip_locked=True)
               .filter(kind__in=kinds, status=JobStatus.RUNNING, lease_expires_at__lt=now)
               .order_by("lease_expires_at").first())
        if job is None:
            return None
        logger.warning("job %s: lease of attempt %d (worker %s) expired; reclaiming",
                       job.id, job.attempts, job.lease_owner, extra={"job_id": str(job.id)})
        LEASE_EXPIRIES.labels(job.kind).inc()
        if job.cancel_requested or job.attempts >= job.max_attempts:
            _finish_reclaimed(job, now)
            return None
        [job] = update_returning(Job.objects.filter(pk=job.pk), **_claimed(worker_id, now))
    TAKEOVERS.labels(job.kind).inc()
    return job


def _finish_reclaimed(job: Job, now) -> None:
    if job.cancel_requested:
        job.status, job.stage = JobStatus.CANCELLED, "cancelled"
    else:
        job.status, job.error_code = JobStatus.FAILED, "WORKER_LOST"
        FAILURES.labels(job.kind, job.error_code).inc()
        job.error_message = (f"The worker running this job stopped answering on each of "
                             f"its {job.attempts} attempts.")
    job.finished_at, job.lease_owner, job.lease_expires_at = now, "", None
    job.version += 1
    job.save()
    publish(job)


def _fenced(job_id: uuid.UUID, attempt: int, **fields) -> Job:
    """Update the job only while `attempt` still holds it; JobFenced otherwise."""
    rows = update_returning(
        Job.objects.filter(pk=job_id, attempts=attempt, status=JobStatus.RUNNING),
        version=F("version") + 1, updated_at=timezone.now(), **fields)
    if not rows:
        FENCED_WRITES.inc()
        raise JobFenced(f"job {job_id}: attempt {attempt} no longer holds it")
    return rows[0]


def job_progress(*, job_id: uuid.UUID, attempt: int, progress: int, stage: str,
                 message: str = "") -> bool:
    """Store and publish progress; return whether cancellation was requested."""
    job = _fenced(job_id, attempt, progress=max(0, min(100, progress)), stage=stage[:60],
                  message=message[:300],
                  lease_expires_at=timezone.now() + timedelta(seconds=settings.JOB_LEASE_SECONDS))
    publish(job)
    return job.cancel_requested


def job_renew_lease(*, job_id: uuid.UUID, attempt: int) -> bool:
    """Extend the lease (the worker's heartbeat); False when the attempt lost the job."""
    renewed = bool(Job.objects.filter(pk=job_id, attempts=attempt,
                                      status=JobStatus.RUNNING).update(
        lease_expires_at=timezone.now() + timedelta(seconds=settings.JOB_LEASE_SECONDS)))
    if not renewed:
        FENCED_WRITES.inc()
    return renewed


def job_finish(*, job_id: uuid.UUID, attempt: int, result: dict) -> None:
    publish(_fenced(job_id, attempt, status=JobStatus.DONE, progress=100, stage="done",
                    result=result, finished_at=timezone.now(), lease_owner="",
                    lease_expires_at=None))


def job_cancelled(*, job_id: uuid.UUID, attempt: int) -> None:
    publish(_fenced(job_id, attempt, status=JobStatus.CANCELLED, stage="cancelled",
                    finished_at=timezone.now(), lease_owner="", lease_expires_at=None))


def job_fail(*, job_id: uuid.UUID, attempt: int, code: str, message: str) -> str:
    """Retry a transient failure with backoff, fail a permanent one; return the status."""
    with transaction.atomic():
        job = Job.objects.get(pk=job_id)
        retry = policy.should_retry(permanent=is_permanent(code), attempt=attempt,
                                    max_attempts=job.max_attempts)
        if retry:
            delay = policy.retry_delay(attempt)
            fields = {"status": JobStatus.PENDING, "stage": "retrying",
                      "message": f"attempt {attempt} failed; retrying in {delay:.0f} s",
                      "run_after": timezone.now() + timedelta(seconds=delay)}
        else:
            fields = {"status": JobStatus.FAILED, "finished_at": timezone.now()}
        job = _fenced(job_id, attempt, error_code=code, error_message=message[:5000],
                      lease_owner="", lease_expires_at=None, **fields)
        publish(job)
    (RETRIES if retry else FAILURES).labels(job.kind, code).inc()
    log = logger.warning if retry else logger.error
    log("job %s attempt %d failed (%s): %s%s", job_id, attempt, code, message,
        "; will retry" if retry else "", extra={"job_id": str(job_id)})
    return job.status  # a retry is found by the sweep once run_after has passed


def job_release(*, job_id: uuid.UUID, attempt: int) -> None:
    """A stopping worker hands its job back (SIGTERM); this attempt does not count."""
    with transaction.atomic():
        job = _fenced(job_id, attempt, status=JobStatus.PENDING, stage="released",
                      message="the worker stopped; another one takes over",
                      lease_owner="", lease_expires_at=None, run_after=timezone.now(),
                      max_attempts=F("max_attempts") + 1)
        publish(job)
        wake(job.kind, job.id)
