"""The `video.encode` job: original -> probe -> HLS ladder in storage -> READY.

Rungs are encoded lowest first, each by its own ffmpeg run; as soon as a rung is in
storage the master playlist is rewritten to include it, so the video plays at 360p
while 720p is still encoding. Progress: downloading 0-3, probing 3-5, the rungs 5-95
(weighted by pixels, each "encoding <rung>" then "uploading <rung>"), thumbnail, done.
Temporary files live in one directory removed whatever happens. A retry clears the
output prefix first, so it re-runs cleanly; a cancelled or failed encode removes its
partial output (a released or fenced one, or one whose lease a newer encode of the
video took over, leaves it to the encode that owns it now: actions.video_output_owned).
An encode that is no longer its video's job (a reprocess replaced it) fails as
SUPERSEDED before it touches anything.

The probe and every ffmpeg run are children under limits (videos/ffmpeg.py):
one stopped by a limit, or crashing, fails the job as INPUT_TOO_COMPLEX naming the
limit and its setting, and the worker goes on with the next job.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
import uuid
from pathlib import Path

from django.conf import settings

from media_pipeline import sandbox, storage
from media_pipeline.jobs.errors import JobFailed, JobFenced, JobReleased, storage_failure_fails_job
from media_pipeline.jobs.progress import JobContext
from media_pipeline.videos import actions, ffmpeg, hls, ladder
from media_pipeline.videos.ffmpeg_binary import ffmpeg_binary
from media_pipeline.videos.models import Video
from media_pipeline.videos.playback import content_type
from project import metrics

logger = logging.getLogger(__name__)

ENCODE_SPEED = metrics.histogram(
    "moa_video_encode_speed", "How fast a rendition encodes, in seconds of video per "
    "second of ffmpeg's run (x realtime), by rendition", ("rendition",),
    buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64))

# The probe reads headers and decodes one frame: CPU bounds a spinning parser; the
# wall clock, a little longer, one that blocks without using CPU.
PROBE_WALL_MARGIN_SECONDS = 10
# Which setting raises each limit of a child, for the person reading the failure.
LIMIT_SETTINGS = {
    "the video probe": {"memory": "PARSER_MEMORY_MB", "cpu": "PARSER_CPU_SECONDS",
                        "time": "PARSER_CPU_SECONDS"},
    "ffmpeg": {"memory": "FFMPEG_MEMORY_MB",
               "cpu": "derived from the pixels the video declares: it has more frames "
                      "than it says, or is unusually costly to decode",
               "time": "twice its CPU limit"},
}


def video_encode(context: JobContext) -> dict:
    video_id = context.payload.get("video")
    if not isinstance(video_id, str) or not Video.objects.filter(pk=video_id).exists():
        raise JobFailed("INPUT_INVALID", "payload.video must name an existing video")
    row = actions.video_encoding_started(video_id=video_id, job_id=context.job_id)
    try:
        with (tempfile.TemporaryDirectory(prefix="moa-video-") as work,
              storage_failure_fails_job()):
            return _encode(context, row, Path(work))
    except (JobReleased, JobFenced):
        raise  # the job goes on elsewhere; its output is that attempt's now
    except BaseException:
        _withdraw(row, context)
        raise


def _encode(context: JobContext, row: Video, work: Path) -> dict:
    source_path = str(work / "source")
    context.progress(0, "downloading")
    storage.download(row.original_key, source_path)
    context.progress(3, "probing")
    source = _probe(source_path)
    rungs = ladder.plan_rungs(source)
    storage.delete_prefix(row.output_prefix)  # a retry starts from nothing
    binary = ffmpeg_binary()
    weights = [rung.width * rung.height for rung in rungs]
    done_weight, renditions = 0, []
    for rung, weight in zip(rungs, weights, strict=True):
        start = 5 + 90 * done_weight / sum(weights)
        span = 90 * weight / sum(weights)
        out_dir = work / rung.name
        out_dir.mkdir()
        command = ladder.encode_command(binary, source_path, source, rung, str(out_dir),
                                        settings.VIDEO_MAX_DIMENSION)
        began = time.monotonic()
        written = _run(command, ffmpeg_limits(source, rung), context, start, span * 0.9,
                       f"encoding {rung.name}", source.duration)
        ENCODE_SPEED.labels(rung.name).observe(written / max(time.monotonic() - began, 1e-3))
        if written < 0.9 * source.duration - 1:
            raise JobFailed("INPUT_INVALID", f"The video ends after {written:.1f} s of the "
                            f"{source.duration:.1f} s it declares: the file is truncated "
                            f"or damaged.")
        context.progress(start + span * 0.9, f"uploading {rung.name}")
        renditions.append(_publish_rendition(row, context.job_id, rung, source, out_dir,
                                             renditions))
        done_weight += weight
        context.progress(5 + 90 * done_weight / sum(weights), f"{rung.name} playable")
    context.progress(95, "thumbnail")
    has_thumbnail = _thumbnail(binary, source_path, source, ffmpeg_limits(source, rungs[0]),
                               row, work)
    published = [rendition.as_json() for rendition in renditions]
    actions.video_ready(video_id=str(row.id), job_id=context.job_id, renditions=published,
                        has_thumbnail=has_thumbnail)
    return {"video": str(row.id), "duration": source.duration, "renditions": published}


def probe_limits() -> sandbox.Limits:
    """The probe child's: PARSER_MEMORY_MB, PARSER_CPU_SECONDS, and a little more wall."""
    return sandbox.Limits(memory_bytes=settings.PARSER_MEMORY_BYTES,
                          cpu_seconds=settings.PARSER_CPU_SECONDS,
                          wall_seconds=settings.PARSER_CPU_SECONDS + PROBE_WALL_MARGIN_SECONDS)


