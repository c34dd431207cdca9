"""The video rules with no I/O: which renditions a source gets, the ffmpeg command of
each, reading ffmpeg's progress output, and what an uploaded file may make FFmpeg do
(formats, protocols, frame size, pixels to decode, CPU time). The playlists the
renditions are published with are hls.py's.

Every rung is encoded by its own ffmpeg run, lowest first, so the smallest rendition
can be published (and played) while the larger ones are still encoding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SEGMENT_SECONDS = 4

# The demuxers an upload may be read with: the video files people record and export.
# FFmpeg matches a whitelist name against each alias of a demuxer, so "mov" admits
# "mov,mp4,m4a,3gp,3g2,mj2" and "matroska" admits "matroska,webm" (checked against
# this build: docs/videos.md). Left out on purpose: every demuxer that opens other
# files or URLs named inside the file (hls, dash, concat, webm_dash_manifest, image2
# patterns, ...), raw streams and the long tail of rarely used parsers.
DEMUXERS = ("mov", "matroska", "avi", "mpegts", "mpeg", "flv", "asf", "ogg")
# The source is a local file; ffmpeg's progress goes to a pipe. No network, no subfile.
INPUT_PROTOCOLS = "file,pipe"
# What an encode costs is pixels, not seconds: a 108 KB clip of 8K gray frames at
# 60 fps decodes 2 gigapixels per second of video, and a 4-hour one took ~40 CPU-hours
# over four rungs when only its duration was bounded. So the probe's width x height x
# frame rate x duration (decoded pixels) is capped, and each run's CPU limit is a floor
# plus seconds per gigapixel decoded and encoded. Measured on a 2-core test machine:
# about 1.3 CPU-s per decoded gigapixel (4K60 gray to 360p; 8K60 1.1) and 10 per
# encoded gigapixel (noisy 720p to 720p, veryfast). The rates below are ten times
# those: the limit stops a runaway or a file that lies about its frame rate, never a
# slow honest encode.
FFMPEG_CPU_FLOOR_SECONDS = 120
FFMPEG_CPU_PER_DECODED_GIGAPIXEL = 15
FFMPEG_CPU_PER_ENCODED_GIGAPIXEL = 100
# Renditions are encoded at most at this rate: what players and screens show. A
# 120/240 fps slow-motion phone clip is still decoded in full, but each rung encodes
# (and scales) half or a quarter of its frames.
MAX_OUTPUT_FRAME_RATE = 60
# Tasks (processes and threads) of one ffmpeg run, when its namespace counts them:
# x264, the decoder, the filters and ffmpeg's own threads each scale with the cores.
FFMPEG_BASE_TASKS = 64
FFMPEG_TASKS_PER_CORE = 4
# ffmpeg's exit status after a signal it handles (SIGXCPU, sent every second once the
# CPU limit is passed: 255 when it exits on the first, 123 when it "hard exits" after
# more than three), and after running out of memory (AVERROR(ENOMEM) & 0xff).
FFMPEG_EXIT_SIGNALLED = (255, 123)
FFMPEG_EXIT_NO_MEMORY = 244
# What ffmpeg and its libraries say when an allocation is refused (RLIMIT_AS).
FFMPEG_MEMORY_WORDS = ("Cannot allocate memory", "malloc of size", "pthread_create() failed",
                       "Resource temporarily unavailable")


@dataclass(frozen=True)
class Rung:
    name: str  # "720p"
    width: int
    height: int
    video_kbps: int
    audio_kbps: int
    level: str  # H.264 level for this frame size; also in the CODECS attribute

    @property
    def codecs(self) -> str:
        return f"avc1.4d40{int(self.level.replace('.', '')):02x}"


# (height, video kbps, audio kbps, H.264 level): a common VOD ladder.
LADDER = ((1080, 5000, 128, "4.0"), (720, 2800, 128, "3.1"), (480, 1400, 96, "3.0"),
          (360, 800, 96, "3.0"))


@dataclass(frozen=True)
class Source:
    """What the probe found, as stored (before rotation)."""

    width: int
    height: int
    rotation: int  # degrees from the display matrix: 0, 90, 180, 270 (or negative)
    duration: float
    has_audio: bool
    frame_rate: float  # frames per second, on average, as the file declares

    @property
    def display_size(self) -> tuple[int, int]:
        """The frame as shown: a phone's portrait clip is stored landscape, rotated."""
        if abs(self.rotation) % 180 == 90:
            return self.height, self.width
        return self.width, self.height


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def plan_rungs(source: Source) -> list[Rung]:
    """The ladder's rungs no taller than the source, lowest first; a source smaller
    than the lowest rung gets one rung of its own size. The shorter side of the
    display frame is what "1080p" measures, so portrait clips get the same ladder."""
    width, height = source.display_size
    short = min(width, height)
    chosen = [entry for entry in LADDER if entry[0] <= short] or [
        (short - short % 2, *LADDER[-1][1:])]
    rungs = []
    for size, video_kbps, audio_kbps, level in reversed(chosen):
        scale = size / short
        rungs.append(Rung(f"{size}p", _even(width * scale), _even(height * scale),
                          video_kbps, audio_kbps, level))
    return rungs


