"""Real worker processes (`manage.py runworker`) sharing one maintenance schedule: a
periodic task runs once per period across the fleet, not once per worker."""

import re
from datetime import timedelta
from itertools import pairwise

import psycopg
import pytest
from django.utils import timezone

from media_pipeline.jobs import registry
from media_pipeline.models import ScheduledTask, TaskRun
from project.accounts.models import User
from tests.jobs.test_workers import output, wait_for, worker
from tests.processes import shared_database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis, pytest.mark.slow]
PERIOD = 3
TASK = "purge_unverified_users"


def stale_signup(username: str) -> User:
    user = User.objects.create(username=username, email=f"{username}@example.com",
                               is_active=False)
    User.objects.filter(pk=user.pk).update(date_joined=timezone.now() - timedelta(days=30))
    return user


def gone(user: User) -> bool:
    return not User.objects.filter(pk=user.pk).exists()


def finished_runs() -> list[TaskRun]:
    return list(TaskRun.objects.filter(task=TASK).exclude(outcome="running")
                .order_by("started_at"))


def test_two_workers_run_a_periodic_task_once_per_period():
    schedule = {f"MAINTENANCE_{task.name.upper()}_EVERY": "off"
                for task in registry.periodic_tasks()}
    schedule[f"MAINTENANCE_{TASK.upper()}_EVERY"] = f"{PERIOD}s"
    first = stale_signup("ghost1")
    with worker("maintenance-a", **schedule) as a, worker("maintenance-b", **schedule) as b:
        wait_for(lambda: gone(first), 60, "the first run purges the stale sign-up")
        second = stale_signup("ghost2")
        wait_for(lambda: gone(second), 30, "a later period's run purges the next one")
        wait_for(lambda: len(finished_runs()) >= 4, 30, "four periods have run")
        assert a.poll() is None and b.poll() is None, output(a) + output(b)
        logs = output(a) + output(b)

    runs = finished_runs()
    assert {run.outcome for run in runs} == {"ok"}, [(run.outcome, run.error) for run in runs]
    # Once per period: a second run in a period (both workers running it) would start
    # about when the first did, and the periods run in the time they span. The due
    # times are anchored (each period's from the last's) but a run starts at the poll
    # that finds it due, so the span can fall short of whole periods by a poll's delay.
    starts = [run.started_at for run in runs]
    gaps = [(later - earlier).total_seconds() for earlier, later in pairwise(starts)]
    assert min(gaps) >= PERIOD / 2, gaps
    span = (starts[-1] - starts[0]).total_seconds()
    assert len(runs) <= (span + PERIOD / 2) / PERIOD + 1, gaps
    # ... and from the task's effect: each sign-up deleted by exactly one run.
    deleted = [int(re.match(r"deleted (\d+) unverified", run.summary)[1]) for run in runs]
    assert sum(deleted) == 2, [run.summary for run in runs]
    pids = {str(a.pid), str(b.pid)}
    assert {run.worker_id.split(":")[1] for run in runs} <= pids
    assert not any(run.manual for run in runs)
    row = ScheduledTask.objects.get(name=TASK)
    assert row.every_seconds == PERIOD and row.next_run_at > starts[-1]
    # The tasks that are off never ran, and each worker said what ran.
    assert set(TaskRun.objects.values_list("task", flat=True)) == {TASK}
    assert set(ScheduledTask.objects.exclude(name=TASK).values_list(
        "every_seconds", flat=True)) == {None}
    assert f"maintenance: {TASK} ok: deleted 1 unverified account(s)" in logs


def test_a_worker_killed_mid_task_leaves_it_to_another_in_the_next_period():
    """kill -9 while the task is blocked mid-run (the test holds a lock on the row it
    deletes): the run is recorded abandoned, naming the dead worker, and another worker
    runs the task in a later period, once the lease is over."""
    schedule = {f"MAINTENANCE_{task.name.upper()}_EVERY": "off"
                for task in registry.periodic_tasks()}
    schedule[f"MAINTENANCE_{TASK.upper()}_EVERY"] = f"{PERIOD}s"
    ghost = stale_signup("ghost")
    with psycopg.connect(shared_database_url(), autocommit=False) as holder:
        holder.execute("SELECT id FROM accounts_user WHERE id = %s FOR UPDATE", [ghost.pk])
        with worker("maintenance-doomed", **schedule) as doomed:
            wait_for(lambda: TaskRun.objects.filter(task=TASK, outcome="running").exists(),
                     60, "the first worker starts the task")
            doomed.kill()  # SIGKILL: its lease is left to expire
            doomed.wait(10)
        holder.rollback()
    dead = TaskRun.objects.get(task=TASK)
    assert dead.worker_id.split(":")[1] == str(doomed.pid)
    with worker("maintenance-heir", **schedule) as heir:
        wait_for(lambda: gone(ghost), 60, "another worker runs the task")
        wait_for(lambda: TaskRun.objects.filter(task=TASK, outcome="ok").exists(), 10,
                 "its run is recorded")
        assert heir.poll() is None, output(heir)
    dead.refresh_from_db()
    assert dead.outcome == "abandoned" and f"worker {dead.worker_id} stopped" in dead.error
    after = TaskRun.objects.get(task=TASK, outcome="ok")
    assert after.worker_id.split(":")[1] == str(heir.pid)
    assert after.summary == "deleted 1 unverified account(s) older than 7 days"
    assert after.started_at >= dead.started_at + timedelta(seconds=PERIOD)
