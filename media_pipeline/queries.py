"""Reads of the pipeline shared by REST, the jobs WebSocket, doctor and the workers."""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from media_pipeline import playback
from media_pipeline.errors import retry_refusal
from media_pipeline.models import Job, Video, WorkerHeartbeat
from media_pipeline.policy import KIND_CHANNELS

FINAL = ("DONE", "FAILED", "CANCELLED")


def _time(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def job_json(job: Job, alive: dict[str, int] | None = None) -> dict:
    """The protocol's job object. For lists, pass `alive` and annotate the jobs
    `with_position`, so a page of jobs costs no query per job."""
    position = getattr(job, "queue_position", None)
    if position is None:
        position = (Job.objects.filter(kind=job.kind, status="PENDING",
                                       created_at__lt=job.created_at).count()
                    if job.status == "PENDING" else 0)
    alive = alive if alive is not None else alive_by_channel()
    return {
        "id": str(job.id), "kind": job.kind, "status": job.status,
        "progress": job.progress, "stage": job.stage, "message": job.message,
        "error_code": job.error_code, "error_message": job.error_message,
        "result": job.result, "version": job.version, "attempts": job.attempts,
        "team": job.team_id, "cancel_requested": job.cancel_requested,
        "subject": job_subject(job),
        "retryable": job.status == "FAILED" and retry_refusal(job.error_code) is None,
        "created_at": _time(job.created_at), "started_at": _time(job.started_at),
        "finished_at": _time(job.finished_at),
        "queue": {"position": position if job.status == "PENDING" else 0,
                  "workers_alive": alive.get(KIND_CHANNELS.get(job.kind, ""), 0)},
    }


def job_subject(job: Job) -> str:
    """What the job works on, in a person's words: the member list's file name, the
    video's title ("" for a job enqueued before its payload carried it, or a kind
    without one)."""
    return str(job.payload.get("filename") or job.payload.get("title") or "")


_alive_cache: tuple[float, dict[str, int]] = (0.0, {})


def alive_by_channel() -> dict[str, int]:
    """Live workers per channel they listen on (one query, at most once a second)."""
    global _alive_cache
    checked, counts = _alive_cache
    if time.monotonic() - checked < settings.WORKER_COUNT_CACHE_SECONDS:
        return counts
    counts = count_alive()
    _alive_cache = (time.monotonic(), counts)
    return counts


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
    ahead = (Job.objects.filter(kind=OuterRef("kind"), status="PENDING",
                                created_at__lt=OuterRef("created_at"))
             .order_by().values("kind").annotate(n=Count("pk")).values("n"))
    return jobs.annotate(queue_position=Coalesce(Subquery(ahead), 0))


def visible_jobs(user_id: int):
    """Jobs a user may see: their own, and those of teams they own."""
    return Job.objects.filter(
        Q(owner_id=user_id)
        | Q(team__memberships__user_id=user_id, team__memberships__role="owner")
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

    return set(Membership.objects.filter(user_id=user_id, role="owner")
               .values_list("team_id", flat=True))


def backlog() -> dict:
    """Pending and running jobs per kind, and live workers per channel (autoscaling)."""
    counts = {kind: {"pending": 0, "running": 0} for kind in KIND_CHANNELS}
    rows = (Job.objects.filter(status__in=("PENDING", "RUNNING")).values("kind", "status")
            .annotate(n=Count("pk")))
    for row in rows:
        counts.setdefault(row["kind"], {"pending": 0, "running": 0})[row["status"].lower()] = \
            row["n"]
    alive = count_alive()  # operators and autoscalers get the uncached count
    return {**counts, "workers_alive": {channel: alive.get(channel, 0)
                                        for channel in sorted(set(KIND_CHANNELS.values()))}}


def visible_videos(user_id: int):
    """Videos a user may see: their own, and those of their teams."""
    return Video.objects.filter(
        Q(owner_id=user_id)
        | Q(team__memberships__user_id=user_id, team__is_deleted=False)).distinct()


def video_status(video: Video) -> str:
    """FAILED is the state of the video's job, not a column: a retry revives it."""
    if (video.status != Video.Status.READY and video.job is not None
            and video.job.status in ("FAILED", "CANCELLED")):
        return "FAILED"
    return video.status


def video_json(video: Video) -> dict:
    """The protocol's video object (select_related("job") to spare a query). URLs are
    paths; the API makes them absolute. `hls_url` appears with the first rendition,
    before the whole ladder is done."""
    base = playback.hls_base(video.id) if video.renditions or video.has_thumbnail else ""
    return {
        "id": str(video.id), "title": video.title, "filename": video.filename,
        "owner": video.owner_id,
        "size": video.size, "content_type": video.content_type, "team": video.team_id,
        "status": video_status(video), "duration": video.duration,
        "width": video.width, "height": video.height, "renditions": video.renditions,
        "hls_url": f"{base}master.m3u8" if video.renditions else None,
        "thumbnail_url": f"{base}thumbnail.jpg" if video.has_thumbnail else None,
        "job": job_json(video.job) if video.job is not None else None,
        "created_at": _time(video.created_at), "ready_at": _time(video.ready_at),
        "original_deleted": video.original_deleted_at is not None,
    }
