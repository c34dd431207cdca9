"""The maintenance schedule in-process: the claim rule (once per period, whoever races
for it), leases and abandoned runs, how a run is recorded, the manual run, and what
doctor and the metrics show (media_pipeline/jobs/maintenance.py, schedule_rules.py)."""

import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from io import StringIO
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from media_pipeline.jobs import maintenance, queries, registry, schedule_rules
from media_pipeline.jobs.metrics import MaintenanceCollector
from media_pipeline.jobs.registry import PeriodicTask
from media_pipeline.models import ScheduledTask, TaskRun
from project.accounts.models import User

DAY = 86400
T0 = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


def state(**fields) -> schedule_rules.TaskState:
    base = {"name": "trim_op_log", "every_seconds": 3600, "next_run_at": T0,
            "last_outcome": "ok", "last_started_at": T0 - timedelta(hours=1),
            "last_error": "", "last_summary": "deleted 3 op(s) in 1 map(s)",
            "last_success_at": T0 - timedelta(hours=1)}
    return schedule_rules.TaskState(**{**base, **fields})


def test_the_next_run_keeps_the_time_of_day_but_never_catches_up_with_a_burst():
    # Claimed 40 s late: next due a day after it was due, not after the claim.
    assert schedule_rules.next_run(T0, T0 + timedelta(seconds=40), DAY) == T0 + timedelta(days=1)
    # Three days without a worker: one run now, the next a period later, no backlog.
    late = T0 + timedelta(days=3, hours=2)
    assert schedule_rules.next_run(T0, late, DAY) == late + timedelta(days=1)


def test_a_failed_or_abandoned_last_run_or_two_periods_overdue_is_trouble():
    assert schedule_rules.trouble(state(), T0 + timedelta(hours=1)) is None  # one period late
    assert "overdue by" in schedule_rules.trouble(state(), T0 + timedelta(hours=2, minutes=1))
    failed = state(last_outcome="failed", last_error="StorageError: AccessDenied")
    assert schedule_rules.trouble(failed, T0) == "last run failed: StorageError: AccessDenied"
    assert "abandoned" in schedule_rules.trouble(state(last_outcome="abandoned"), T0)
    assert schedule_rules.trouble(state(every_seconds=None), T0 + timedelta(days=30)) is None


@pytest.fixture
def schedule(settings):
    """Every task off but trim_op_log (hourly), rows created as a worker's start does."""
    settings.MAINTENANCE_EVERY = {name: None for name in settings.MAINTENANCE_EVERY}
    settings.MAINTENANCE_EVERY["trim_op_log"] = 3600
    maintenance.schedule_sync()
    return settings


def due_now(name: str = "trim_op_log") -> None:
    ScheduledTask.objects.filter(name=name).update(next_run_at=timezone.now()
                                                   - timedelta(seconds=1))


@pytest.mark.django_db
@pytest.mark.sqlite
def test_a_new_task_is_due_at_once_and_a_claim_moves_it_a_period_on(schedule):
    assert {row.name: row.every_seconds for row in ScheduledTask.objects.all()} == {
        task.name: (3600 if task.name == "trim_op_log" else None)
        for task in registry.periodic_tasks()}
    row = ScheduledTask.objects.get(name="trim_op_log")
    run = maintenance.task_claim(name="trim_op_log", worker_id="w1")
    assert run is not None and run.outcome == TaskRun.Outcome.RUNNING
    row.refresh_from_db()
    assert row.lease_owner == "w1" and row.lease_expires_at > timezone.now()
    assert timedelta(minutes=59) < row.next_run_at - timezone.now() <= timedelta(hours=1)
    # Not due any more, so nobody claims it, the same worker included.
    assert maintenance.task_claim(name="trim_op_log", worker_id="w2") is None
    assert maintenance.task_claim(name="trim_op_log", worker_id="w1") is None
    # An off task is never claimed, however due.
    due_now("sweep_uploads")
    assert maintenance.task_claim(name="sweep_uploads", worker_id="w1") is None


@pytest.mark.django_db
@pytest.mark.sqlite
def test_a_due_task_whose_lease_is_live_is_not_started_twice(schedule):
    maintenance.task_claim(name="trim_op_log", worker_id="w1")
    due_now()  # a run longer than its period: due again while w1 still runs it
    assert maintenance.task_claim(name="trim_op_log", worker_id="w2") is None
    assert TaskRun.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.sqlite
