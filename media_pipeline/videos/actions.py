"""Video actions: create with an upload grant, complete the upload (which enqueues
the encode), the encoder's state changes, reprocessing, deletion, retention of
originals.

Storage is called outside transactions (a slow store must not hold row locks); the
rows change in short transactions after it answered.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from media_pipeline import storage
from media_pipeline.jobs.actions import job_cancel, job_enqueue, job_renew_lease
from media_pipeline.jobs.errors import JobFailed, JobFenced, ReprocessRefused
from media_pipeline.jobs.models import Job
from media_pipeline.jobs.states import ACTIVE
from media_pipeline.videos import ladder, upload_rules
from media_pipeline.videos.models import KEY_PREFIX, Video
from project.accounts.models import User

logger = logging.getLogger(__name__)

# S3 answers these when the parts sent do not make the object: the client's to fix.
BAD_PARTS = {"InvalidPart", "InvalidPartOrder", "NoSuchUpload", "EntityTooSmall",
             "MalformedXML"}


class VideoRefused(Exception):
    """The request describes no acceptable upload; `problems` maps field -> reason."""

    def __init__(self, problems: dict[str, str]):
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in problems.items()))
        self.problems = problems


class QuotaExceeded(Exception):
    """The upload would take the owner past VIDEO_QUOTA_BYTES (403 quota_exceeded)."""


class TooManyUploads(Exception):
    """The owner has VIDEO_MAX_CONCURRENT_UPLOADS uploads open (429 too_many_uploads)."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class UploadIncomplete(Exception):
    """upload-complete was called, but storage does not hold the declared file."""


def video_create(*, owner: User, team_id: int | None, title: object, filename: object,
                 size: object, content_type: object) -> tuple[Video, dict]:
    """A new video waiting for its upload, and how the client uploads it: one presigned
    PUT, or a presigned URL per part, each with its size signed in (upload_rules.in_parts:
    on S3 above VIDEO_MULTIPART_THRESHOLD_BYTES, locally above VIDEO_PART_BYTES).

    QuotaExceeded or TooManyUploads when the owner has no room for it. The checks and
    the new row are one transaction holding the owner's row lock (SELECT ... FOR
    UPDATE), so two creates at once cannot both take the last room; storage is called
    after it commits (a slow store holds no lock), and a storage failure removes the
    row again.
    """
    problems = ladder.upload_problems(title=title, filename=filename, size=size,
                                      content_type=content_type,
                                      max_bytes=settings.VIDEO_MAX_UPLOAD_BYTES)
    if problems:
        raise VideoRefused(problems)
    video = Video(id=uuid.uuid4(), owner=owner, team_id=team_id, title=title.strip(),
                  filename=filename, size=size, content_type=content_type)
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=owner.pk).exists()
        _check_room(owner, size)
        video.save(force_insert=True)
    try:
        if upload_rules.in_parts(size, backend=settings.STORAGE_BACKEND,
                                 s3_threshold=settings.VIDEO_MULTIPART_THRESHOLD_BYTES,
                                 part_bytes=settings.VIDEO_PART_BYTES):
            video.multipart_upload_id = storage.multipart_start(video.original_key,
                                                                content_type=content_type)
            Video.objects.filter(pk=video.pk).update(
                multipart_upload_id=video.multipart_upload_id)
            grant = _multipart_grant(video)
        else:
            grant = storage.presigned_put(video.original_key, content_type=content_type,
                                          size_bytes=size)
    except storage.StorageError:
        video.delete()  # it holds no room it cannot use (an open multipart is swept)
        raise
    logger.info("video %s created (%d bytes, %s upload)", video.id, size, grant["method"])
    return video, grant


def _check_room(owner: User, size: int) -> None:
    """The owner's quota and concurrent uploads, read under the owner's row lock."""
    used = Video.objects.filter(owner=owner, original_deleted_at__isnull=True).aggregate(
        total=Sum("size"))["total"] or 0
    problem = upload_rules.quota_problem(used=used, size=size, quota=settings.VIDEO_QUOTA_BYTES)
    if problem:
        raise QuotaExceeded(problem)
    now = timezone.now()
    started = Video.objects.filter(
        owner=owner, status=Video.Status.UPLOADING,
        created_at__gt=now - timedelta(seconds=settings.STORAGE_URL_EXPIRY_SECONDS),
    ).values_list("created_at", flat=True)
    limit = settings.VIDEO_MAX_CONCURRENT_UPLOADS
    wait = upload_rules.uploads_retry_after(list(started), now=now, limit=limit,
                                            grant_seconds=settings.STORAGE_URL_EXPIRY_SECONDS)
    if wait is not None:
        raise TooManyUploads(f"You have {limit} uploads waiting for their bytes "
                             f"(VIDEO_MAX_CONCURRENT_UPLOADS): finish or delete one, or wait "
                             f"until the oldest upload URL expires.", wait)


