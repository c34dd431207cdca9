"""The protocol's video object (docs/videos.md), with its job's."""

from __future__ import annotations

from media_pipeline.jobs.serializers import job_json, wire_time
from media_pipeline.jobs.states import JobStatus
from media_pipeline.videos import playback
from media_pipeline.videos.models import Video


def video_status(video: Video) -> str:
    """FAILED is the state of the video's job, not a column: a retry revives it."""
    if (video.status != Video.Status.READY and video.job is not None
            and video.job.status in (JobStatus.FAILED, JobStatus.CANCELLED)):
        return "FAILED"
    return video.status


def video_json(video: Video) -> dict:
    """The protocol's video object (select_related("job") to spare a query). URLs are
    paths; the API makes them absolute. `hls_url` appears with the first rendition,
    before the whole ladder is done."""
    base = playback.hls_base(video.id) if video.renditions or video.has_thumbnail else ""
    return {
        "id": str(video.id), "title": video.title, "filename": video.filename,
        "owner": video.owner_id,
        "size": video.size, "content_type": video.content_type, "team": video.team_id,
        "status": video_status(video), "duration": video.duration,
        "width": video.width, "height": video.height, "renditions": video.renditions,
        "hls_url": f"{base}master.m3u8" if video.renditions else None,
        "thumbnail_url": f"{base}thumbnail.jpg" if video.has_thumbnail else None,
        "job": job_json(video.job) if video.job is not None else None,
        "created_at": wire_time(video.created_at), "ready_at": wire_time(video.ready_at),
        "original_deleted": video.original_deleted_at is not None,
    }
