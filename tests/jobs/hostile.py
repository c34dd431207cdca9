"""Hostile videos, made by code from tiny real clips: what an attacker uploads to make
the encoder read other files, call URLs, allocate gigabytes, spin, or crash.

Files that point elsewhere point at a `Bait`: a named pipe (opening it for reading is
recorded) and a local TCP listener (a connection is recorded), plus /etc/passwd.
`CORPUS` lists each file with the job error code it must end in.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
from collections.abc import Callable
from pathlib import Path

from tests.jobs import clips, mp4
from tests.jobs.clips import ffmpeg

TEN_HOURS = 36000.0
FOUR_HOURS = 14400.0  # VIDEO_MAX_DURATION_SECONDS' default: the duration alone passes


class Bait:
    """A local file and a URL that no upload may make Moa open; `touched` lists what
    was (the pipe opened for reading, a connection to the listener)."""

    def __init__(self, folder: Path):
        self.canary = folder / "canary"
        os.mkfifo(self.canary)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.touched: list[str] = []
        self.was_touched = threading.Event()  # set with the first entry of `touched`
        self.closing = False
        self.threads = [threading.Thread(target=self._watch_pipe, daemon=True),
                        threading.Thread(target=self._watch_port, daemon=True)]
        for thread in self.threads:
            thread.start()

    def _watch_pipe(self) -> None:
        with open(self.canary, "wb"):  # returns once a reader opens the other end
            if not self.closing:
                self.touched.append(f"{self.canary} was opened")
                self.was_touched.set()

    def _watch_port(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:  # closed by close()
                return
            connection.close()
            self.touched.append(f"{self.url} got a connection")
            self.was_touched.set()

    def close(self) -> None:
        self.closing = True
        # Open the reading end ourselves, so the pipe's watcher stops waiting.
        os.close(os.open(self.canary, os.O_RDONLY | os.O_NONBLOCK))
        self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() (close alone does not)
        self.listener.close()
        for thread in self.threads:
            thread.join(timeout=5)


def base_clip(folder: Path) -> Path:
    """64x64, one second, H.264 + AAC, moov at the end: what the forgeries start from."""
    path = folder / "base.mp4"
    if not path.exists():
        clips.clip(path, size="64x64", seconds=1)
    return path


def forged(folder: Path, name: str, change: Callable[[mp4.Movie], None]) -> Path:
    movie = mp4.Movie.read(base_clip(folder).read_bytes())
    change(movie)
    path = folder / name
    path.write_bytes(movie.encode())
    return path


def hls_playlist(folder: Path, bait: Bait) -> Path:
    path = folder / "playlist.mp4"
    path.write_text("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n"
                    "#EXT-X-MEDIA-SEQUENCE:0\n"
                    f"#EXTINF:1.0,\n{bait.url}/segment0.ts\n"
                    f"#EXTINF:1.0,\n{bait.canary}\n"
                    "#EXTINF:1.0,\n/etc/passwd\n#EXT-X-ENDLIST\n")
    return path


def dash_manifest(folder: Path, bait: Bait) -> Path:
    path = folder / "manifest.mp4"
    representations = "".join(
        f'<Representation id="{number}" bandwidth="1000" width="64" height="64" '
        f'codecs="avc1.42c00a"><BaseURL>{target}</BaseURL></Representation>'
        for number, target in enumerate((bait.url + "/video.mp4", bait.canary, "/etc/passwd")))
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" '
        'mediaPresentationDuration="PT2S" minBufferTime="PT1S" '
        'profiles="urn:mpeg:dash:profile:isoff-on-demand:2011"><Period>'
        f'<AdaptationSet mimeType="video/mp4">{representations}</AdaptationSet>'
        '</Period></MPD>\n')
    return path


def concat_list(folder: Path, bait: Bait) -> Path:
    path = folder / "list.mp4"
    path.write_text(f"ffconcat version 1.0\nfile {bait.url}/part.mp4\nfile {bait.canary.name}\n"
                    f"file {bait.canary}\nfile /etc/passwd\n")
    return path


def matroska_claiming(folder: Path, seconds: float, name: str,
                      source: str = "testsrc=size=64x64:rate=25:duration=3") -> Path:
    """A short Matroska file of `source` (a lavfi graph) whose Duration element says
    `seconds`."""
    path = folder / name
    ffmpeg("-f", "lavfi", "-i", source, "-c:v", "libx264", "-preset", "ultrafast",
           "-pix_fmt", "yuv420p", str(path))
    data = path.read_bytes()
    at = data.find(b"\x44\x89\x88")  # Duration, an 8-byte float in TimecodeScale units (ms)
    if at < 0:
        raise ValueError("no 8-byte Duration element in the Matroska file")
    path.write_bytes(data[:at + 3] + struct.pack(">d", seconds * 1000) + data[at + 11:])
    return path


def resolution_switch(folder: Path) -> Path:
    """Matroska: one second at 64x64, then a new SPS declaring 16384x8192 for 3 s. The
    probe reads the first; ffmpeg meets the second mid-stream. Without max_pixels this
    56 KB file costs ffmpeg 1.5 GB and 32 CPU-s per rung (measured); with it, 0.2 s."""
    first, second = folder / "first.h264", folder / "second.h264"
    for path, seconds in ((first, 1), (second, 3)):
        ffmpeg("-f", "lavfi", "-i", f"testsrc=size=64x64:rate=25:duration={seconds}",
               "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-f", "h264",
               str(path))
    stream = second.read_bytes()
    start = stream.find(b"\x00\x00\x00\x01\x67")  # the SPS NAL unit
    end = stream.find(b"\x00\x00\x00\x01", start + 4)
    joined = folder / "switch.h264"
    joined.write_bytes(first.read_bytes() + stream[:start + 4]
                       + mp4.resize_sps(stream[start + 4:end], 16384, 8192) + stream[end:])
    path = folder / "switch.mp4"
    ffmpeg("-f", "h264", "-framerate", "25", "-i", str(joined), "-c", "copy", "-f", "matroska",
           str(path))
    return path


def corpus(folder: Path, bait: Bait) -> dict[str, tuple[Path, str]]:
    """name -> (file, the error code its encode job must fail with)."""
    return {
        "text": (clips.text_file(folder / "notes.mp4"), "INPUT_INVALID"),
        "truncated": (clips.truncated(clips.clip(folder / "whole.mp4", size="64x64",
                                                 seconds=2), folder / "cut.mp4"),
                      "INPUT_INVALID"),
        "hls": (hls_playlist(folder, bait), "INPUT_INVALID"),
        "dash": (dash_manifest(folder, bait), "INPUT_INVALID"),
        "concat": (concat_list(folder, bait), "INPUT_INVALID"),
        # Over FFmpeg's own limit ((w+128)*(h+128)*8 < 2^31): its SPS parser refuses the
        # size, and PyAV and ffmpeg both report the stream without one.
        "sps-16384x16384": (forged(folder, "huge.mp4", lambda movie: mp4.set_dimensions(
            movie, 16384, 16384)), "INPUT_INVALID"),
        # The largest FFmpeg decodes: 200 MB a frame. Refused before a frame is decoded.
        "sps-16384x8192": (forged(folder, "wide.mp4", lambda movie: mp4.set_dimensions(
            movie, 16384, 8192)), "INPUT_TOO_LARGE"),
        "ten-hours-mp4": (forged(folder, "ten-hours.mp4", lambda movie: (
            mp4.stretch_last_sample(movie, TEN_HOURS))), "INPUT_TOO_LONG"),
        "ten-hours-mkv": (matroska_claiming(folder, TEN_HOURS, "ten-hours.mkv"),
                          "INPUT_TOO_LONG"),
        # The review's clip: 8K gray frames at 60 fps, a few bytes each, for the longest
        # duration allowed. It cost ~40 CPU-hours; now refused before encoding.
        "8k60-gray-4h": (matroska_claiming(folder, FOUR_HOURS, "gray.mkv", (
            "color=gray:size=7680x4320:rate=60:duration=0.5")), "INPUT_TOO_LARGE"),
        "300-fps": (clips.clip(folder / "fast.mp4", size="64x64", seconds=0.5, audio=False,
                               rate=300), "INPUT_TOO_LARGE"),
        # 40M one-byte samples: an index of ~1 GB from a few header bytes. The probe's
        # memory limit refuses the allocation, FFmpeg builds no index: no frame to read.
        "40M-samples": (forged(folder, "samples.mp4", lambda movie: mp4.declare_samples(
            movie, 40_000_000)), "INPUT_INVALID"),
        "100k-tracks": (forged(folder, "tracks.mp4", lambda movie: mp4.many_tracks(
            movie, 100_000)), "INPUT_TOO_COMPLEX"),
        # ffmpeg refuses the large frames (max_pixels): only the first second is encoded.
        "resolution-switch": (resolution_switch(folder), "INPUT_INVALID"),
    }
