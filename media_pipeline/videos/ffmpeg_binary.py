"""Which ffmpeg Moa runs: FFMPEG_BINARY, or the one shipped in the imageio-ffmpeg wheel."""

import subprocess

from django.conf import settings


class FfmpegUnavailable(Exception):
    """ffmpeg is missing or does not run; the message names FFMPEG_BINARY."""


def ffmpeg_binary() -> str:
    if settings.FFMPEG_BINARY:
        return settings.FFMPEG_BINARY
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg_version() -> str:
    """The first line of `ffmpeg -version`, or FfmpegUnavailable saying what to fix."""
    try:
        binary = ffmpeg_binary()
        completed = subprocess.run(  # noqa: S603 (the operator's configured binary)
            [binary, "-hide_banner", "-version"], capture_output=True, timeout=20, check=True,
        )
    except (OSError, RuntimeError, subprocess.SubprocessError) as error:
        raise FfmpegUnavailable(
            f"ffmpeg does not run ({error}); set FFMPEG_BINARY to a working ffmpeg"
        ) from error
    return completed.stdout.decode(errors="replace").splitlines()[0]
