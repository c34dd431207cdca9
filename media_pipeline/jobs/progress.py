"""What a job handler gets: its input and one small progress API.

Progress is stored on the job and published to the owner at most every
JOB_PROGRESS_INTERVAL seconds (and on every stage change), in its own short
transaction, never inside the handler's work. A handler may report from inside a
transaction of its own (the member import applies a whole file in one): the report
then goes through a connection of its own, committed and published at once, so the
job row is never locked by the handler's transaction (the lease renewals and a
person's cancel would wait for it) and a cancel still stops the work, rolled back. On
SQLite, whose one writer that transaction is, such a report is not stored: the
stage's next report after the commit says where the job is. Each report is also the point where a
handler learns it must stop: cancelled by a person, released by a stopping worker,
or fenced out because its lease was lost.
"""

from __future__ import annotations

import contextvars
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import connections, transaction

from media_pipeline.jobs import actions
from media_pipeline.jobs.errors import JobCancelled, JobFenced, JobReleased
from media_pipeline.jobs.models import Job

# Where reports made inside a handler's transaction are written: a thread, so a
# connection, of their own (created on the first such report).
_apart = ThreadPoolExecutor(max_workers=1, thread_name_prefix="moa-progress")


class JobContext:
    def __init__(self, job: Job):
        self.job_id = job.id
        self.kind = job.kind
        self.attempt = job.attempts
        self.max_attempts = job.max_attempts
        self.payload = job.payload
        # The request that enqueued it (jobs/actions.job_enqueue), for its log lines.
        self.request_id = str(job.payload.get("request_id") or "")[:64]
        self.owner_id = job.owner_id
        self.team_id = job.team_id
        self.release_requested = False  # set by the worker on SIGTERM
        self.lease_lost = False  # set by the worker's heartbeat
        self._last_write = 0.0
        self._last_stage: str | None = None
        self._last_percent = -1
        # Made inside a transaction (a test's): reports join it, as the handler's work does.
        self._within = transaction.get_connection().in_atomic_block

    def progress(self, percent: float, stage: str, message: str = "", *,
                 always: bool = False) -> None:
        """Report progress; raises to stop the handler when it must stop. Reports come at
        most every JOB_PROGRESS_INTERVAL, unless `always`: a step that is itself coarse
        (a batch of thousands of rows written) is worth its write however fast it went."""
        self.check()
        percent = int(max(0, min(100, percent)))
        now = time.monotonic()
        due = (always or stage != self._last_stage or now - self._last_write
               >= settings.JOB_PROGRESS_INTERVAL)
        if not due or percent < self._last_percent:
            return
        self._last_write, self._last_stage, self._last_percent = now, stage, percent
        report = {"job_id": self.job_id, "attempt": self.attempt, "progress": percent,
                  "stage": stage, "message": message}
        connection = transaction.get_connection()
        if not connection.in_atomic_block or self._within:
            cancelled = actions.job_progress(**report)
        elif connection.vendor == "sqlite":
            return  # the handler's transaction holds the one write lock
        else:
            cancelled = _apart.submit(contextvars.copy_context().run, _report_apart,
                                      report).result()
        if cancelled:
            raise JobCancelled(f"job {self.job_id} was cancelled")

    @property
    def last_attempt(self) -> bool:
        """No retry follows this attempt, whatever happens (inputs can be cleaned up)."""
        return self.attempt >= self.max_attempts

    def check(self) -> None:
        """The cheap part of `progress`: stop if the worker said so (no database)."""
        if self.lease_lost:
            raise JobFenced(f"job {self.job_id}: attempt {self.attempt} lost its lease")
        if self.release_requested:
            raise JobReleased(f"job {self.job_id}: the worker is stopping")


def _report_apart(report: dict) -> bool:
    """actions.job_progress on this thread's own connection, returned (to the pool)
    after each report."""
    try:
        return actions.job_progress(**report)
    finally:
        connections.close_all()
