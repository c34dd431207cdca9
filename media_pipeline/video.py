"""The adapter to video files and ffmpeg: probe a file, run an ffmpeg command with
progress and a way to stop it. Plain arguments and callbacks; no models, no Channels.

Both run as children under limits (media_pipeline/sandbox.py): the probe is
`python -m media_pipeline.video_probe` (PyAV: FFmpeg's libraries in a wheel, since
the imageio-ffmpeg wheel ships no ffprobe), ffmpeg is exec'd by the sandbox shim. A
forged header, a decoder bug or a runaway encode costs the child; the worker gets a
ChildFailed naming the limit and takes the next job.
"""

from __future__ import annotations

import logging
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Callable

from media_pipeline import ladder, sandbox
from media_pipeline.ladder import Source, progress_seconds

logger = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 5.0  # after SIGTERM ffmpeg gets this long to exit, then SIGKILL
STALL_SECONDS = 300.0  # an ffmpeg that reports no progress this long is stuck


class NotAVideo(Exception):
    """The file has no video stream (an audio file, a document renamed .mp4)."""


class Unreadable(Exception):
    """The file cannot be read as media: corrupt, truncated, or not media at all."""


class TooLarge(Exception):
    """The file declares a frame larger than the size limit."""


class FfmpegFailed(Exception):
    """ffmpeg exited with an error; the message carries the end of what it said."""


REFUSALS = {"not_video": NotAVideo, "unreadable": Unreadable, "too_large": TooLarge}


def probe(path: str, *, limits: sandbox.Limits, max_dimension: int) -> Source:
    """Streams, size, rotation and duration, read by the probe child. NotAVideo,
    Unreadable or TooLarge with a reason; sandbox.ChildFailed when the child went over
    a limit, crashed, or was refused an allocation by its memory limit."""
    answer = sandbox.run_json(sandbox.python_command(
        "media_pipeline.video_probe", "--max-dimension", str(max_dimension), path),
        limits, "the video probe")
    if "refused" in answer:
        if answer["refused"] == "too_complex":  # FFmpeg's ENOMEM: RLIMIT_AS, or its own caps
            raise sandbox.ChildFailed(f"the video probe ran out of memory: {answer['reason']}",
                                      limit="memory")
        raise REFUSALS.get(answer["refused"], Unreadable)(str(answer.get("reason")))
    source = _source(answer.get("source"))
    problem = ladder.size_problem(source.width, source.height, max_dimension)
    if problem:  # the child checked; a child subverted by the file could have lied
        raise TooLarge(problem)
    return source


def _source(fields: object) -> Source:
    """The child's answer as a Source, checked field by field: it comes from a process
    that has read hostile bytes."""
    try:
        source = Source(**fields)  # type: ignore[arg-type]
    except TypeError:
        raise Unreadable("the video probe answered nonsense") from None
    numbers = (source.width, source.height, source.rotation)
    if (not all(isinstance(value, int) and not isinstance(value, bool) for value in numbers)
            or not isinstance(source.duration, int | float) or not source.duration > 0
            or source.width <= 0 or source.height <= 0 or not isinstance(source.has_audio, bool)):
        raise Unreadable(f"the video probe answered an impossible stream ({fields})")
    return source


def run_ffmpeg(command: list[str], *, limits: sandbox.Limits,
               on_progress: Callable[[float], None],
               stall_seconds: float = STALL_SECONDS) -> float:
    """Run `command` (with `-progress pipe:1`) under `limits`; return the seconds of
    output written.

    `on_progress(seconds)` is called for each progress report and about once a second
    without one; if it raises (the job was cancelled, the worker is stopping), ffmpeg
    is asked to stop (SIGTERM), killed after STOP_GRACE_SECONDS, and the exception
    propagates. FfmpegFailed on a non-zero exit or a stall; sandbox.ChildFailed when
    a limit stopped it (memory, CPU time, `limits.wall_seconds`) or it crashed;
    FileNotFoundError when the binary is missing.
    """
    if shutil.which(command[0]) is None:  # the shim would only fail after the fork
        raise FileNotFoundError(f"no executable ffmpeg at {command[0]}")
    process = sandbox.start(command, limits, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, errors="replace")
    reports: queue.Queue = queue.Queue()
    said = _Said()
    readers = [threading.Thread(target=_read_blocks, args=(process.stdout, reports),
                                daemon=True),
               threading.Thread(target=said.read, args=(process.stderr,), daemon=True)]
    for reader in readers:
        reader.start()
    written = 0.0
    started = last_report = time.monotonic()
    try:
        while True:
            if time.monotonic() - started > limits.wall_seconds:
                raise sandbox.ChildFailed(f"ffmpeg took longer than "
                                          f"{limits.wall_seconds:.0f} s", limit="time")
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
        sandbox.stop(process, STOP_GRACE_SECONDS)
        raise
    finally:
        for reader in readers:
            reader.join(timeout=STOP_GRACE_SECONDS)
    returncode = process.wait()
    if returncode != 0:
        raise _failure(returncode, said, limits)
    return written


def _failure(returncode: int, said: _Said, limits: sandbox.Limits) -> Exception:
    last_words = " ".join(line.strip() for line in said.lines[-3:]) or "no message"
    if returncode < 0:  # killed: the CPU limit's SIGKILL, or a crash
        return sandbox.exit_reason(returncode, limits, "ffmpeg")
    limit = ladder.ffmpeg_limit_hit(returncode, said.memory)
    if limit == "cpu":
        return sandbox.ChildFailed(f"ffmpeg used more than {limits.cpu_seconds} s of CPU "
                                   f"time", limit="cpu")
    if limit == "memory":
        return sandbox.ChildFailed(f"ffmpeg needed more than {limits.memory_bytes // 2**20} "
                                   f"MiB of memory ({last_words})", limit="memory")
    return FfmpegFailed(f"ffmpeg exited with status {returncode}: {last_words}")


def _read_blocks(stream, reports: queue.Queue) -> None:
    block: dict[str, str] = {}
    for line in stream:
        key, _, value = line.strip().partition("=")
        block[key] = value
        if key == "progress":
            reports.put(block)
            block = {}
    reports.put(None)


class _Said:
    """The end of ffmpeg's stderr, and whether any line said an allocation failed."""

    def __init__(self, keep: int = 20):
        self.lines: list[str] = []
        self.keep, self.memory = keep, False

    def read(self, stream) -> None:
        for line in stream:
            self.memory = self.memory or any(words in line
                                             for words in ladder.FFMPEG_MEMORY_WORDS)
            self.lines.append(line)
            del self.lines[:-self.keep]
