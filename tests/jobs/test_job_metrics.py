"""The job engine's metrics in-process: the backlog read at scrape time through a cache,
an attempt's outcome and claim latency, and the request id carried into the job's
log lines (media_pipeline/jobs/metrics.py, actions.py, worker.py)."""

import logging
import time
from datetime import timedelta

import prometheus_client
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from media_pipeline.jobs import actions as jobs
from media_pipeline.jobs.metrics import BacklogCollector
from media_pipeline.jobs.progress import JobContext
from media_pipeline.jobs.worker import execute
from media_pipeline.models import Job, WorkerHeartbeat
from project import runtime
from project.logcontext import ContextFilter, request_id_var

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]
CHANNELS = ["jobs.video", "jobs.excel"]


def gauges() -> dict:
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in BacklogCollector().collect() for sample in family.samples}


def sample(name: str, **labels) -> float:
    return prometheus_client.REGISTRY.get_sample_value(name, labels) or 0


def test_the_backlog_counts_pending_and_running_and_the_oldest_due_wait(alice):
    waiting = jobs.job_enqueue(kind="noop", owner=alice, payload={})
    Job.objects.filter(pk=waiting.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    backing_off = jobs.job_enqueue(kind="noop", owner=alice, payload={})
    Job.objects.filter(pk=backing_off.pk).update(  # created long ago, not due yet
        created_at=timezone.now() - timedelta(hours=1),
        run_after=timezone.now() + timedelta(minutes=1))
    jobs.job_enqueue(kind="excel.import", owner=alice, payload={})
    jobs.job_claim(channels=["jobs.excel"], worker_id="w1")  # the oldest due: `waiting`
    WorkerHeartbeat.objects.create(worker_id="w1", channels=["jobs.excel"],
                                   last_seen=timezone.now())
    found = gauges()
    noop = (("channel", "jobs.excel"), ("kind", "noop"))
    assert found[("moa_jobs_pending", noop)] == 1
    assert found[("moa_jobs_running", noop)] == 1
    assert found[("moa_job_oldest_pending_seconds", noop)] == 0  # the one left is not due
    imports = (("channel", "jobs.excel"), ("kind", "excel.import"))
    assert found[("moa_jobs_pending", imports)] == 1
    assert 0 <= found[("moa_job_oldest_pending_seconds", imports)] < 60
    videos = (("channel", "jobs.video"), ("kind", "video.encode"))
    assert found[("moa_jobs_pending", videos)] == 0
    assert found[("moa_workers_alive", (("channel", "jobs.excel"),))] == 1
    assert found[("moa_workers_alive", (("channel", "jobs.video"),))] == 0


def test_the_backlog_is_read_at_most_once_per_cache_window(alice, settings,
                                                            django_assert_num_queries):
    settings.METRICS_QUERY_CACHE_SECONDS = 60
    runtime.current().timed.clear()
    with CaptureQueriesContext(connection) as read:
        gauges()
    # Jobs by kind and status, live workers (the transaction and its bounded waits aside).
    assert len([query for query in read if " FROM " in query["sql"].upper()]) == 2
    jobs.job_enqueue(kind="noop", owner=alice, payload={})
    with django_assert_num_queries(0):
        assert gauges()[("moa_jobs_pending", (("channel", "jobs.excel"), ("kind", "noop")))] == 0


def test_each_attempt_is_timed_by_outcome_and_failures_counted_by_code(alice):
    done = sample("moa_job_duration_seconds_count", kind="noop", outcome="done")
    failed = sample("moa_job_duration_seconds_count", kind="noop", outcome="failed")
    codes = sample("moa_job_failures_total", kind="noop", code="INPUT_INVALID")
    claims = sample("moa_job_claim_latency_seconds_count", kind="noop")
    for payload in ({}, {"steps": "many"}):
        jobs.job_enqueue(kind="noop", owner=alice, payload=payload)
        execute(JobContext(jobs.job_claim(channels=CHANNELS, worker_id="w1")))
    assert sample("moa_job_duration_seconds_count", kind="noop", outcome="done") == done + 1
    assert sample("moa_job_duration_seconds_count", kind="noop", outcome="failed") == failed + 1
    assert sample("moa_job_failures_total", kind="noop", code="INPUT_INVALID") == codes + 1
    assert sample("moa_job_claim_latency_seconds_count", kind="noop") == claims + 2


def test_a_retried_job_waits_from_its_retry_not_from_its_creation(alice):
    job = jobs.job_enqueue(kind="noop", owner=alice, payload={})
    claimed = jobs.job_claim(channels=CHANNELS, worker_id="w1")
    jobs.job_fail(job_id=job.pk, attempt=claimed.attempts, code="ENCODER_UNAVAILABLE",
                  message="fixed by an operator since")
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(days=1))
    retried = jobs.job_retry(job_id=job.pk)
    assert jobs.runnable_since(retried) > timezone.now() - timedelta(minutes=1)
    before = sample("moa_job_claim_latency_seconds_sum", kind="noop")
    jobs.job_claim(channels=CHANNELS, worker_id="w1")
    assert sample("moa_job_claim_latency_seconds_sum", kind="noop") - before < 60


