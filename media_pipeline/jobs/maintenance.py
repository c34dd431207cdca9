"""Maintenance the workers run themselves, each task once per period across the fleet.

Each periodic task (registry.PeriodicTask: the op-log trim, the purges, the upload
sweep) has a row in `ScheduledTask`. Every worker looks for due rows every few seconds
(worker.py) and claims one with a compare-and-set UPDATE: `next_run_at` still what it
read, due (<= now), and no live lease. The UPDATE moves `next_run_at` a period on
(schedule_rules.next_run) and takes the lease, so of two workers racing, the second
matches no row (PostgreSQL re-checks the condition on the row the first one changed)
and the task runs once per period whatever the number of workers.

While a task runs its lease is renewed (every JOB_HEARTBEAT_SECONDS, for
JOB_LEASE_SECONDS) by a thread beside it, so a run longer than its period is never
started twice. A worker that dies mid-run stops renewing: its run is recorded
`abandoned` by the next claim, which comes in the next period, not at once (a task
that kills its worker must not kill one worker after another). Every task is
idempotent, so the next run finishes what the dead one left.

One clock decides: the database's (Now() in the UPDATEs, and its time read with the
row for the schedule rule), never a worker's own. A worker whose clock runs ahead would
otherwise see a live lease as expired, start the task a second time and record the
live run abandoned.

Each run is a `TaskRun` row: worker, start, end, outcome (ok, failed, abandoned), the
task's summary or its error; the latest KEEP_RUNS per task are kept. A failure is
logged with its traceback and stays visible in doctor, the admin and the metrics.
`manage.py maintenance --run NAME` runs one now through the same claim (refused while
it runs elsewhere), leaving the schedule as it was.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, IntegrityError, connection, transaction
from django.db.models import Q
from django.db.models.functions import Now
from django.db.models.sql import Query

from media_pipeline.jobs import registry, schedule_rules
from media_pipeline.jobs.metrics import MAINTENANCE_RUNS
from media_pipeline.jobs.models import ScheduledTask, TaskRun
from project.refusals import WrongState

logger = logging.getLogger(__name__)

KEEP_RUNS = 100


class TaskBusy(Exception):
    """The task is running on some worker now: it is not started a second time."""


def poll_seconds() -> float:
    """How often a worker looks for due tasks: MAINTENANCE_POLL_SECONDS, or a quarter
    of the shortest period when that is shorter."""
    periods = [every for every in settings.MAINTENANCE_EVERY.values() if every]
    return min([settings.MAINTENANCE_POLL_SECONDS, *(every / 4 for every in periods)])


def database_now() -> datetime:
    """The database's time, the one clock of the schedule. `next_run_at` is written
    from it in Python, not as Now() in SQL: SQLite stores Now() as text in another
    format, which the claim's compare-and-set on `next_run_at` would never match."""
    query = Query(None)
    query.add_annotation(Now(), "now")
    return next(query.get_compiler(DEFAULT_DB_ALIAS).results_iter())[0]


def schedule_sync() -> None:
    """A row per declared task, with this worker's period (a worker's start). A new
    task is due at once; a shortened period brings the next run forward (by the
    database's clock)."""
    now = database_now()
    for task in registry.periodic_tasks():
        every = settings.MAINTENANCE_EVERY[task.name]
        try:
            row, created = ScheduledTask.objects.get_or_create(
                name=task.name, defaults={"every_seconds": every, "next_run_at": now})
        except IntegrityError:  # another worker created it between the get and the create
            row, created = ScheduledTask.objects.get(name=task.name), False
        if created or row.every_seconds == every:
            continue
        changes = {"every_seconds": every}
        if every and row.next_run_at > now + timedelta(seconds=every):
            changes["next_run_at"] = now + timedelta(seconds=every)
        ScheduledTask.objects.filter(name=task.name).update(**changes)
        logger.info("maintenance: %s now runs %s", task.name,
                    f"every {every} s" if every else "never (off)")


def task_claim(*, name: str, worker_id: str, manual: bool = False) -> TaskRun | None:
    """Take task `name` for one run: its run, or None when it is not due (or, for a
    manual run, TaskBusy when it runs elsewhere). See the module for the rule."""
    every = settings.MAINTENANCE_EVERY[name]
    row = ScheduledTask.objects.filter(name=name).first()
    if row is None:
        if not manual:
            return None
        schedule_sync()
        row = ScheduledTask.objects.get(name=name)
    now = database_now()
    free = Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=Now())
    lease = {"lease_owner": worker_id,
             "lease_expires_at": Now() + timedelta(seconds=settings.JOB_LEASE_SECONDS)}
    with transaction.atomic():
        if manual:  # the schedule stays as it is
            claimed = ScheduledTask.objects.filter(free, name=name).update(**lease)
            if not claimed:
                raise TaskBusy(f"{name} is running on {row.lease_owner} (since its lease "
                               f"was last renewed, it expires {row.lease_expires_at:%H:%M:%S})")
        else:
            if every is None or row.next_run_at > now:
                return None
            claimed = ScheduledTask.objects.filter(free, name=name,
                                                   next_run_at=row.next_run_at).update(
                next_run_at=schedule_rules.next_run(row.next_run_at, now, every), **lease)
            if not claimed:
                return None
        _abandon_unfinished(name)
        return TaskRun.objects.create(task_id=name, worker_id=worker_id, manual=manual,
                                      started_at=now)


