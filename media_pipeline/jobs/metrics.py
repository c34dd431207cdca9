"""The job engine's metrics (project/metrics.py declares them; docs/observability.md says
what each means).

Events (a claim, an attempt's end, a retry, a lease found expired, a fenced write) are
counted where they happen, in jobs/actions.py and jobs/worker.py. The backlog (jobs
pending and running, the oldest pending job's wait, live workers) is a state of the
database, not an event: `BacklogCollector` reads it when Prometheus scrapes, at most
once per METRICS_QUERY_CACHE_SECONDS per process, never once per job. Every role
serves it, the web role included, so a channel whose workers are all dead still
reports its pending jobs (and zero live workers).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from media_pipeline.jobs import queries, registry, schedule_rules
from project import metrics, runtime

logger = logging.getLogger(__name__)

JOB_DURATION = metrics.histogram(
    "moa_job_duration_seconds", "One attempt's run time, from its claim to its end, by kind "
    "and outcome (done, failed, retry, cancelled, released, fenced, error)",
    ("kind", "outcome"), buckets=metrics.JOB_BUCKETS)
CLAIM_LATENCY = metrics.histogram(
    "moa_job_claim_latency_seconds", "From a job becoming runnable (its creation, or its "
    "retry falling due) to a worker claiming it, by kind", ("kind",),
    buckets=metrics.WAIT_BUCKETS)
RETRIES = metrics.counter(
    "moa_job_retries_total", "Attempts that failed transiently and were scheduled again, "
    "by kind and error code", ("kind", "code"))
FAILURES = metrics.counter(
    "moa_job_failures_total", "Jobs that failed for good, by kind and error code",
    ("kind", "code"))
LEASE_EXPIRIES = metrics.counter(
    "moa_job_lease_expiries_total", "Running jobs found with an expired lease: their "
    "worker stopped renewing it (died, hung, or lost the database)", ("kind",))
TAKEOVERS = metrics.counter(
    "moa_job_takeovers_total", "Jobs with an expired lease claimed again by another "
    "attempt", ("kind",))
MAINTENANCE_RUNS = metrics.counter(
    "moa_maintenance_runs_total", "Runs of a maintenance task this process started (or "
    "found abandoned), by task and outcome (ok, failed, abandoned)", ("task", "outcome"))
FENCED_WRITES = metrics.counter(
    "moa_job_fenced_writes_total", "Writes of a worker refused because its attempt no "
    "longer holds the job (a worker presumed dead that woke up)")


class BacklogCollector(Collector):
    """moa_jobs_pending, moa_jobs_running, moa_job_oldest_pending_seconds (by kind and
    the channel that wakes its workers) and moa_workers_alive (by channel), read from
    the database at scrape time through a short cache. When the database cannot be
    read the families are left out of the scrape (logged): a missing series, not a
    false zero."""

    def describe(self):
        return list(self._families())

    def collect(self):
        cache = runtime.current().timed_value("metrics.backlog", queries.backlog_gauges)
        try:
            backlog = cache.get(settings.METRICS_QUERY_CACHE_SECONDS)
        except DatabaseError:
            logger.exception("metrics: the job backlog could not be read")
            return
        pending, running, oldest, alive = self._families()
        for kind in registry.names():
            channel = registry.channel_of(kind)
            figures = backlog.kinds.get(kind, queries.KindBacklog())
            pending.add_metric([kind, channel], figures.pending)
            running.add_metric([kind, channel], figures.running)
            oldest.add_metric([kind, channel], figures.oldest_pending_seconds)
        for channel in registry.all_channels():
            alive.add_metric([channel], backlog.alive.get(channel, 0))
        yield from (pending, running, oldest, alive)

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, ...]:
        by_kind = ["kind", "channel"]
        return (
            GaugeMetricFamily("moa_jobs_pending", "Jobs waiting for a worker (PENDING, "
                              "due now or waiting for a retry's backoff)", labels=by_kind),
            GaugeMetricFamily("moa_jobs_running", "Jobs a worker holds (RUNNING)",
                              labels=by_kind),
            GaugeMetricFamily("moa_job_oldest_pending_seconds", "How long the longest-"
                              "waiting due PENDING job has waited (0: none waits)",
                              labels=by_kind),
            GaugeMetricFamily("moa_workers_alive", "Workers whose heartbeat is recent, "
                              "by channel they listen on", labels=["channel"]),
        )


class MaintenanceCollector(Collector):
    """moa_maintenance_last_success_timestamp_seconds and moa_maintenance_in_trouble (by
    task), read from the schedule at scrape time through a short cache: the fleet's
    truth, whichever worker ran the task. A task that never succeeded has no timestamp
    series (an alert on its absence is the operator's choice)."""

    def describe(self):
        return list(self._families())

    def collect(self):
        cache = runtime.current().timed_value("metrics.maintenance",
                                              queries.maintenance_states)
        try:
            states = cache.get(settings.METRICS_QUERY_CACHE_SECONDS)
        except DatabaseError:
            logger.exception("metrics: the maintenance schedule could not be read")
            return
        success, trouble = self._families()
        now = timezone.now()
        for state in states:
            if state.last_success_at is not None:
                success.add_metric([state.name], state.last_success_at.timestamp())
            trouble.add_metric([state.name],
                               int(schedule_rules.trouble(state, now) is not None))
        yield from (success, trouble)

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, ...]:
        return (
            GaugeMetricFamily("moa_maintenance_last_success_timestamp_seconds", "When the "
                              "latest successful run of a maintenance task started (Unix "
                              "time)", labels=["task"]),
            GaugeMetricFamily("moa_maintenance_in_trouble", "1 when a maintenance task's "
                              "last run failed or was abandoned, or it is overdue by more "
                              "than two periods (doctor's maintenance check)",
                              labels=["task"]),
        )