def ffmpeg_limits(source: ladder.Source, rung: ladder.Rung) -> sandbox.Limits:
    """The ffmpeg run of `rung`: FFMPEG_MEMORY_MB, CPU time from the pixels it decodes
    and encodes, twice that on the wall clock (a run also stops after STALL_SECONDS
    without progress), and tasks for this machine's cores."""
    cpu = ladder.ffmpeg_cpu_seconds(source, rung)
    return sandbox.Limits(memory_bytes=settings.FFMPEG_MEMORY_BYTES, cpu_seconds=cpu,
                          wall_seconds=2 * cpu,
                          processes=ladder.ffmpeg_tasks(os.cpu_count() or 1))


def _probe(path: str) -> ladder.Source:
    try:
        source = ffmpeg.probe(path, limits=probe_limits(),
                              max_dimension=settings.VIDEO_MAX_DIMENSION)
    except ffmpeg.NotAVideo as error:
        raise JobFailed("INPUT_NOT_VIDEO", f"This is not a video: {error}.") from error
    except ffmpeg.Unreadable as error:
        raise JobFailed("INPUT_INVALID", f"The file is unreadable or truncated: {error}."
                        ) from error
    except ffmpeg.TooLarge as error:
        raise JobFailed("INPUT_TOO_LARGE", f"The video is too large: {error}.") from error
    except sandbox.ChildFailed as error:
        raise too_complex(error, "the video probe") from error
    if source.duration > settings.VIDEO_MAX_DURATION_SECONDS:
        raise JobFailed("INPUT_TOO_LONG", f"The video lasts {source.duration:.0f} s; the "
                        f"limit is {settings.VIDEO_MAX_DURATION_SECONDS} s "
                        f"(VIDEO_MAX_DURATION_SECONDS): cut it into shorter parts.")
    problem = ladder.work_problem(source, max_frame_rate=settings.VIDEO_MAX_FRAME_RATE,
                                  max_gigapixels=settings.VIDEO_MAX_GIGAPIXELS)
    if problem:
        raise JobFailed("INPUT_TOO_LARGE", f"The video is too much to encode: {problem}.")
    return source


def too_complex(error: sandbox.ChildFailed, child: str) -> JobFailed:
    """INPUT_TOO_COMPLEX, saying which limit stopped which child and what raises it."""
    setting = LIMIT_SETTINGS[child].get(error.limit or "")
    limit = f" (the {error.limit} limit: {setting})" if setting else ""
    logger.warning("%s stopped: %s%s", child, error, limit)
    return JobFailed("INPUT_TOO_COMPLEX", f"Reading this file went over what Moa allows: "
                     f"{error}{limit}. The file is hostile or broken, or needs more than "
                     f"this server gives a video.")