def test_a_lost_lease_is_counted_as_an_expiry_then_a_takeover(alice):
    expiries = sample("moa_job_lease_expiries_total", kind="noop")
    takeovers = sample("moa_job_takeovers_total", kind="noop")
    fenced = sample("moa_job_fenced_writes_total")
    job = jobs.job_enqueue(kind="noop", owner=alice, payload={})
    first = jobs.job_claim(channels=CHANNELS, worker_id="w1")
    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    jobs.job_claim(channels=CHANNELS, worker_id="w2")
    assert not jobs.job_renew_lease(job_id=job.pk, attempt=first.attempts)  # the zombie
    assert sample("moa_job_lease_expiries_total", kind="noop") == expiries + 1
    assert sample("moa_job_takeovers_total", kind="noop") == takeovers + 1
    assert sample("moa_job_fenced_writes_total") == fenced + 1


def test_the_enqueuing_request_id_follows_the_job_into_the_workers_log(alice, caplog):
    token = request_id_var.set("req-0123456789")
    try:
        job = jobs.job_enqueue(kind="noop", owner=alice, payload={"steps": 1})
    finally:
        request_id_var.reset(token)
    assert job.payload["request_id"] == "req-0123456789"
    caplog.handler.addFilter(ContextFilter())
    with caplog.at_level(logging.INFO, logger="media_pipeline.jobs.worker"):
        execute(JobContext(jobs.job_claim(channels=CHANNELS, worker_id="w1")))
    (line,) = [record for record in caplog.records if record.getMessage().endswith("done")]
    assert (line.request_id, line.job_id) == ("req-0123456789", str(job.pk))
    assert request_id_var.get() == ""  # the worker's own context is left as it was


@pytest.mark.django_db(transaction=True)
def test_a_locked_job_table_leaves_the_backlog_out_of_the_scrape_within_seconds(caplog):
    """A stalled database must not hold the whole scrape (every other metric with it)
    past Prometheus' timeout: the backlog's read gives up, its families are left out."""
    if connection.vendor != "postgresql":
        pytest.skip("lock and statement timeouts are PostgreSQL's")
    import psycopg

    params = connection.get_connection_params()
    with psycopg.connect(**{key: value for key, value in params.items()
                            if key in ("dbname", "user", "host", "port", "password")}) as other:
        other.execute("LOCK TABLE media_pipeline_job IN ACCESS EXCLUSIVE MODE")
        runtime.current().timed.clear()
        started = time.monotonic()
        families = list(BacklogCollector().collect())
        waited = time.monotonic() - started
    assert families == [] and waited < 4, waited
    assert "could not be read" in caplog.text
