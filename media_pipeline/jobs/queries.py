"""Reads of the job engine shared by REST, the jobs WebSocket, doctor and the workers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Min, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from media_pipeline.jobs import registry
from media_pipeline.jobs.models import Job, ScheduledTask, TaskRun, WorkerHeartbeat
from media_pipeline.jobs.schedule_rules import TaskState
from media_pipeline.jobs.states import ACTIVE, FINAL, JobStatus
from project import runtime
from project.db_waits import bound_waits


def alive_by_channel() -> dict[str, int]:
    """Live workers per channel they listen on (one query, at most once a second per
    process: the runtime's timed cache, project/runtime.py)."""
    cache = runtime.current().timed_value("workers_alive", count_alive)
    return cache.get(settings.WORKER_COUNT_CACHE_SECONDS)


def count_alive() -> dict[str, int]:
    since = timezone.now() - timedelta(seconds=settings.WORKER_ALIVE_SECONDS)
    counts: dict[str, int] = {}
    for channels in WorkerHeartbeat.objects.filter(last_seen__gte=since).values_list(
            "channels", flat=True):
        for channel in channels:
            counts[channel] = counts.get(channel, 0) + 1
    return counts


def with_position(jobs):
    """Annotate each job with the number of PENDING jobs of its kind ahead of it."""
    ahead = (Job.objects.filter(kind=OuterRef("kind"), status=JobStatus.PENDING,
                                created_at__lt=OuterRef("created_at"))
             .order_by().values("kind").annotate(n=Count("pk")).values("n"))
    return jobs.annotate(queue_position=Coalesce(Subquery(ahead), 0))


def visible_jobs(user_id: int):
    """Jobs a user may see: their own (whatever became of their team), and those of
    teams they own that are not deleted (as videos/queries.visible_videos)."""
    return Job.objects.filter(
        Q(owner_id=user_id)
        | Q(team__memberships__user_id=user_id, team__memberships__role="owner",
            team__is_deleted=False)
    ).distinct()


def live_jobs_of(user_id: int, teams: set[int] | None = None) -> list[Job]:
    """Not final, or ended within the hour, newest first, with their queue position:
    what the jobs socket sends on connect (one query). With `teams`, only those
    teams' jobs (teams the user has just become an owner of)."""
    recent = timezone.now() - timedelta(hours=1)
    jobs = visible_jobs(user_id) if teams is None else Job.objects.filter(team_id__in=teams)
    live = jobs.filter(~Q(status__in=FINAL) | Q(finished_at__gte=recent))
    return list(with_position(live).order_by("-created_at")[:200])


def owned_team_ids(user_id: int) -> set[int]:
    from collab.models import Membership

    return set(Membership.objects.filter(user_id=user_id, role="owner",
                                         team__is_deleted=False)
               .values_list("team_id", flat=True))


def backlog() -> dict:
    """Pending and running jobs per kind, and live workers per channel (autoscaling)."""
    counts = {kind: {"pending": 0, "running": 0} for kind in registry.names()}
    rows = (Job.objects.filter(status__in=ACTIVE).values("kind", "status")
            .annotate(n=Count("pk")))
    for row in rows:
        counts.setdefault(row["kind"], {"pending": 0, "running": 0})[row["status"].lower()] = \
            row["n"]
    alive = count_alive()  # operators and autoscalers get the uncached count
    return {**counts, "workers_alive": {channel: alive.get(channel, 0)
                                        for channel in registry.all_channels()}}


@dataclass(frozen=True)
class KindBacklog:
    pending: int = 0
    running: int = 0
    oldest_pending_seconds: float = 0.0


@dataclass(frozen=True)
class Backlog:
    kinds: dict[str, KindBacklog] = field(default_factory=dict)
    alive: dict[str, int] = field(default_factory=dict)


def backlog_gauges() -> Backlog:
    """The metrics' backlog (media_pipeline/jobs/metrics.py), in two queries: jobs
    pending and running per kind with the oldest due pending job's wait, and live
    workers per channel. A PENDING job waits since it became runnable (`runnable_since`).
    Bounded: a locked or stalled table fails the read in about 2 s (the scrape then
    leaves these families out) instead of holding the whole scrape past its timeout."""
    with transaction.atomic():
        bound_waits(lock_seconds=1, statement_seconds=2)
        return _backlog_gauges()


def _backlog_gauges() -> Backlog:
    now = timezone.now()
    due = Q(status=JobStatus.PENDING) & (Q(run_after__isnull=True) | Q(run_after__lte=now))
    rows = (Job.objects.filter(status__in=ACTIVE).order_by().values("kind")
            .annotate(pending=Count("pk", filter=Q(status=JobStatus.PENDING)),
                      running=Count("pk", filter=Q(status=JobStatus.RUNNING)),
                      since=Min(Coalesce("run_after", "created_at"), filter=due)))
    kinds = {row["kind"]: KindBacklog(
        row["pending"], row["running"],
        max(0.0, (now - row["since"]).total_seconds()) if row["since"] else 0.0)
        for row in rows}
    return Backlog(kinds, count_alive())


def maintenance_states() -> list[TaskState]:
    """Each scheduled maintenance task's period, next run, last run and last success
    (doctor, the metrics), in one query. A run still `running` whose lease has ended
    reads as `abandoned`: its worker is gone, though no claim has said so yet."""
    now = timezone.now()
    runs = TaskRun.objects.filter(task=OuterRef("pk")).order_by("-started_at")
    latest = {name: Subquery(runs.values(name)[:1])
              for name in ("outcome", "started_at", "error", "summary")}
    success = Subquery(runs.filter(outcome=TaskRun.Outcome.OK).values("started_at")[:1])
    rows = (ScheduledTask.objects.annotate(**{f"last_{name}": query
                                              for name, query in latest.items()},
                                           last_success_at=success).order_by("name"))
    states = []
    for row in rows:
        outcome, error = row.last_outcome, row.last_error or ""
        lease_over = row.lease_expires_at is None or row.lease_expires_at < now
        if outcome == TaskRun.Outcome.RUNNING and lease_over:
            outcome, error = TaskRun.Outcome.ABANDONED, "its worker stopped mid-run"
        states.append(TaskState(
            name=row.name, every_seconds=row.every_seconds, next_run_at=row.next_run_at,
            last_outcome=outcome, last_started_at=row.last_started_at,
            last_error=error, last_summary=row.last_summary or "",
            last_success_at=row.last_success_at))
    return states