def size_problem(width: int, height: int, max_dimension: int) -> str | None:
    """Why a declared frame size is over the limit (None when it is not)."""
    if width > max_dimension or height > max_dimension:
        return (f"the video declares {width}x{height} pixels; the limit is {max_dimension} "
                f"on either side (VIDEO_MAX_DIMENSION)")
    return None


def decoded_gigapixels(source: Source) -> float:
    """The pixels every ffmpeg run decodes (width x height x frame rate x duration),
    in billions: the work a video costs, however small its file."""
    return source.width * source.height * source.frame_rate * source.duration / 1e9


def encoded_gigapixels(source: Source, rung: Rung) -> float:
    """The pixels a rung's run encodes, at most MAX_OUTPUT_FRAME_RATE per second."""
    rate = min(source.frame_rate, MAX_OUTPUT_FRAME_RATE)
    return rung.width * rung.height * rate * source.duration / 1e9


def work_problem(source: Source, *, max_frame_rate: float, max_gigapixels: float) -> str | None:
    """Why encoding `source` would cost more than Moa allows (None when it would not),
    saying what to do about it."""
    if source.frame_rate > max_frame_rate:
        return (f"it declares {source.frame_rate:.0f} frames per second; the limit is "
                f"{max_frame_rate:.0f} (VIDEO_MAX_FRAME_RATE). Export it at a lower frame "
                f"rate, such as 30 or 60")
    work = decoded_gigapixels(source)
    if work > max_gigapixels:
        fits = max_gigapixels / work * source.duration
        return (f"{source.width}x{source.height} at {source.frame_rate:.0f} frames per second "
                f"for {source.duration:.0f} s is {work:,.0f} gigapixels to decode; the limit "
                f"is {max_gigapixels:,.0f} (VIDEO_MAX_GIGAPIXELS). At this size and frame "
                f"rate at most {fits:.0f} s fit: cut it into shorter parts, or export it at "
                f"a lower resolution or frame rate")
    return None


def max_pixels(max_dimension: int) -> int:
    """The largest frame a decoder may allocate (FFmpeg's max_pixels)."""
    return max_dimension * max_dimension


def input_options(max_dimension: int) -> list[str]:
    """ffmpeg's options for reading an upload, before its `-i`: the allowed formats and
    protocols, and no decoded frame larger than the size limit allows (a second SPS
    in mid-stream could otherwise declare one after the probe has looked)."""
    return ["-protocol_whitelist", INPUT_PROTOCOLS, "-format_whitelist", ",".join(DEMUXERS),
            "-max_pixels", str(max_pixels(max_dimension))]


def ffmpeg_cpu_seconds(source: Source, rung: Rung) -> int:
    """The CPU-time limit of the ffmpeg run encoding `rung` from `source` (also the
    thumbnail's, with the lowest rung): from the pixels it decodes and encodes."""
    work = (FFMPEG_CPU_PER_DECODED_GIGAPIXEL * decoded_gigapixels(source)
            + FFMPEG_CPU_PER_ENCODED_GIGAPIXEL * encoded_gigapixels(source, rung))
    return FFMPEG_CPU_FLOOR_SECONDS + int(work)


def ffmpeg_tasks(cores: int) -> int:
    """How many tasks one ffmpeg run may have at once on a machine of `cores` cores."""
    return FFMPEG_BASE_TASKS + FFMPEG_TASKS_PER_CORE * max(1, cores)