def _multipart_grant(video: Video) -> dict:
    part_size = settings.VIDEO_PART_BYTES
    sizes = upload_rules.part_sizes(video.size, part_size)
    urls = storage.multipart_part_urls(video.original_key, video.multipart_upload_id, sizes)
    return {"method": "MULTIPART", "part_size": part_size, "headers": {},
            "parts": [{"part_number": number, "url": url, "size": size}
                      for number, (url, size) in enumerate(zip(urls, sizes, strict=True),
                                                           start=1)]}


def video_awaits_upload(*, key: str) -> bool:
    """Whether `key` is the original of a video still waiting for its bytes."""
    video_id = Video.id_of_original(key)
    return video_id is not None and Video.objects.filter(
        pk=video_id, status=Video.Status.UPLOADING, job__isnull=True).exists()


def video_upload_complete(*, video_id: uuid.UUID, parts: list[tuple[int, str]] | None) -> Job:
    """Check storage holds the declared file, then enqueue its encode: in parts, every
    part of exactly its granted size before they are joined; then the object's size
    (HEAD). An object of another size is deleted before answering, so it neither
    stays in the bucket nor reaches the encoder.

    Idempotent: a second call answers the job of the first. UploadIncomplete (409)
    when the object is missing, of another size, or its parts do not join; a
    StorageError (503) when storage cannot say.
    """
    video = Video.objects.select_related("job").get(pk=video_id)
    if video.job is not None:
        return video.job
    if video.multipart_upload_id:
        _join_parts(video, parts)
    _check_stored(video)
    with transaction.atomic():
        video = Video.objects.select_for_update().get(pk=video_id)
        if video.job_id is not None:  # a concurrent call got here first
            return video.job
        video.job = job_enqueue(kind="video.encode", owner=video.owner, team_id=video.team_id,
                                payload={"video": str(video.id), "title": video.title})
        video.status, video.uploaded_at = Video.Status.UPLOADED, timezone.now()
        video.multipart_upload_id = ""
        video.save()
    return video.job


def _join_parts(video: Video, parts: list[tuple[int, str]] | None) -> None:
    if not parts:
        raise UploadIncomplete('This upload is in parts: send {"parts": [{"part_number": N, '
                               '"etag": "<ETag of its PUT>"}, ...]}.')
    try:
        stored = storage.multipart_parts(video.original_key, video.multipart_upload_id)
    except storage.StorageError as error:
        if error.code == "NoSuchUpload":  # joined by an earlier call: the HEAD checks it
            return
        raise
    granted = upload_rules.part_sizes(video.size, settings.VIDEO_PART_BYTES)
    problem = upload_rules.part_problem(granted, [number for number, _ in parts], stored)
    if problem:
        raise UploadIncomplete(problem)
    try:
        storage.multipart_complete(video.original_key, video.multipart_upload_id, parts)
    except storage.StorageError as error:
        if error.code in BAD_PARTS:
            raise UploadIncomplete(f"The parts sent do not make the file ({error.code}): "
                                   f"upload the missing or failed parts again.") from error
        raise


def _check_stored(video: Video) -> None:
    try:
        stored = storage.size(video.original_key)
    except storage.StorageError as error:
        if error.missing:
            raise UploadIncomplete("The file is not in storage yet: upload it, then call "
                                   "upload-complete.") from error
        raise
    if stored == video.size:
        return
    storage.delete(video.original_key)
    logger.warning("video %s: storage held %d bytes, %d declared; the object is deleted",
                   video.id, stored, video.size)
    again = ("delete this video and upload it again: its parts are joined and gone"
             if video.multipart_upload_id else f"PUT exactly {video.size} bytes again")
    raise UploadIncomplete(f"Storage held {stored} bytes; {video.size} were declared. The "
                           f"object was deleted: {again}, then call upload-complete.")


