"""The HLS playlists with no I/O: reading a rendition's media playlist, its bandwidth,
and the master playlist over the renditions published so far (RFC 8216)."""

from __future__ import annotations

from dataclasses import dataclass

from media_pipeline.videos.ladder import Rung


def segment_bandwidth(segments: list[tuple[float, int]]) -> tuple[int, int]:
    """(peak, average) bits per second of a rendition, from (seconds, bytes) per
    segment: what BANDWIDTH and AVERAGE-BANDWIDTH must say (RFC 8216 4.3.4.2)."""
    rates = [size * 8 / seconds for seconds, size in segments if seconds > 0]
    total_seconds = sum(seconds for seconds, _ in segments)
    if not rates or total_seconds <= 0:
        return 0, 0
    average = sum(size for _, size in segments) * 8 / total_seconds
    return int(max(rates)), int(average)


def parse_media_playlist(text: str) -> list[tuple[float, str]]:
    """(duration, uri) of each segment of a media playlist."""
    segments, duration = [], None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#EXTINF:"):
            duration = float(line[len("#EXTINF:"):].split(",")[0])
        elif line and not line.startswith("#") and duration is not None:
            segments.append((duration, line))
            duration = None
    return segments


@dataclass(frozen=True)
class Rendition:
    rung: Rung
    peak_bps: int
    average_bps: int
    audio: bool

    def as_json(self) -> dict:
        return {"name": self.rung.name, "width": self.rung.width, "height": self.rung.height,
                "bandwidth": self.peak_bps, "average_bandwidth": self.average_bps,
                "codecs": self.codecs}

    @property
    def codecs(self) -> str:
        return f"{self.rung.codecs},mp4a.40.2" if self.audio else self.rung.codecs


def master_playlist(renditions: list[Rendition]) -> str:
    """The master playlist over the renditions published so far, lowest first."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for rendition in sorted(renditions, key=lambda r: r.rung.height * r.rung.width):
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={rendition.peak_bps},"
            f"AVERAGE-BANDWIDTH={rendition.average_bps},"
            f"RESOLUTION={rendition.rung.width}x{rendition.rung.height},"
            f'CODECS="{rendition.codecs}"')
        lines.append(f"{rendition.rung.name}/index.m3u8")
    return "\n".join(lines) + "\n"
