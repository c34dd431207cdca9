"""The pure rules of the job pipeline: which transitions are legal, when to retry."""

from __future__ import annotations

import random

PENDING, RUNNING, DONE, FAILED, CANCELLED = "PENDING", "RUNNING", "DONE", "FAILED", "CANCELLED"
FINAL = frozenset({DONE, FAILED, CANCELLED})

TRANSITIONS: dict[str, frozenset[str]] = {
    PENDING: frozenset({RUNNING, CANCELLED, FAILED}),  # FAILED: a wake-up can never run it
    RUNNING: frozenset({DONE, FAILED, CANCELLED, PENDING}),  # PENDING: retry or release
    FAILED: frozenset({PENDING}),  # a person retries it
    DONE: frozenset(),
    CANCELLED: frozenset(),
}

# Which channel wakes the workers of a kind. Video encodes are heavy and scale on their
# own; the light kinds share jobs.excel.
KIND_CHANNELS = {
    "video.encode": "jobs.video",
    "excel.import": "jobs.excel",
    "storage.checksum": "jobs.excel",
    "noop": "jobs.excel",
}

BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 300.0


class IllegalTransition(Exception):
    """A job state change the state machine does not allow (never a silent no-op)."""


class RetryRefused(IllegalTransition):
    """A FAILED job that running again cannot help; the message says what will."""


def check_transition(current: str, target: str) -> None:
    if target not in TRANSITIONS.get(current, frozenset()):
        raise IllegalTransition(f"a {current} job cannot become {target}")


def kinds_of(channels: list[str]) -> list[str]:
    return [kind for kind, channel in KIND_CHANNELS.items() if channel in channels]


def retry_delay(attempt: int, rng: random.Random | None = None) -> float:
    """Seconds before attempt `attempt + 1`: exponential with full jitter, capped.

    Full jitter spreads the retries of jobs that failed together (a storage outage)
    so they do not all return at the same instant.
    """
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempt - 1))
    return (rng or random).uniform(ceiling / 2, ceiling)


def should_retry(*, permanent: bool, attempt: int, max_attempts: int) -> bool:
    return not permanent and attempt < max_attempts
