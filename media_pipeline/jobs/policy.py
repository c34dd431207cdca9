"""The pure rules of the job pipeline: which transitions are legal, when to retry."""

from __future__ import annotations

import random

from media_pipeline.jobs.states import JobStatus

TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    # FAILED: a wake-up can never run it
    JobStatus.PENDING: frozenset({JobStatus.RUNNING, JobStatus.CANCELLED, JobStatus.FAILED}),
    # PENDING: retried, or released by a stopping worker
    JobStatus.RUNNING: frozenset({JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED,
                                  JobStatus.PENDING}),
    JobStatus.FAILED: frozenset({JobStatus.PENDING}),  # a person retries it
    JobStatus.DONE: frozenset(),
    JobStatus.CANCELLED: frozenset(),
}

BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 300.0


class IllegalTransition(Exception):
    """A job state change the state machine does not allow (never a silent no-op)."""


class RetryRefused(IllegalTransition):
    """A retry a person may not make; the message says why and what will help."""


def check_transition(current: str, target: str) -> None:
    if target not in TRANSITIONS.get(current, frozenset()):
        raise IllegalTransition(f"a {current} job cannot become {target}")


def retry_status_refusal(status: str) -> str | None:
    """Why a job in `status` may not be retried, or None for a FAILED one. Only a FAILED
    job is retried by a person: RUNNING -> PENDING is a stopping worker's release, and a
    "retry" of a RUNNING job would let a second worker run it beside the first."""
    if status == JobStatus.FAILED:
        return None
    return f"This job is {status}: only a FAILED job can be retried."


def retry_delay(attempt: int, rng: random.Random | None = None) -> float:
    """Seconds before attempt `attempt + 1`: exponential with full jitter, capped.

    Full jitter spreads the retries of jobs that failed together (a storage outage)
    so they do not all return at the same instant.
    """
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempt - 1))
    return (rng or random).uniform(ceiling / 2, ceiling)


def should_retry(*, permanent: bool, attempt: int, max_attempts: int) -> bool:
    return not permanent and attempt < max_attempts
