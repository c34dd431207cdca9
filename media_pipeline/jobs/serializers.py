"""The protocol's job object (docs/jobs.md), for REST, the jobs socket and events.

A serializer that may query: a job's queue position and its kind's live workers are
read when the caller has not brought them (a list annotates `with_position` and passes
`alive`, so a page of jobs costs no query per job).
"""

from __future__ import annotations

from media_pipeline.jobs import registry
from media_pipeline.jobs.errors import retry_refusal
from media_pipeline.jobs.models import Job
from media_pipeline.jobs.policy import retry_status_refusal
from media_pipeline.jobs.queries import alive_by_channel
from media_pipeline.jobs.states import JobStatus


def wire_time(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def job_json(job: Job, alive: dict[str, int] | None = None,
             retryable: bool | None = None) -> dict:
    """The protocol's job object. For lists, pass `alive` and annotate the jobs
    `with_position` (queries.py), so a page of jobs costs no query per job.
    `retryable`, when not given, is the rule that reads no other row (the job's
    status and error code); one job's detail passes the whole check
    (actions.job_retryable), its kind's refusal included."""
    if retryable is None:
        retryable = not (retry_status_refusal(job.status) or retry_refusal(job.error_code))
    position = getattr(job, "queue_position", None)
    if position is None:
        position = (Job.objects.filter(kind=job.kind, status=JobStatus.PENDING,
                                       created_at__lt=job.created_at).count()
                    if job.status == JobStatus.PENDING else 0)
    alive = alive if alive is not None else alive_by_channel()
    return {
        "id": str(job.id), "kind": job.kind, "status": job.status,
        "progress": job.progress, "stage": job.stage, "message": job.message,
        "error_code": job.error_code, "error_message": job.error_message,
        "result": job.result, "version": job.version, "attempts": job.attempts,
        "team": job.team_id, "cancel_requested": job.cancel_requested,
        "subject": job_subject(job),
        "retryable": retryable,
        "created_at": wire_time(job.created_at), "started_at": wire_time(job.started_at),
        "finished_at": wire_time(job.finished_at),
        "queue": {"position": position if job.status == JobStatus.PENDING else 0,
                  "workers_alive": alive.get(registry.channel_of(job.kind), 0)},
    }


def job_subject(job: Job) -> str:
    """What the job works on, in a person's words: the member list's file name, the
    video's title ("" for a job enqueued before its payload carried it, or a kind
    without one)."""
    return str(job.payload.get("filename") or job.payload.get("title") or "")
