"""The job kinds Moa runs, each declared once, and the upkeep their workers do.

A kind is one `JobKind`: its name, the channel that wakes its workers, its handler and
its retry allowance. The engine never names a kind: the claim, the wake-up, the worker,
the backlog, `runworker` and `doctor` read them all from here. The domains declare
their own (videos/kinds.py, members/kinds.py, the engine's in jobs/kinds.py) and the
app registers them once, when Django starts (media_pipeline/apps.py), so the engine
depends on no domain and no domain on another.

Upkeep comes in two shapes: a `Chore` every worker of a channel runs (publishing its
own figures), and a `PeriodicTask`, maintenance one worker of the fleet runs once per
period (jobs/maintenance.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from media_pipeline.jobs.models import Job
    from media_pipeline.jobs.progress import JobContext


@dataclass(frozen=True)
class JobKind:
    """A handler takes a JobContext, reports progress through it, returns the job's
    result, and raises JobFailed with a stable code (errors.py). It must be idempotent:
    a job whose worker died runs again."""

    name: str
    channel: str
    handler: Callable[[JobContext], dict | None]
    # Attempts before a transient failure is final; None: JOB_MAX_ATTEMPTS.
    max_attempts: int | None = None
    # The folder of storage keys its jobs read and its domain writes ("videos/"):
    # `doctor` probes each one, since a bucket policy may deny one and not another.
    key_prefix: str = ""
    # Runs a finished job of this kind again from its inputs, as a new job (the ops
    # console's reprocess, jobs/actions.job_reprocess); None: its inputs are not kept
    # once it ends, so only a new upload can run it again.
    reprocess: Callable[..., Job] | None = None
    # Why a FAILED job of this kind may not be retried now, or None (jobs/actions.job_retry,
    # under the job's row lock): a video encode a newer encode replaced, an import into a
    # deleted team. None: the engine's own rules only.
    retry_refusal: Callable[..., str | None] | None = None


@dataclass(frozen=True)
class Chore:
    """Upkeep every worker of `channel` runs at start, then about every `every_seconds`
    (jittered, in a thread of its own). Idempotent, so several workers may run it."""

    name: str
    channel: str
    run: Callable[[], object]
    every_seconds: float


@dataclass(frozen=True)
class PeriodicTask:
    """Maintenance ONE worker of the fleet runs once per period (jobs/maintenance.py:
    the schedule row's claim), unlike a chore. `run` does it and returns a one-line
    summary ("deleted 12 op(s) in 3 map(s)"); it raises when it failed. Its period is
    MAINTENANCE_<NAME>_EVERY, and `manage.py <name>` is its manual twin."""

    name: str
    run: Callable[[], str]


_kinds: dict[str, JobKind] = {}
_chores: list[Chore] = []
_periodic: dict[str, PeriodicTask] = {}


def register(*kinds: JobKind, chores: tuple[Chore, ...] = (),
             periodic: tuple[PeriodicTask, ...] = ()) -> None:
    """Declare kinds (chores, periodic tasks) at start-up; a name declared twice is a
    mistake, and so is a periodic task without its period in the configuration."""
    for kind in kinds:
        if kind.name in _kinds:
            raise ValueError(f"job kind {kind.name!r} is declared twice")
        _kinds[kind.name] = kind
    _chores.extend(chores)
    for task in periodic:
        if task.name in _periodic:
            raise ValueError(f"periodic task {task.name!r} is declared twice")
        if task.name not in settings.MAINTENANCE_EVERY:
            raise ValueError(f"periodic task {task.name!r} has no period: declare "
                             f"MAINTENANCE_{task.name.upper()}_EVERY in project/config_vars.py")
        _periodic[task.name] = task


def periodic_tasks() -> list[PeriodicTask]:
    """Every periodic task, in the order declared."""
    return list(_periodic.values())


def periodic_task(name: str) -> PeriodicTask:
    try:
        return _periodic[name]
    except KeyError:
        raise ValueError(f"unknown maintenance task {name!r}; known: "
                         f"{', '.join(_periodic)}") from None


def kind(name: str) -> JobKind:
    try:
        return _kinds[name]
    except KeyError:
        raise ValueError(f"unknown job kind {name!r}") from None


def names() -> list[str]:
    """Every kind, in the order declared."""
    return list(_kinds)


def channel_of(name: str) -> str:
    """The channel of kind `name`, "" for a kind no longer declared."""
    found = _kinds.get(name)
    return found.channel if found is not None else ""


def key_prefixes() -> list[str]:
    """Every folder of keys the declared kinds use, sorted: what `doctor` probes."""
    return sorted({declared.key_prefix for declared in _kinds.values() if declared.key_prefix})


def all_channels() -> list[str]:
    """Every channel some kind is woken on, sorted: what `runworker` accepts."""
    return sorted({declared.channel for declared in _kinds.values()})


def kinds_of(channels: list[str]) -> list[str]:
    """The kinds a worker listening on `channels` runs."""
    return [name for name, declared in _kinds.items() if declared.channel in channels]


def chores_of(channels: list[str]) -> list[Chore]:
    return [chore for chore in _chores if chore.channel in channels]
