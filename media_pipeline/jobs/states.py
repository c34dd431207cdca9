"""A job's status: the one spelling the model, the rules, the queries and the wire use.

A plain string enum with no Django in it, so the pure rules (policy.py) use it too; its
values are what the database stores and what clients read, so they never change.
"""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """The model field's choices, labelled as Django's TextChoices label them."""
        return [(status.value, status.name.title()) for status in cls]


# Not final: a worker may still run it (what a deletion cancels, what counts as queued).
ACTIVE = frozenset({JobStatus.PENDING, JobStatus.RUNNING})
FINAL = frozenset({JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED})