def video_reprocess(*, video_id: uuid.UUID | str) -> Job:
    """Encode a video again from its original (an operator's, after an encoder fix or
    a ladder change): a new encode job of its owner and team, which replaces the HLS
    output as it publishes (video_encoding_started withdraws the old renditions when
    it starts). ReprocessRefused, saying why, when the video is gone, its upload never
    completed, an encode of it is already queued or running, or its original was
    purged (videos_purge_originals) or is not in storage; a StorageError when storage
    cannot say. Storage is asked before the transaction, which checks again under
    the video's row lock, so two reprocesses, or a reprocess and a retry (which takes
    the same lock), at once enqueue one encode."""
    video = Video.objects.select_related("job").filter(pk=video_id).first()
    if video is None:
        raise ReprocessRefused("The video was deleted.")
    _check_reprocessable(video)
    try:
        storage.size(video.original_key)
    except storage.StorageError as error:
        if error.missing:
            raise ReprocessRefused("Its original is not in storage (deleted outside Moa): "
                                   "only a new upload can encode this video again.") from error
        raise
    with transaction.atomic():
        video = Video.objects.select_for_update().get(pk=video_id)
        # Its job is read by a statement of its own, after the lock: a join in the
        # locking SELECT reads it as it was before the lock wait, and a retry holding the
        # lock (job_retry: the job's lock, then this one) would be missed. The job is not
        # locked here: taken after the video's, it would deadlock with a retry.
        video.job = Job.objects.filter(pk=video.job_id).first()
        _check_reprocessable(video)
        video.job = job_enqueue(kind="video.encode", owner=video.owner, team_id=video.team_id,
                                payload={"video": str(video.id), "title": video.title})
        video.status = Video.Status.UPLOADED
        video.save(update_fields=["job", "status"])
    logger.info("video %s: encode again from its original (job %s)", video.id, video.job.id)
    return video.job


def video_job_reprocess(*, job: Job) -> Job:
    """The video.encode kind's reprocess (jobs/registry.py): its video, encoded again."""
    video_id = job.payload.get("video")
    if not isinstance(video_id, str) or not Video.objects.filter(pk=video_id).exists():
        raise ReprocessRefused("The video this job encoded was deleted.")
    return video_reprocess(video_id=video_id)


def video_job_retry_refusal(*, job: Job) -> str | None:
    """The video.encode kind's retry check (jobs/registry.py), under the job's row lock:
    only the video's current encode may run again, and only while its original is kept.
    An older encode, superseded by a reprocess, would withdraw the renditions the newer
    one published (or run beside it). The video's row is locked too, so a reprocess and
    a retry at once cannot both enqueue an encode (video_reprocess takes the same lock)."""
    video_id = job.payload.get("video")
    video = (Video.objects.select_for_update().filter(pk=video_id).first()
             if isinstance(video_id, str) else None)
    if video is None:
        return "The video this job encoded was deleted."
    if video.job_id != job.id:
        return (f"This encode was superseded by job {video.job_id}, a newer encode of the "
                f"same video: retry or reprocess that one instead.")
    return _purged(video)


def _purged(video: Video) -> str | None:
    """Why the video cannot be encoded again once its original was purged, or None."""
    if video.original_deleted_at is None:
        return None
    return (f"Its original was purged on {video.original_deleted_at:%Y-%m-%d} "
            f"(purge_video_originals): only a new upload can encode this video again.")


def _check_reprocessable(video: Video) -> None:
    purged = _purged(video)
    if purged:
        raise ReprocessRefused(purged)
    if video.job is None:
        raise ReprocessRefused("Its upload never completed: there is nothing to encode.")
    if video.job.status in ACTIVE:
        raise ReprocessRefused(f"An encode of it is already {video.job.status} "
                               f"(job {video.job.id}).")


def video_encoding_started(*, video_id: str, job_id: uuid.UUID) -> Video:
    """An encode attempt of job `job_id` begins: whatever an earlier attempt published
    is withdrawn. JobFailed SUPERSEDED, having touched nothing, when the video's encode
    is another job by now (a reprocess replaced this one): only the video's current
    encode may rewrite its renditions and its storage."""
    with transaction.atomic():
        video = Video.objects.select_for_update().get(pk=video_id)
        if video.job_id != job_id:
            raise JobFailed("SUPERSEDED", f"A newer encode of this video (job "
                            f"{video.job_id}) replaced this one: it does the work, and "
                            f"this one changed nothing.")
        video.status, video.renditions, video.has_thumbnail = Video.Status.PROCESSING, [], False
        video.ready_at = None
        video.save()
    return video