def test_a_worker_whose_clock_runs_ahead_cannot_take_a_live_lease(schedule):
    schedule.JOB_LEASE_SECONDS = 20
    running = maintenance.task_claim(name="trim_op_log", worker_id="w1")
    maintenance.task_due_now(name="trim_op_log")  # due again while w1 still runs it
    real = timezone.now
    with mock.patch("django.utils.timezone.now", lambda: real() + timedelta(seconds=30)):
        assert maintenance.task_claim(name="trim_op_log", worker_id="w2 (clock +30 s)") is None
    running.refresh_from_db()
    assert running.outcome == TaskRun.Outcome.RUNNING
    assert ScheduledTask.objects.get(name="trim_op_log").lease_owner == "w1"


@pytest.mark.django_db(transaction=True)
def test_workers_racing_for_a_due_task_claim_it_once():
    maintenance.schedule_sync()
    due_now()
    start, won = threading.Barrier(6), []

    def race(worker: int) -> None:
        try:
            start.wait()
            if maintenance.task_claim(name="trim_op_log", worker_id=f"w{worker}"):
                won.append(worker)
        finally:
            connection.close()

    threads = [threading.Thread(target=race, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1
    assert list(TaskRun.objects.values_list("worker_id", flat=True)) == [f"w{won[0]}"]


@pytest.mark.django_db
@pytest.mark.sqlite
def test_a_dead_workers_run_is_abandoned_and_the_task_runs_in_its_next_period(schedule,
                                                                               caplog):
    dead = maintenance.task_claim(name="trim_op_log", worker_id="w1")  # then w1 dies
    ScheduledTask.objects.filter(name="trim_op_log").update(
        lease_expires_at=timezone.now() - timedelta(seconds=1))
    # Its lease over, it reads as abandoned at once; nobody runs it before its period.
    states = {state.name: state for state in queries.maintenance_states()}
    assert states["trim_op_log"].last_outcome == "abandoned"
    assert maintenance.task_claim(name="trim_op_log", worker_id="w2") is None
    due_now()
    with caplog.at_level(logging.ERROR):
        taken = maintenance.task_claim(name="trim_op_log", worker_id="w2")
    assert taken is not None
    dead.refresh_from_db()
    assert dead.outcome == TaskRun.Outcome.ABANDONED and "worker w1 stopped" in dead.error
    assert "was abandoned" in caplog.text
    assert maintenance.task_execute(taken).outcome == TaskRun.Outcome.OK


@pytest.mark.django_db
@pytest.mark.sqlite
def test_a_run_is_recorded_with_its_worker_times_and_summary_and_frees_the_lease(
        schedule, mindmap):
    run = maintenance.task_execute(maintenance.task_claim(name="trim_op_log", worker_id="w1"))
    run.refresh_from_db()
    assert (run.outcome, run.worker_id, run.manual, run.error) == ("ok", "w1", False, "")
    assert run.summary == "deleted 0 op(s) in 0 map(s)"
    assert run.started_at <= run.finished_at
    row = ScheduledTask.objects.get(name="trim_op_log")
    assert (row.lease_owner, row.lease_expires_at) == ("", None)


@pytest.mark.django_db
@pytest.mark.sqlite
def test_a_failing_task_is_recorded_failed_with_its_error_and_logged(schedule, monkeypatch,
                                                                      caplog):
    def broken() -> str:
        raise RuntimeError("the op log is on fire")

    monkeypatch.setitem(registry._periodic, "trim_op_log", PeriodicTask("trim_op_log", broken))
    with caplog.at_level(logging.ERROR):
        runs = maintenance.tasks_run_due(worker_id="w1")
    assert [(run.outcome, run.error) for run in runs] == [
        ("failed", "RuntimeError: the op log is on fire")]
    assert "maintenance: trim_op_log failed" in caplog.text
    assert "Traceback" in caplog.text
    assert ScheduledTask.objects.get(name="trim_op_log").lease_owner == ""


@pytest.mark.django_db(transaction=True)
def test_a_run_longer_than_its_lease_keeps_it_renewed(settings, monkeypatch):
    settings.JOB_LEASE_SECONDS, settings.JOB_HEARTBEAT_SECONDS = 1, 0.2
    maintenance.schedule_sync()
    release = threading.Event()

    def slow() -> str:
        release.wait(10)
        return "done"

    monkeypatch.setitem(registry._periodic, "trim_op_log", PeriodicTask("trim_op_log", slow))
    run = maintenance.task_claim(name="trim_op_log", worker_id="w1")
    thread = threading.Thread(target=lambda: (maintenance.task_execute(run),
                                              connection.close()))
    thread.start()
    try:
        time.sleep(2.5)  # more than two leases
        due_now()
        assert maintenance.task_claim(name="trim_op_log", worker_id="w2") is None
    finally:
        release.set()
        thread.join()
    assert list(TaskRun.objects.values_list("outcome", flat=True)) == ["ok"]


@pytest.mark.django_db
@pytest.mark.sqlite
def test_maintenance_run_now_uses_the_claim_and_leaves_the_schedule(schedule, make_user):
    ghost = User.objects.create(username="ghost", email="ghost@example.com", is_active=False)
    User.objects.filter(pk=ghost.pk).update(date_joined=timezone.now() - timedelta(days=30))
    before = ScheduledTask.objects.get(name="purge_unverified_users").next_run_at
    out = StringIO()
    call_command("maintenance", "--run", "purge_unverified_users", stdout=out)
    assert out.getvalue().strip() == ("purge_unverified_users: deleted 1 unverified "
                                      "account(s) older than 7 days")
    assert not User.objects.filter(pk=ghost.pk).exists()
    run = TaskRun.objects.get(task="purge_unverified_users")
    assert run.manual and run.worker_id.startswith("manual:") and run.outcome == "ok"
    assert ScheduledTask.objects.get(name="purge_unverified_users").next_run_at == before

    maintenance.task_claim(name="trim_op_log", worker_id="w1")  # running on w1
    with pytest.raises(CommandError, match="trim_op_log is running on w1"):
        call_command("maintenance", "--run", "trim_op_log")
    with pytest.raises(CommandError, match="unknown maintenance task 'vacuum'"):
        call_command("maintenance", "--run", "vacuum")


@pytest.mark.django_db
@pytest.mark.sqlite
def test_maintenance_list_shows_each_task_and_flags_trouble(schedule, monkeypatch):
    maintenance.task_execute(maintenance.task_claim(name="trim_op_log", worker_id="w1"))
    out = StringIO()
    call_command("maintenance", "--list", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("trim_op_log: every 1h, last ok 0s ago (deleted 0 op(s) in "
                               "0 map(s)); next ")
    assert "sweep_uploads: off, never ran" in lines


@pytest.mark.django_db
@pytest.mark.sqlite
def test_a_shorter_period_brings_the_next_run_forward_and_off_is_recorded(schedule):
    maintenance.task_claim(name="trim_op_log", worker_id="w1")  # next in an hour
    schedule.MAINTENANCE_EVERY["trim_op_log"] = 60
    schedule.MAINTENANCE_EVERY["sweep_uploads"] = None
    maintenance.schedule_sync()
    row = ScheduledTask.objects.get(name="trim_op_log")
    assert row.every_seconds == 60 and row.next_run_at <= timezone.now() + timedelta(minutes=1)
    assert ScheduledTask.objects.get(name="sweep_uploads").every_seconds is None


def doctor() -> tuple[str, int]:
    out, err = StringIO(), StringIO()
    try:
        call_command("doctor", stdout=out, stderr=err)
    except SystemExit as exit_:
        return out.getvalue() + err.getvalue(), exit_.code
    return out.getvalue(), 0


def maintenance_line(output: str) -> str:
    return next(line for line in output.splitlines() if line.startswith("maintenance"))


@pytest.mark.django_db
@pytest.mark.sqlite
def test_doctor_shows_each_tasks_last_run_and_fails_on_a_failure_or_an_overdue_task(
        schedule, monkeypatch):
    schedule.EMBEDDED_WORKER = True  # the workers' own check passes
    maintenance.task_execute(maintenance.task_claim(name="trim_op_log", worker_id="w1"))
    output, code = doctor()
    line = maintenance_line(output)
    assert " ok " in line and "trim_op_log: every 1h, last ok" in line, output
    assert code == 0

    ScheduledTask.objects.filter(name="trim_op_log").update(
        next_run_at=timezone.now() - timedelta(hours=3))
    output, code = doctor()
    assert "FAIL" in maintenance_line(output) and "trim_op_log: overdue by 3h" in output
    assert code == 1

    monkeypatch.setitem(registry._periodic, "trim_op_log",
                        PeriodicTask("trim_op_log", lambda: 1 / 0))
    maintenance.task_execute(maintenance.task_claim(name="trim_op_log", worker_id="w1"))
    output, code = doctor()
    assert "trim_op_log: last run failed: ZeroDivisionError: division by zero" in output
    assert code == 1


@pytest.mark.django_db
@pytest.mark.sqlite
def test_the_metrics_give_each_tasks_last_success_and_trouble(schedule, monkeypatch):
    from project import runtime

    run = maintenance.task_execute(maintenance.task_claim(name="trim_op_log", worker_id="w1"))
    runtime.current().timed.clear()
    samples = {(sample.name, sample.labels["task"]): sample.value
               for family in MaintenanceCollector().collect() for sample in family.samples}
    assert samples[("moa_maintenance_last_success_timestamp_seconds", "trim_op_log")] == \
        pytest.approx(run.started_at.timestamp())
    assert samples[("moa_maintenance_in_trouble", "trim_op_log")] == 0
    assert ("moa_maintenance_last_success_timestamp_seconds", "sweep_uploads") not in samples


@pytest.mark.django_db
@pytest.mark.sqlite
def test_the_admin_shows_the_schedule_to_staff_read_only(schedule, client, make_user):
    maintenance.task_execute(maintenance.task_claim(name="trim_op_log", worker_id="w1"))
    client.force_login(make_user("dora"))
    assert client.get("/admin/media_pipeline/scheduledtask/").status_code == 302  # not staff
    client.force_login(make_user("sam", is_staff=True, is_superuser=True))
    listing = client.get("/admin/media_pipeline/scheduledtask/")
    assert listing.status_code == 200
    assert b"trim_op_log" in listing.content and b"deleted 0 op(s) in 0 map(s)" in listing.content
    detail = client.get("/admin/media_pipeline/scheduledtask/trim_op_log/change/")
    assert detail.status_code == 200 and b"w1" in detail.content
    assert client.get("/admin/media_pipeline/scheduledtask/add/").status_code == 403
    assert client.post("/admin/media_pipeline/scheduledtask/trim_op_log/delete/",
                       {"post": "yes"}).status_code == 403
    assert client.get("/admin/media_pipeline/taskrun/?outcome=ok").status_code == 200
    assert ScheduledTask.objects.filter(name="trim_op_log").exists()


@pytest.mark.django_db
@pytest.mark.sqlite
def test_the_console_makes_a_task_due_for_a_worker_and_refuses_one_that_is_off(
        schedule, client, make_user):
    """"Run on a worker now": the next poll claims it (once, as ever); an off task is
    refused with the command that runs it, and nothing changes."""
    maintenance.task_execute(maintenance.task_claim(name="trim_op_log", worker_id="w1"))
    assert maintenance.task_claim(name="trim_op_log", worker_id="w2") is None  # not due
    client.force_login(make_user("sam", is_staff=True, is_superuser=True))
    off_before = ScheduledTask.objects.get(name="purge_deleted_users").next_run_at
    page = client.post("/admin/media_pipeline/scheduledtask/", {
        "action": "run_on_a_worker", "_selected_action": ["trim_op_log",
                                                          "purge_deleted_users"]},
        follow=True)
    shown = page.content.decode()
    assert "Run on a worker: 1 done." in shown
    assert "purge_deleted_users skipped: purge_deleted_users is off" in shown
    assert "maintenance --run purge_deleted_users" in shown
    assert ScheduledTask.objects.get(name="purge_deleted_users").next_run_at == off_before
    run = maintenance.task_claim(name="trim_op_log", worker_id="w2")
    assert run is not None and not run.manual
    assert maintenance.task_claim(name="trim_op_log", worker_id="w3") is None


@pytest.mark.django_db
@pytest.mark.sqlite
def test_the_schedule_list_reads_every_task_last_run_in_a_bounded_number_of_queries(
        schedule, client, make_user, django_assert_max_num_queries):
    for _ in range(3):
        due_now()
        maintenance.task_execute(maintenance.task_claim(name="trim_op_log", worker_id="w1"))
    client.force_login(make_user("sam", is_staff=True, is_superuser=True))
    with django_assert_max_num_queries(8):
        listing = client.get("/admin/media_pipeline/scheduledtask/")
    assert listing.content.decode().count("ok at ") == 1
