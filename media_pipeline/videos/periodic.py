"""The videos' periodic tasks (declared in kinds.py, run by one worker per period:
jobs/maintenance.py): what `purge_video_originals` and `sweep_uploads` do, with the
commands' flags from the configuration, and the line each reports."""

from __future__ import annotations

from django.conf import settings

from media_pipeline.videos.actions import videos_purge_originals
from media_pipeline.videos.upload_sweep import uploads_sweep


class SweepIncomplete(Exception):
    """Storage refused part of the sweep; the rest was done, the next sweep retries."""


def purge_video_originals() -> str:
    days = settings.MAINTENANCE_PURGE_VIDEO_ORIGINALS_DAYS
    videos = videos_purge_originals(older_than_days=days, dry_run=False)
    return f"deleted {len(videos)} original(s) of videos ready over {days} days"


def sweep_uploads() -> str:
    report = uploads_sweep(dry_run=False)
    if report.failed:
        raise SweepIncomplete(f"{report.summary(dry_run=False)}: " + "; ".join(report.failed))
    return report.summary(dry_run=False)