def ffmpeg_limit_hit(returncode: int, said_memory: bool) -> str | None:
    """Which limit stopped an ffmpeg that exited with `returncode` ("cpu", "memory"),
    None when it failed for another reason. `said_memory`: a line of its output had
    one of FFMPEG_MEMORY_WORDS. Only meaningful when Moa did not stop it itself."""
    if returncode in FFMPEG_EXIT_SIGNALLED:
        return "cpu"
    if returncode == FFMPEG_EXIT_NO_MEMORY or (returncode != 0 and said_memory):
        return "memory"
    return None


def encode_command(ffmpeg: str, source_path: str, source: Source, rung: Rung,
                   out_dir: str, max_dimension: int) -> list[str]:
    """One rung as HLS: H.264 (+ AAC when the source has audio), keyframes every
    segment so every rung switches at the same points. ffmpeg applies the rotation
    itself (autorotate), so the scale is to the display size. Output stops at the
    probed duration (plus a second): a file holding more than its header declares
    is not encoded past what the duration limit was checked against. A source faster
    than MAX_OUTPUT_FRAME_RATE is thinned by the fps filter first, so neither the
    scaler nor the encoder sees the frames it drops."""
    maxrate = int(rung.video_kbps * 1.07)
    fps = (f"fps={MAX_OUTPUT_FRAME_RATE},"
           if source.frame_rate > MAX_OUTPUT_FRAME_RATE else "")
    command = [
        ffmpeg, "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
        "-progress", "pipe:1", "-nostats", *input_options(max_dimension), "-i", source_path,
        "-t", f"{source.duration + 1:.3f}",
        "-map", "0:v:0", "-vf", f"{fps}scale={rung.width}:{rung.height},setsar=1",
        "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "main", "-level:v",
        rung.level, "-pix_fmt", "yuv420p", "-b:v", f"{rung.video_kbps}k",
        "-maxrate", f"{maxrate}k", "-bufsize", f"{rung.video_kbps * 2}k",
        "-force_key_frames", f"expr:gte(t,n_forced*{SEGMENT_SECONDS})",
        "-sc_threshold", "0",
    ]
    if source.has_audio:
        command += ["-map", "0:a:0", "-c:a", "aac", "-b:a", f"{rung.audio_kbps}k", "-ac", "2"]
    command += ["-f", "hls", "-hls_time", str(SEGMENT_SECONDS), "-hls_playlist_type", "vod",
                "-hls_segment_filename", f"{out_dir}/seg_%05d.ts", f"{out_dir}/index.m3u8"]
    return command


def thumbnail_command(ffmpeg: str, source_path: str, source: Source, out_path: str,
                      max_dimension: int) -> list[str]:
    """A JPEG a third of the way in (past black openings), 360 px on its short side."""
    width, height = source.display_size
    scale = "scale=-2:360" if width >= height else "scale=360:-2"
    return [ffmpeg, "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
            *input_options(max_dimension), "-ss", f"{source.duration / 3:.3f}",
            "-i", source_path, "-frames:v", "1",
            "-vf", scale, "-q:v", "4", out_path]


def progress_seconds(block: dict[str, str]) -> float | None:
    """Seconds of output written, from one block of `-progress` key=value lines."""
    for key in ("out_time_us", "out_time_ms"):  # both are microseconds, by ffmpeg's history
        value = block.get(key, "")
        if value.isdigit():
            return int(value) / 1_000_000
    return None


# A video media type, no parameters (RFC 6838's restricted name): it is signed into
# the upload URL and sent back as a header, where CR, LF or ';' have no business.
VIDEO_TYPE = re.compile(r"video/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,93}")


def upload_problems(*, title: object, filename: object, size: object, content_type: object,
                    max_bytes: int) -> dict[str, str]:
    """What is wrong with a video upload request, by field (empty when nothing)."""
    problems = {}
    # The database refuses NUL in text, and values past its column widths.
    if not isinstance(title, str) or not title.strip() or len(title) > 200 or "\x00" in title:
        problems["title"] = "a title of 1-200 characters is required"
    if (not isinstance(filename, str) or not filename.strip() or len(filename) > 255
            or "/" in filename or "\\" in filename or "\x00" in filename):
        problems["filename"] = "a file name of 1-255 characters without path separators"
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        problems["size"] = "the file's size in bytes, a positive whole number"
    elif size > max_bytes:
        problems["size"] = (f"{size} bytes is over the limit of {max_bytes} bytes "
                            f"({max_bytes / 2**30:.1f} GiB)")
    if not isinstance(content_type, str) or not VIDEO_TYPE.fullmatch(content_type):
        problems["content_type"] = "a video/* content type, such as video/mp4"
    return problems
