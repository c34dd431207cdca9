"""The periodic tasks of the layers below the pipeline, which cannot declare them
with the engine themselves (collab and accounts import nothing above them): the
op-log trim and the two account purges. Each runs what its management command runs,
with the command's flags from the configuration, and returns the line it reports."""

from __future__ import annotations

from django.conf import settings

from collab.history_actions import ops_trim
from media_pipeline.jobs.registry import PeriodicTask
from project.accounts.maintenance import users_purge_deleted, users_purge_unverified


def trim_op_log() -> str:
    trimmed = ops_trim(keep_seconds=settings.COLLAB_KEEP_OPS_SECONDS,
                       keep_count=settings.COLLAB_KEEP_OPS_COUNT)
    return f"deleted {sum(trimmed.values()):,} op(s) in {len(trimmed)} map(s)"


def purge_unverified_users() -> str:
    days = settings.MAINTENANCE_PURGE_UNVERIFIED_USERS_DAYS
    purged = users_purge_unverified(days=days, dry_run=False)
    return f"deleted {len(purged)} unverified account(s) older than {days} days"


def purge_deleted_users() -> str:
    """PurgeIncomplete (an account kept: storage refused its files) fails the run."""
    days = settings.MAINTENANCE_PURGE_DELETED_USERS_DAYS
    purged = users_purge_deleted(days=days, dry_run=False)
    return f"purged {len(purged)} account(s) deleted over {days} days ago"


TASKS = (PeriodicTask("trim_op_log", run=trim_op_log),
         PeriodicTask("purge_unverified_users", run=purge_unverified_users),
         PeriodicTask("purge_deleted_users", run=purge_deleted_users))