def video_rendition_published(*, video_id: str, job_id: uuid.UUID, source: ladder.Source,
                              renditions: list[dict]) -> None:
    """A rendition is in storage and in the master playlist: the video plays from now."""
    width, height = source.display_size
    _write_of_encode(video_id, job_id, renditions=renditions, duration=source.duration,
                     width=width, height=height)


def video_ready(*, video_id: str, job_id: uuid.UUID, renditions: list[dict],
                has_thumbnail: bool) -> None:
    _write_of_encode(video_id, job_id, status=Video.Status.READY, renditions=renditions,
                     has_thumbnail=has_thumbnail, ready_at=timezone.now())


def video_output_withdrawn(*, video_id: str, job_id: uuid.UUID) -> None:
    """The encode stopped (failed or cancelled) and its partial output is deleted; a
    video whose encode is another job by now keeps that job's renditions."""
    Video.objects.filter(pk=video_id, job_id=job_id).update(renditions=[], has_thumbnail=False)


def _write_of_encode(video_id: str, job_id: uuid.UUID, **fields) -> None:
    """Write the video's row for its encode `job_id` only while that is still its encode
    (one conditional UPDATE: no window between check and write). JobFenced when the
    video's encode is another job by now: its job changes only once this one is no
    longer active (video_reprocess refuses while it is), so this attempt lost its lease,
    and it stops, writing nothing more. A deleted video is no refusal: the job was
    cancelled with it, and its next progress point stops it (removing what it wrote)."""
    if Video.objects.filter(pk=video_id, job_id=job_id).update(**fields):
        return
    if Video.objects.filter(pk=video_id).exists():
        raise JobFenced(f"video {video_id}: its encode is no longer job {job_id}")


def video_output_owned(*, video_id: str, job_id: uuid.UUID, attempt: int) -> bool:
    """Whether attempt `attempt` of encode `job_id` may delete the video's HLS output,
    a prefix every encode of the video writes. Yes when the video is gone (video_delete
    removed it: nothing writes there again). Otherwise only while the video's encode is
    still this job AND this attempt still holds it: a lease renewal (fenced) checks the
    second and gives the delete a full JOB_LEASE_SECONDS in which no worker can reclaim
    the job, so no reprocess or retry (both refused while it is active) can start a newer
    encode whose output the delete would take. A lease and not the video's row lock
    guards the delete because storage is never called under a row lock. An attempt that
    lost its lease leaves the output to whichever encode owns the video now (a retry or
    reprocess clears it as it starts)."""
    if not Video.objects.filter(pk=video_id).exists():
        return True
    return (job_renew_lease(job_id=job_id, attempt=attempt)
            and Video.objects.filter(pk=video_id, job_id=job_id).exists())


def video_delete(*, video_id: uuid.UUID) -> None:
    """Remove a video: its unfinished multipart upload (S3 keeps and bills the parts;
    the local backend keeps them in a staging folder),
    its encode (cancelled; a running one stops at its next progress point and removes
    what it wrote), every stored object, and the row."""
    video = Video.objects.select_related("job").get(pk=video_id)
    if video.multipart_upload_id:
        try:
            storage.multipart_abort(video.original_key, video.multipart_upload_id)
        except storage.StorageError as error:
            if error.code != "NoSuchUpload":  # already completed or aborted: nothing left
                raise
    if video.job is not None and video.job.status in ACTIVE:
        job_cancel(job_id=video.job.pk)
    storage.delete_prefix(f"{KEY_PREFIX}{video.id}/")
    video.delete()
    logger.info("video %s deleted", video_id)


def videos_erase_of_owner(*, user: User) -> None:
    """The account is being purged (accounts' users_purge_deleted, in its transaction):
    each of its videos is removed as DELETE removes one, stored files included.
    Idempotent; a storage failure raises, and the purge keeps the account for next time."""
    for video_id in Video.objects.filter(owner=user).values_list("pk", flat=True):
        video_delete(video_id=video_id)


def videos_purge_originals(*, older_than_days: int, dry_run: bool) -> list[Video]:
    """Delete the uploaded originals of videos READY for more than `older_than_days`
    (their HLS output stays). Returns the videos concerned."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    due = list(Video.objects.filter(status=Video.Status.READY, ready_at__lt=cutoff,
                                    original_deleted_at__isnull=True).order_by("ready_at"))
    if dry_run:
        return due
    for video in due:
        storage.delete(video.original_key)
        Video.objects.filter(pk=video.pk).update(original_deleted_at=timezone.now())
        logger.info("video %s: original deleted (ready since %s)", video.id, video.ready_at)
    return due
