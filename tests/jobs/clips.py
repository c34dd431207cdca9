"""Test inputs made by the real ffmpeg (the imageio-ffmpeg wheel's): ffmpeg's own test
pattern and tone, a few seconds long, plus the broken files a user will upload."""

from __future__ import annotations

import subprocess
from pathlib import Path

from media_pipeline.videos.ffmpeg_binary import ffmpeg_binary


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_binary(), "-hide_banner", "-loglevel", "error", "-y", *args],
                   check=True, timeout=120)


def clip(path: Path, *, size: str = "640x360", seconds: float = 3, audio: bool = True,
         bitrate: str | None = None, rate: int = 25) -> Path:
    """H.264 (+ AAC) in MP4 with the index at the end, as cameras write it."""
    args = ["-f", "lavfi", "-i", f"testsrc=size={size}:rate={rate}:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    # A bitrate asks for bytes: the test pattern alone compresses to almost nothing.
    args += ["-vf", "noise=alls=60:allf=t+u", "-b:v", bitrate] if bitrate else []
    args += ["-c:a", "aac", "-shortest"] if audio else []
    ffmpeg(*args, str(path))
    return path


def rotated(source: Path, path: Path, degrees: int = 90) -> Path:
    """The same stream with a display matrix, as a phone held upright records it."""
    ffmpeg("-display_rotation:v:0", str(degrees), "-i", str(source), "-c", "copy", str(path))
    return path


def audio_only(path: Path) -> Path:
    ffmpeg("-f", "lavfi", "-i", "sine=duration=2", "-c:a", "aac", str(path))
    return path


def truncated(source: Path, path: Path) -> Path:
    data = source.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    return path


def text_file(path: Path) -> Path:
    path.write_text("These are meeting notes, not a video.\n" * 50)
    return path
