"""The adapter to video files and ffmpeg: probe a file, run an ffmpeg command with
progress and a way to stop it. Plain arguments and callbacks; no models, no Channels.

Probing uses PyAV (FFmpeg's libraries in a wheel): the imageio-ffmpeg wheel that
supplies the ffmpeg binary ships no ffprobe, and PyAV gives the streams, duration
and rotation as data rather than text to parse.
"""

from __future__ import annotations

import logging
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable

import av

from media_pipeline.ladder import Source, progress_seconds

logger = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 5.0  # after SIGTERM ffmpeg gets this long to exit, then SIGKILL
STALL_SECONDS = 300.0  # an ffmpeg that reports no progress this long is stuck


class NotAVideo(Exception):
    """The file has no video stream (an audio file, a document renamed .mp4)."""


class Unreadable(Exception):
    """The file cannot be read as media: corrupt, truncated, or not media at all."""


class FfmpegFailed(Exception):
    """ffmpeg exited with an error; the message carries the end of what it said."""


def probe(path: str) -> Source:
    """Streams, size, rotation and duration; NotAVideo or Unreadable with a reason."""
    try:
        with av.open(path, metadata_errors="ignore") as container:
            videos = [s for s in container.streams.video if s.codec_context.width]
            if not videos:
                kinds = sorted({s.type for s in container.streams}) or ["no streams"]
                raise NotAVideo(f"the file has no video stream ({', '.join(kinds)})")
            stream = videos[0]
            duration = _duration(container, stream)
            rotation = 0
            for frame in container.decode(stream):  # the display matrix rides on frames
                rotation = round(getattr(frame, "rotation", 0) or 0)
                break
            else:
                raise Unreadable("the video stream has no decodable frame")
            return Source(width=stream.codec_context.width, height=stream.codec_context.height,
                          rotation=rotation, duration=duration,
                          has_audio=bool(container.streams.audio))
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as error:
        reason = getattr(error, "strerror", None) or error
        raise Unreadable(f"the file cannot be read as a video ({reason})") from error


def _duration(container, stream) -> float:
    if container.duration:
        return container.duration / av.time_base
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    raise Unreadable("the file does not say how long it is (truncated or still being written?)")


def run_ffmpeg(command: list[str], *, on_progress: Callable[[float], None],
               stall_seconds: float = STALL_SECONDS) -> float:
    """Run `command` (with `-progress pipe:1`); return the seconds of output written.

    `on_progress(seconds)` is called for each progress report and about once a second
    without one; if it raises (the job was cancelled, the worker is stopping), ffmpeg
    is asked to stop (SIGTERM), killed after STOP_GRACE_SECONDS, and the exception
    propagates. FfmpegFailed on a non-zero exit or a stall.
    """
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,  # noqa: S603
                               stdin=subprocess.DEVNULL, text=True, errors="replace")
    reports: queue.Queue = queue.Queue()
    errors: list[str] = []
    readers = [threading.Thread(target=_read_blocks, args=(process.stdout, reports),
                                daemon=True),
               threading.Thread(target=_keep_tail, args=(process.stderr, errors), daemon=True)]
    for reader in readers:
        reader.start()
    written, last_report = 0.0, time.monotonic()
    try:
        while True:
            try:
                block = reports.get(timeout=1.0)
            except queue.Empty:
                if time.monotonic() - last_report > stall_seconds:
                    raise FfmpegFailed(f"ffmpeg reported no progress for {stall_seconds:.0f} s"
                                       ) from None
                on_progress(written)
                continue
            if block is None:  # stdout closed: ffmpeg is exiting
                break
            last_report = time.monotonic()
            written = progress_seconds(block) or written
            on_progress(written)
    except BaseException:
        _stop(process)
        raise
    finally:
        for reader in readers:
            reader.join(timeout=STOP_GRACE_SECONDS)
    if process.wait() != 0:
        said = " ".join(line.strip() for line in errors[-3:]) or "no message"
        raise FfmpegFailed(f"ffmpeg exited with status {process.returncode}: {said}")
    return written


def _read_blocks(stream, reports: queue.Queue) -> None:
    block: dict[str, str] = {}
    for line in stream:
        key, _, value = line.strip().partition("=")
        block[key] = value
        if key == "progress":
            reports.put(block)
            block = {}
    reports.put(None)


def _keep_tail(stream, lines: list[str], keep: int = 20) -> None:
    for line in stream:
        lines.append(line)
        del lines[:-keep]


def _stop(process: subprocess.Popen) -> None:
    """Ask ffmpeg to finish (SIGTERM lets it close its files), then kill it."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        logger.warning("ffmpeg (pid %d) ignored SIGTERM for %.0f s; killing it", process.pid,
                       STOP_GRACE_SECONDS)
        process.kill()
        process.wait()
