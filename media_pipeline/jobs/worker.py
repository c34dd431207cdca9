"""The worker: wake-ups from the channel layer, a sweep of the table, one job at a time.

`python manage.py runworker jobs.video jobs.excel` runs one JobRunner; in embedded
mode (development without Redis) the web process runs one too. A runner claims a job
whenever a wake-up arrives and, since wake-ups can be lost, every JOB_SWEEP_SECONDS
when idle. It runs the handler in a thread while its event loop renews the job's
lease, publishes the worker's heartbeat and sends the job events the thread hands
over (a LoopPublisher). On stop (SIGTERM) it claims nothing more,
lets the current job finish for a grace period, then releases it to another worker.
It also runs the chores declared for its channels (registry.Chore: the backlog
published to CloudWatch), each in a thread of its own, and looks every few seconds for
a maintenance task that is due (jobs/maintenance.py: whichever worker claims it first
runs it, in a thread of its own).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
import uuid

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from media_pipeline.jobs import actions, maintenance, registry
from media_pipeline.jobs.errors import JobCancelled, JobFailed, JobFenced, JobReleased
from media_pipeline.jobs.metrics import JOB_DURATION
from media_pipeline.jobs.models import WorkerHeartbeat
from media_pipeline.jobs.progress import JobContext
from media_pipeline.jobs.states import JobStatus
from project import runtime
from project.logcontext import job_id_var, request_id_var
from project.realtime import LoopPublisher, broadcast_through

logger = logging.getLogger(__name__)


def execute(context: JobContext) -> None:
    """Run a claimed job's handler and record how it ended (in a worker thread,
    through database_sync_to_async, which returns its connection afterwards). Its log
    lines carry the job's id and the id of the request that enqueued it."""
    tokens = (job_id_var.set(str(context.job_id)), request_id_var.set(context.request_id))
    started, outcome = time.monotonic(), "error"  # error: its end could not be recorded
    try:
        result = registry.kind(context.kind).handler(context)
        actions.job_finish(job_id=context.job_id, attempt=context.attempt, result=result or {})
        outcome = "done"
        logger.info("job %s done", context.job_id)
    except JobCancelled:
        actions.job_cancelled(job_id=context.job_id, attempt=context.attempt)
        outcome = "cancelled"
        logger.info("job %s cancelled", context.job_id)
    except JobReleased:
        actions.job_release(job_id=context.job_id, attempt=context.attempt)
        outcome = "released"
        logger.info("job %s released: the worker is stopping", context.job_id)
    except JobFailed as failure:
        outcome = failed(actions.job_fail(job_id=context.job_id, attempt=context.attempt,
                                          code=failure.code, message=failure.message))
    except JobFenced:
        outcome = "fenced"
        logger.warning("job %s: attempt %d lost its lease; its result is discarded",
                       context.job_id, context.attempt)
    except Exception as error:  # a bug or an unexpected failure: retried, then FAILED
        logger.exception("job %s: unexpected error", context.job_id)
        try:
            outcome = failed(actions.job_fail(
                job_id=context.job_id, attempt=context.attempt, code="INTERNAL",
                message=f"Unexpected error in the worker: {type(error).__name__}: {error}"))
        except JobFenced:
            outcome = "fenced"
    finally:
        JOB_DURATION.labels(context.kind, outcome).observe(
            time.monotonic() - started, exemplar=exemplar(context))
        for var, token in zip((job_id_var, request_id_var), tokens, strict=True):
            var.reset(token)


def failed(status: str) -> str:
    """The outcome of an attempt that failed: `failed` for good, or `retry`."""
    return "failed" if status == JobStatus.FAILED else "retry"


def exemplar(context: JobContext) -> dict[str, str]:
    """The job's ids, attached to its duration (shown by scrapers that ask for
    OpenMetrics): from a slow bucket to the job's log lines."""
    return {name: value for name, value in (("job_id", str(context.job_id)),
                                             ("request_id", context.request_id)) if value}


