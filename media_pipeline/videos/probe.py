"""The video probe, a child process under the sandbox's limits (never imported by the
worker, never importing Django):

    python -m media_pipeline.videos.probe --max-dimension 7680 <path>

prints one JSON object: `{"source": {width, height, rotation, duration, has_audio,
frame_rate}}`
or `{"refused": "not_video" | "unreadable" | "too_large" | "too_complex", "reason": ...}`.

PyAV reads the file with FFmpeg's libraries in this process, so a forged header or a
decoder bug costs this child, not the worker. Only the demuxers of ladder.DEMUXERS
and the file protocol are allowed: a playlist, manifest or concat list renamed .mp4
cannot make FFmpeg open another file or a URL. The declared frame size is checked
before this process decodes a frame, and no decoder here (find_stream_info's
included) may allocate a frame over the limit's area (max_pixels).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

import av
import av.logging

from media_pipeline.sandbox import python_child_main
from media_pipeline.videos import ladder


class Refused(Exception):
    def __init__(self, kind: str, reason: str):
        super().__init__(reason)
        self.kind, self.reason = kind, reason


def probe(path: str, max_dimension: int) -> ladder.Source:
    """What the encoder needs to know of the file; Refused with a reason otherwise."""
    pixels = {"max_pixels": str(ladder.max_pixels(max_dimension))}
    with av.logging.Capture() as logs:
        try:
            with av.open(path, metadata_errors="ignore", options=pixels, container_options={
                    "format_whitelist": ",".join(ladder.DEMUXERS),
                    "protocol_whitelist": "file"}) as container:
                return _read(container, max_dimension, pixels)
        except av.FFmpegError as error:
            raise _refusal(error, logs) from error
        except (UnicodeDecodeError, ValueError) as error:
            raise Refused("unreadable", f"the file cannot be read as a video ({error})"
                          ) from error


def _refusal(error: av.FFmpegError, logs: list[tuple[int, str, str]]) -> Refused:
    """What FFmpeg's failure means for a person, in FFmpeg's own last words."""
    said = "; ".join(dict.fromkeys(message.strip() for _, _, message in logs[-2:])) or (
        getattr(error, "strerror", None) or str(error))
    if isinstance(error, av.error.MemoryError):  # an FFmpeg ENOMEM, not a Python one
        return Refused("too_complex", f"FFmpeg could not allocate what the file asks for "
                                      f"({said})")
    if "not on whitelist" in said:
        name = (logs[-1][1] if logs else "") or "unknown"  # the demuxer that refused
        return Refused("unreadable", f"its format ({name}) is not one Moa reads: upload the "
                                     f"video file itself (MP4/MOV, MKV/WebM, AVI, "
                                     f"MPEG-TS/PS, FLV, WMV, Ogg)")
    return Refused("unreadable", f"the file cannot be read as a video ({said})")


def _read(container, max_dimension: int, pixels: dict) -> ladder.Source:
    if not container.streams.video:
        kinds = sorted({s.type for s in container.streams}) or ["no streams"]
        raise Refused("not_video", f"the file has no video stream ({', '.join(kinds)})")
    stream = container.streams.video[0]  # the one ffmpeg encodes (-map 0:v:0)
    width, height = stream.codec_context.width, stream.codec_context.height
    problem = ladder.size_problem(width, height, max_dimension)
    if problem:
        raise Refused("too_large", problem)
    if not width or not height:
        raise Refused("unreadable", "the video stream declares no frame size FFmpeg accepts "
                                    "(a damaged or forged header)")
    duration = _duration(container, stream)
    frame_rate = _frame_rate(stream)
    stream.codec_context.options = pixels
    rotation = 0
    for frame in container.decode(stream):  # the display matrix rides on frames
        rotation = round(getattr(frame, "rotation", 0) or 0)
        break
    else:
        raise Refused("unreadable", "the video stream has no decodable frame")
    return ladder.Source(width=width, height=height, rotation=rotation, duration=duration,
                         has_audio=bool(container.streams.audio), frame_rate=frame_rate)


def _frame_rate(stream) -> float:
    """Frames per second on average (what the encoder will decode), else the rate
    FFmpeg guesses from the timestamps. A file that lies runs into the CPU limit."""
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate and rate > 0:
            return float(rate)
    raise Refused("unreadable", "the video stream declares no frame rate (a damaged or "
                                "forged header)")


def _duration(container, stream) -> float:
    if container.duration:
        return container.duration / av.time_base
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    raise Refused("unreadable", "the file does not say how long it is (truncated or still "
                                "being written?)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m media_pipeline.videos.probe")
    parser.add_argument("--max-dimension", type=int, required=True)
    parser.add_argument("path")
    options = parser.parse_args(argv)
    av.logging.set_level(av.logging.ERROR)  # so an FFmpegError carries FFmpeg's words
    try:
        answer = {"source": asdict(probe(options.path, options.max_dimension))}
    except Refused as refused:
        answer = {"refused": refused.kind, "reason": refused.reason}
    sys.stdout.write(json.dumps(answer))
    return 0


if __name__ == "__main__":
    python_child_main(main)
