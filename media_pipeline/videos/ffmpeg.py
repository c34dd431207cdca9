"""The adapter to video files and ffmpeg: probe a file, run an ffmpeg command with
progress and a way to stop it. Plain arguments and callbacks; no models, no Channels.

Both run as children under limits (media_pipeline/sandbox/): the probe is
`python -m media_pipeline.videos.probe` (PyAV: FFmpeg's libraries in a wheel, since
the imageio-ffmpeg wheel ships no ffprobe), ffmpeg is exec'd by the sandbox shim. A
forged header, a decoder bug or a runaway encode costs the child; the worker gets a
ChildFailed naming the limit and takes the next job.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
import time
from collections.abc import Callable

from media_pipeline import sandbox
from media_pipeline.sandbox.child_output import Flooded, Lines, read_lines
from media_pipeline.videos import ladder
from media_pipeline.videos.ladder import Source, progress_seconds

logger = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 5.0  # after SIGTERM ffmpeg gets this long to exit, then SIGKILL
STALL_SECONDS = 300.0  # an ffmpeg that reports no progress this long is stuck
# What ffmpeg may write: a progress block is about 300 bytes twice a second, an error
# line (-loglevel error) well under 1 KiB, even one per frame of a damaged file. Past
# these it is flooding the worker, and is stopped.
MAX_LINE_BYTES = 16 * 1024
OUTPUT_FLOOR_BYTES = 4 * 2**20
OUTPUT_BYTES_PER_SECOND = 32 * 1024  # of its wall-clock limit


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
        "media_pipeline.videos.probe", "--max-dimension", str(max_dimension), path),
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
    rates = (source.duration, source.frame_rate)
    if (not all(isinstance(value, int) and not isinstance(value, bool) for value in numbers)
            or not all(isinstance(value, int | float) and not isinstance(value, bool)
                       and 0 < value < float("inf") for value in rates)
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
    a limit stopped it (memory, CPU time, `limits.wall_seconds`, its output caps) or
    it crashed; FileNotFoundError when the binary is missing.
    """
    if shutil.which(command[0]) is None:  # the shim would only fail after the fork
        raise FileNotFoundError(f"no executable ffmpeg at {command[0]}")
    process = sandbox.start(command, limits, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    budget = OUTPUT_FLOOR_BYTES + int(OUTPUT_BYTES_PER_SECOND * limits.wall_seconds)
    progress = _Progress(Lines("progress output", max_line=MAX_LINE_BYTES, max_bytes=budget))
    said = _Said(Lines("error output", max_line=MAX_LINE_BYTES, max_bytes=budget))
    readers = [threading.Thread(target=progress.read, args=(process.stdout,), daemon=True),
               threading.Thread(target=said.read, args=(process.stderr,), daemon=True)]
    for reader in readers:
        reader.start()
    written, seen = 0.0, 0
    started = last_report = time.monotonic()
    gone_at = None
    try:
        while True:
            now = time.monotonic()
            if now - started > limits.wall_seconds:
                raise sandbox.ChildFailed(f"ffmpeg took longer than "
                                          f"{limits.wall_seconds:.0f} s", limit="time")
            reports, closed = progress.wait(seen, timeout=1.0)
            flooded = progress.flooded or said.flooded
            if flooded:
                raise sandbox.ChildFailed(f"ffmpeg {flooded}", limit="output")
            if reports > seen:
                seen, last_report = reports, time.monotonic()
                written = progress.seconds or written
            elif closed:  # stdout closed: ffmpeg is exiting
                break
            elif time.monotonic() - last_report > stall_seconds:
                raise FfmpegFailed(f"ffmpeg reported no progress for {stall_seconds:.0f} s")
            if gone_at is None and sandbox.exited(process):
                gone_at = time.monotonic()
            elif gone_at is not None and time.monotonic() - gone_at > STOP_GRACE_SECONDS:
                break  # something it left behind holds the pipe: stop() ends it
            on_progress(written)
    except BaseException:
        sandbox.stop(process, STOP_GRACE_SECONDS)
        raise
    finally:
        _close(process, readers)
    returncode = sandbox.stop(process, STOP_GRACE_SECONDS)
    if returncode != 0:
        raise _failure(returncode, said, limits)
    return written


def _close(process, readers: list[threading.Thread]) -> None:
    for reader in readers:
        reader.join(timeout=STOP_GRACE_SECONDS)
    for stream in (process.stdout, process.stderr):
        stream.close()


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


def _drain(stream, lines: Lines, on_line) -> str | None:
    """Read ffmpeg's `stream` line by line into `on_line` until it closes; what it
    flooded, when it went over `lines`' caps."""
    try:
        read_lines(stream.fileno(), lines, on_line)
    except Flooded as flooded:
        return str(flooded)
    except OSError:  # closed under us by a stopping run
        pass
    return None


class _Progress:
    """The latest of ffmpeg's `-progress` blocks, kept by a reader thread: only the
    newest matters, so a child writing faster than the job reads costs no memory."""

    def __init__(self, lines: Lines):
        self.lines = lines
        self.changed = threading.Condition()
        self.reports, self.seconds, self.closed = 0, None, False
        self.flooded: str | None = None
        self.block: dict[str, str] = {}

    def read(self, stream) -> None:
        self.flooded = _drain(stream, self.lines, self._line)
        with self.changed:
            self.closed = True
            self.changed.notify_all()

    def _line(self, raw: bytes) -> None:
        key, _, value = raw.decode(errors="replace").strip().partition("=")
        self.block[key] = value
        if key == "progress":
            with self.changed:
                self.seconds = progress_seconds(self.block) or self.seconds
                self.reports += 1
                self.changed.notify_all()
            self.block = {}

    def wait(self, seen: int, timeout: float) -> tuple[int, bool]:
        """(reports so far, whether stdout closed), once either moved past `seen`."""
        with self.changed:
            self.changed.wait_for(lambda: self.reports > seen or self.closed
                                  or self.flooded, timeout)
            return self.reports, self.closed


class _Said:
    """The end of ffmpeg's stderr, and whether any line said an allocation failed."""

    def __init__(self, lines: Lines, keep: int = 20):
        self.lines_in = lines
        self.lines: list[str] = []
        self.keep, self.memory = keep, False
        self.flooded: str | None = None

    def read(self, stream) -> None:
        self.flooded = _drain(stream, self.lines_in, self._line)

    def _line(self, raw: bytes) -> None:
        line = raw.decode(errors="replace")
        self.memory = self.memory or any(words in line for words in ladder.FFMPEG_MEMORY_WORDS)
        self.lines.append(line)
        del self.lines[:-self.keep]