class JobRunner:
    def __init__(self, channels: list[str], worker_id: str | None = None):
        self.channels = list(channels)
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.woken = asyncio.Event()
        self.stopping = asyncio.Event()
        self.current: JobContext | None = None
        self.jobs_run = 0

    async def serve(self) -> None:
        """Run until `stop()`; then finish or release the current job and leave."""
        logger.info("worker %s listening on %s", self.worker_id, ", ".join(self.channels))
        publisher = LoopPublisher()
        broadcast_through(publisher)  # the job threads this task starts hand events to it
        background = [asyncio.create_task(self._listen(channel)) for channel in self.channels]
        background.append(asyncio.create_task(self._heartbeat()))
        background += [asyncio.create_task(self._chore(chore))
                       for chore in registry.chores_of(self.channels)]
        background.append(asyncio.create_task(self._maintenance()))
        try:
            while not self.stopping.is_set():
                self.woken.clear()  # before the claim: a wake-up during it is not lost
                try:
                    if await self._run_next():
                        continue
                except DatabaseError as error:
                    # A failover, a pooler restart, a connection killed: the worker
                    # outlives it (a job it held is taken over when its lease ends).
                    logger.error("worker %s: the database failed (%s); claiming again in "
                                 "%s s", self.worker_id, error, settings.JOB_SWEEP_SECONDS)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.woken.wait(), settings.JOB_SWEEP_SECONDS)
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            try:
                await database_sync_to_async(
                    WorkerHeartbeat.objects.filter(worker_id=self.worker_id).delete)()
            except DatabaseError as error:  # its heartbeat then ages out
                logger.warning("worker %s: heartbeat not removed (%s)", self.worker_id, error)
            await publisher.close(timeout=5)
            logger.info("worker %s stopped after %d job(s)", self.worker_id, self.jobs_run)

    def wake(self) -> None:
        self.woken.set()

    def stop(self) -> None:
        """Claim nothing more; the running job gets JOB_STOP_GRACE_SECONDS to finish."""
        if not self.stopping.is_set():
            logger.info("worker %s stopping", self.worker_id)
            self.stopping.set()
            self.woken.set()

    async def _run_next(self) -> bool:
        """Claim a job and run it in a worker thread (one hop for both); False if none."""
        run = asyncio.ensure_future(database_sync_to_async(
            self._claim_and_execute, thread_sensitive=False)())
        while not run.done():
            done, _ = await asyncio.wait([run], timeout=0.5)
            if self.stopping.is_set() and not done:
                await self._grace(run)
        return await run

    def _claim_and_execute(self) -> bool:
        job = actions.job_claim(channels=self.channels, worker_id=self.worker_id)
        if job is None:
            return False
        self.current = JobContext(job)
        try:
            execute(self.current)
        finally:
            self.current = None
            self.jobs_run += 1
        return True

    async def _grace(self, run: asyncio.Future) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(run), settings.JOB_STOP_GRACE_SECONDS)
        context = self.current
        if not run.done() and context is not None:
            context.release_requested = True  # the handler's next progress point hands it back

    async def _listen(self, channel: str) -> None:
        layer = get_channel_layer()
        while True:
            try:
                await layer.receive(channel)
                self.wake()
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis away: the sweep keeps the worker going meanwhile
                logger.exception("worker: receive on %s failed; retrying", channel)
                await asyncio.sleep(2)

    async def _heartbeat(self) -> None:
        while True:
            try:
                await database_sync_to_async(self._beat)()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("worker %s: heartbeat failed", self.worker_id)
            await asyncio.sleep(settings.JOB_HEARTBEAT_SECONDS)

    async def _chore(self, chore: registry.Chore) -> None:
        """Idempotent, so every worker of its channel may run it; jittered so they spread
        out. Off the heartbeat's thread: a slow store must not delay lease renewals."""
        run = database_sync_to_async(chore.run, thread_sensitive=False)
        while True:
            try:
                await run()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database away: the next round tries again
                logger.exception("worker %s: %s failed", self.worker_id, chore.name)
            spread = random.uniform(0.75, 1.25)  # noqa: S311 (not a secret)
            await asyncio.sleep(chore.every_seconds * spread)

    async def _maintenance(self) -> None:
        """Run the maintenance tasks due now, then look again a poll later (jittered).
        Off the heartbeat's thread, like a chore; one task at a time per worker."""
        sync = database_sync_to_async(maintenance.schedule_sync)
        run = database_sync_to_async(maintenance.tasks_run_due, thread_sensitive=False)
        synced = False
        while True:
            try:
                if not synced:
                    await sync()
                    synced = True
                await run(worker_id=self.worker_id)
            except asyncio.CancelledError:
                raise
            except Exception:  # the database away: the next poll tries again
                logger.exception("worker %s: maintenance failed", self.worker_id)
            spread = random.uniform(0.75, 1.25)  # noqa: S311 (not a secret)
            await asyncio.sleep(maintenance.poll_seconds() * spread)

    def _beat(self) -> None:
        context = self.current
        WorkerHeartbeat.objects.update_or_create(
            worker_id=self.worker_id,
            defaults={"channels": self.channels, "last_seen": timezone.now(),
                      "current_job": context.job_id if context else None})
        if context is not None and not actions.job_renew_lease(job_id=context.job_id,
                                                               attempt=context.attempt):
            context.lease_lost = True


class EmbeddedWorker:
    """Development without Redis: the web process runs a JobRunner on its own loop.

    ASGI wrapper that starts the runner with the first connection (runserver and
    Daphne create their loop before that). The in-memory channel layer carries the
    wake-ups within the process.
    """

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if settings.EMBEDDED_WORKER:
            runtime.current().part("media_pipeline.embedded_worker", EmbeddedRunner)
        return await self.application(scope, receive, send)


class EmbeddedRunner:
    """The loop's JobRunner, serving in a task of its own (a part of the runtime)."""

    def __init__(self):
        self.runner = JobRunner(registry.all_channels())
        self.task = asyncio.get_running_loop().create_task(self.runner.serve())

    async def aclose(self) -> None:
        self.runner.stop()
        await asyncio.gather(self.task, return_exceptions=True)