def _abandon_unfinished(name: str) -> None:
    """Runs still `running` when the lease was free again (by the database's clock, in
    the claim that calls this): their worker stopped."""
    for run in TaskRun.objects.filter(task_id=name, outcome=TaskRun.Outcome.RUNNING):
        logger.error("maintenance: %s run started %s on %s was abandoned: its worker "
                     "stopped renewing the lease before it finished", name,
                     run.started_at.isoformat(), run.worker_id)
        TaskRun.objects.filter(pk=run.pk, outcome=TaskRun.Outcome.RUNNING).update(
            outcome=TaskRun.Outcome.ABANDONED, finished_at=Now(),
            error=f"worker {run.worker_id} stopped before the run finished (died, killed, "
                  f"or lost the database)")
        MAINTENANCE_RUNS.labels(name, TaskRun.Outcome.ABANDONED).inc()


def task_execute(run: TaskRun) -> TaskRun:
    """Run a claimed task, record how it ended, release its lease. The task's own
    failure is recorded and logged, never raised."""
    keeper = _LeaseKeeper(run.task_id, run.worker_id)
    keeper.start()
    try:
        summary = registry.periodic_task(run.task_id).run()
        run.outcome, run.summary = TaskRun.Outcome.OK, str(summary)[:300]
        logger.info("maintenance: %s ok: %s", run.task_id, run.summary)
    except Exception as error:  # whatever the task raised is its failure, recorded
        logger.exception("maintenance: %s failed", run.task_id)
        run.outcome, run.error = TaskRun.Outcome.FAILED, f"{type(error).__name__}: {error}"
    finally:
        keeper.stop()
    run.finished_at = Now()
    run.save(update_fields=["outcome", "summary", "error", "finished_at"])
    run.refresh_from_db(fields=["finished_at"])
    ScheduledTask.objects.filter(name=run.task_id, lease_owner=run.worker_id).update(
        lease_owner="", lease_expires_at=None)
    stale = TaskRun.objects.filter(task_id=run.task_id).order_by("-started_at")[KEEP_RUNS:]
    TaskRun.objects.filter(pk__in=list(stale.values_list("pk", flat=True))).delete()
    MAINTENANCE_RUNS.labels(run.task_id, run.outcome).inc()
    return run


def tasks_run_due(*, worker_id: str) -> list[TaskRun]:
    """Claim and run, one after the other, every task due now (a worker's poll)."""
    runs = []
    for task in registry.periodic_tasks():
        run = task_claim(name=task.name, worker_id=worker_id)
        if run is not None:
            runs.append(task_execute(run))
    return runs


def task_due_now(*, name: str) -> None:
    """Make task `name` due at once, for the next worker poll to claim (the console's
    "run on a worker now"): it runs on a worker, once, through the usual claim, and
    its next run follows a period after. WrongState for a task that is off (no worker
    claims it: `manage.py maintenance --run NAME` runs it)."""
    changed = ScheduledTask.objects.filter(name=name, every_seconds__isnull=False).update(
        next_run_at=database_now())
    if not changed:
        raise WrongState(f"{name} is off (MAINTENANCE_{name.upper()}_EVERY=off) or no "
                         f"worker has started yet, so no worker would claim it: run it "
                         f"with manage.py maintenance --run {name}")


def task_run_now(*, name: str) -> TaskRun:
    """Run task `name` at once (`manage.py maintenance --run`); TaskBusy when it runs
    elsewhere, ValueError for an unknown name."""
    registry.periodic_task(name)
    worker_id = f"manual:{socket.gethostname()}:{os.getpid()}"
    run = task_claim(name=name, worker_id=worker_id, manual=True)
    return task_execute(run)


class _LeaseKeeper:
    """Renews a running task's lease from a thread of its own (with its own database
    connection, closed when it stops)."""

    def __init__(self, name: str, worker_id: str):
        self.name, self.worker_id = name, worker_id
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._renew, name=f"lease:{name}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.done.set()
        self.thread.join()

    def _renew(self) -> None:
        try:
            while not self.done.wait(settings.JOB_HEARTBEAT_SECONDS):
                try:
                    ScheduledTask.objects.filter(
                        name=self.name, lease_owner=self.worker_id).update(
                        lease_expires_at=Now()
                        + timedelta(seconds=settings.JOB_LEASE_SECONDS))
                except DatabaseError as error:  # the next beat tries again
                    logger.warning("maintenance: %s lease not renewed: %s", self.name, error)
        finally:
            connection.close()
