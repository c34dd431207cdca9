"""The maintenance schedule's rules, as plain functions (jobs/maintenance.py applies them).

- A task due at `due_at` and claimed at `now` is next due one period after `due_at`,
  so a daily task keeps its time of day; a schedule that fell behind (no worker ran for
  a while) starts again from `now` instead of catching up with a burst of runs.
- A task is in trouble (doctor's `maintenance` check fails) when its last run failed or
  was abandoned, or when it is overdue by more than two periods: then no worker runs it
  (none alive, or none started with it on). One late period is normal: a worker polls
  every few seconds, and a long run of another task delays the next.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

OVERDUE_PERIODS = 2


def next_run(due_at: datetime, now: datetime, every_seconds: int) -> datetime:
    period = timedelta(seconds=every_seconds)
    following = due_at + period
    return following if following > now else now + period


@dataclass(frozen=True)
class TaskState:
    """What doctor and the metrics read of one task."""

    name: str
    every_seconds: int | None  # None: off
    next_run_at: datetime
    last_outcome: str | None  # None: never ran
    last_started_at: datetime | None
    last_error: str
    last_summary: str
    last_success_at: datetime | None


def trouble(state: TaskState, now: datetime) -> str | None:
    """Why `state` needs a person, or None."""
    if state.last_outcome in ("failed", "abandoned"):
        return f"last run {state.last_outcome}: {state.last_error or 'no error recorded'}"
    if state.every_seconds is None:
        return None
    late = now - state.next_run_at
    if late > timedelta(seconds=OVERDUE_PERIODS * state.every_seconds):
        return (f"overdue by {_duration(late)} (due every {_duration(state.every_seconds)}): "
                f"is a worker running?")
    return None


def _duration(value: timedelta | int) -> str:
    seconds = int(value.total_seconds() if isinstance(value, timedelta) else value)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if (seconds >= size and seconds % size == 0) or seconds >= 10 * size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def describe(state: TaskState, now: datetime) -> str:
    """One line: the period, the last run and how it ended, when it is next due."""
    every = state.every_seconds
    period = "off" if every is None else f"every {_duration(every)}"
    if state.last_outcome is None:
        last = "never ran"
    else:
        ago = _duration(max(timedelta(0), now - state.last_started_at))
        last = f"last {state.last_outcome} {ago} ago"
        if state.last_summary:
            last += f" ({state.last_summary})"
    return f"{state.name}: {period}, {last}"