def _run(command: list[str], limits: sandbox.Limits, context: JobContext, start: float,
         span: float, stage: str, duration: float) -> float:
    """One ffmpeg run with its progress mapped onto [start, start + span] percent."""
    def report(seconds: float) -> None:
        context.progress(start + span * min(1.0, seconds / max(duration, 0.001)), stage)

    try:
        return ffmpeg.run_ffmpeg(command, limits=limits, on_progress=report)
    except OSError as error:  # the binary is missing or not executable
        raise JobFailed("ENCODER_UNAVAILABLE", f"ffmpeg could not be started ({error}); set "
                        f"FFMPEG_BINARY to a working ffmpeg.") from error
    except sandbox.ChildFailed as error:
        raise too_complex(error, "ffmpeg") from error
    except ffmpeg.FfmpegFailed as error:
        raise JobFailed("ENCODE_FAILED", str(error)) from error  # pages add "Encoding failed"


def _publish_rendition(row: Video, job_id: uuid.UUID, rung: ladder.Rung,
                       source: ladder.Source, out_dir: Path,
                       earlier: list[hls.Rendition]) -> hls.Rendition:
    """Upload a rung (segments first, its playlist last), then the master playlist
    naming it: a player never finds a playlist whose segments are not there yet."""
    prefix = f"{row.output_prefix}{rung.name}/"
    playlist = (out_dir / "index.m3u8").read_text()
    segments = []
    for seconds, name in hls.parse_media_playlist(playlist):
        path = out_dir / name
        storage.put_file(prefix + name, str(path), content_type(name))
        segments.append((seconds, path.stat().st_size))
    storage.put_file(prefix + "index.m3u8", str(out_dir / "index.m3u8"),
                     content_type("index.m3u8"))
    peak, average = hls.segment_bandwidth(segments)
    rendition = hls.Rendition(rung, peak, average, source.has_audio)
    master = out_dir / "master.m3u8"
    master.write_text(hls.master_playlist([*earlier, rendition]))
    storage.put_file(row.output_prefix + "master.m3u8", str(master),
                     content_type("master.m3u8"))
    actions.video_rendition_published(
        video_id=str(row.id), job_id=job_id, source=source,
        renditions=[item.as_json() for item in [*earlier, rendition]])
    return rendition


def _thumbnail(binary: str, source_path: str, source: ladder.Source,
               limits: sandbox.Limits, row: Video, work: Path) -> bool:
    """A thumbnail is a nicety: a frame ffmpeg cannot grab is logged, not a failure."""
    path = work / "thumbnail.jpg"
    command = ladder.thumbnail_command(binary, source_path, source, str(path),
                                       settings.VIDEO_MAX_DIMENSION)
    try:
        ffmpeg.run_ffmpeg(command, limits=limits, on_progress=lambda seconds: None)
    except (OSError, ffmpeg.FfmpegFailed, sandbox.ChildFailed) as error:
        logger.warning("video %s: no thumbnail: %s", row.id, error)
        return False
    if not path.exists():
        logger.warning("video %s: ffmpeg wrote no thumbnail", row.id)
        return False
    storage.put_file(row.output_prefix + "thumbnail.jpg", str(path),
                     content_type("thumbnail.jpg"))
    return True


def _withdraw(row: Video, context: JobContext) -> None:
    """Delete the output of an encode that failed or was cancelled, only while it is
    still the video's encode and this attempt holds it (actions.video_output_owned): the
    prefix is the video's, and an attempt that lost its lease to a newer encode (a
    reprocess after WORKER_LOST) would otherwise delete that encode's published HLS."""
    if not actions.video_output_owned(video_id=str(row.id), job_id=context.job_id,
                                      attempt=context.attempt):
        logger.warning("video %s: job %s attempt %d no longer owns the output; left as is",
                       row.id, context.job_id, context.attempt)
        return
    try:
        removed = storage.delete_prefix(row.output_prefix)
    except storage.StorageError:  # logged by storage; the next attempt clears it anyway
        return
    actions.video_output_withdrawn(video_id=str(row.id), job_id=context.job_id)
    if removed:
        logger.info("video %s: %d partial output file(s) removed", row.id, removed)
