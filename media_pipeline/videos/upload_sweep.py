"""The sweep of abandoned video uploads: one worker of the fleet runs it hourly (a
periodic task: videos/kinds.py, MAINTENANCE_SWEEP_UPLOADS_EVERY), an operator with
`python manage.py sweep_uploads [--dry-run]`.

Two kinds of leftovers:
- A video still UPLOADING ABANDON_GRACE after its upload grant expired
  (STORAGE_URL_EXPIRY_SECONDS): no byte can reach it any more, and it holds room in
  its owner's quota. It is removed as DELETE removes a video (its multipart upload
  aborted, any partial object deleted, the row deleted) with a log line naming it,
  owner and age. Removing beats keeping a tombstone: nothing was stored to show,
  a grant cannot be renewed (the client starts a new upload in any case), and a
  kept row would need a state of its own outside the quota. Its owner sees it gone
  from the list; upload-complete on it answers 404.
- A multipart upload under videos/ started over ORPHAN_AGE ago that no video waits
  for (its video was deleted while storage failed, or its creation failed half way):
  aborted, since storage keeps its parts until then (S3 bills them; the local backend
  keeps them in a staging folder, whose age is its last change).

Idempotent, so several workers sweeping at once are harmless: a second abort answers
NoSuchUpload, a second delete finds nothing. Storage is called before rows change, and
a storage failure leaves the row for the next sweep.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from media_pipeline import storage
from media_pipeline.videos import actions, upload_rules
from media_pipeline.videos.models import KEY_PREFIX, Video

logger = logging.getLogger(__name__)

ABANDON_GRACE = timedelta(hours=2)  # a 2 GiB PUT at 5 Mb/s that began just in time
ORPHAN_AGE = timedelta(days=1)


@dataclass
class SweepReport:
    videos: list[Video] = field(default_factory=list)  # abandoned, removed
    orphans: list[tuple[str, str]] = field(default_factory=list)  # (key, upload id), aborted
    failed: list[str] = field(default_factory=list)  # what storage refused, for the next sweep

    def summary(self, dry_run: bool) -> str:
        verb = "would remove" if dry_run else "removed"
        return (f"{verb} {len(self.videos)} abandoned upload(s) and "
                f"{len(self.orphans)} orphaned multipart upload(s); {len(self.failed)} failed")


def uploads_sweep(*, dry_run: bool, now: datetime | None = None) -> SweepReport:
    """Remove abandoned uploads and abort orphaned multipart uploads (see the module),
    on either backend."""
    now = now or timezone.now()
    report = SweepReport()
    cutoff = upload_rules.abandoned_before(now, grant_seconds=settings.STORAGE_URL_EXPIRY_SECONDS,
                                           grace=ABANDON_GRACE)
    for video in Video.objects.filter(status=Video.Status.UPLOADING, job__isnull=True,
                                      created_at__lt=cutoff).order_by("created_at"):
        report.videos.append(video)
        if not dry_run:
            _remove_abandoned(video, report)
    _abort_orphans(now, dry_run, report)
    (logger.warning if report.failed else logger.info)("upload sweep: %s",
                                                       report.summary(dry_run))
    return report


def _remove_abandoned(video: Video, report: SweepReport) -> None:
    logger.warning("video %s of user %s: upload abandoned (created %s, its grant expired); "
                   "removing the video", video.id, video.owner_id, video.created_at.isoformat())
    try:
        actions.video_delete(video_id=video.id)
    except Video.DoesNotExist:  # another worker's sweep, or its owner, was first
        return
    except storage.StorageError as error:  # logged by storage; the next sweep retries
        report.failed.append(str(error))


def _abort_orphans(now: datetime, dry_run: bool, report: SweepReport) -> None:
    try:
        uploads = storage.multipart_uploads(KEY_PREFIX)
    except storage.StorageError as error:
        report.failed.append(str(error))
        return
    waiting = set(Video.objects.exclude(multipart_upload_id="").values_list(
        "multipart_upload_id", flat=True))
    for key, upload_id in upload_rules.orphaned_uploads(uploads, waiting=waiting, now=now,
                                                        age=ORPHAN_AGE):
        report.orphans.append((key, upload_id))
        if dry_run:
            continue
        logger.warning("multipart upload %s of %s has no video and is over %s old; "
                       "aborting it", upload_id, key, ORPHAN_AGE)
        try:
            storage.multipart_abort(key, upload_id)
        except storage.StorageError as error:
            if error.code != "NoSuchUpload":
                report.failed.append(str(error))
