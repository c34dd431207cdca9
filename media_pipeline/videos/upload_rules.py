"""The rules of video upload grants, with no I/O: which uploads go in parts, the parts of
a multipart upload and whether storage holds exactly those, a user's storage quota, how
many uploads one user may have open at once, and which leftovers the sweep removes.

An upload grant is only as good as what storage checks: S3 signs each part's (and a
single PUT's) Content-Length into its presigned URL, but not every S3-compatible store
enforces it, so upload-complete checks again what storage holds before anything is
encoded or counted (actions.video_upload_complete).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta


def in_parts(size: int, *, backend: str, s3_threshold: int, part_bytes: int) -> bool:
    """Whether an upload of `size` bytes goes in parts. On S3 above `s3_threshold`: a
    dropped connection then costs a part, not the file. On the local backend above one
    part: the web process receives those bytes, and Daphne holds a request's whole body
    in memory, so no body it is sent may be larger than a part."""
    return size > (s3_threshold if backend == "s3" else part_bytes)


def part_sizes(size: int, part_bytes: int) -> list[int]:
    """The size of each part (1-based order) of a `size`-byte upload in parts."""
    count = math.ceil(size / part_bytes)
    return [min(part_bytes, size - index * part_bytes) for index in range(count)]


def part_problem(granted: list[int], sent: list[int], stored: dict[int, int]) -> str | None:
    """What is wrong with completing a multipart upload whose parts were granted with
    the sizes `granted`, when the client names the part numbers `sent` and storage
    holds `stored` (number -> bytes). None when it may be completed."""
    count = len(granted)
    if sorted(sent) != list(range(1, count + 1)):
        return (f"This upload has {count} part(s): send the ETag of each of parts 1-{count}, "
                f"once each.")
    for number, expected in enumerate(granted, start=1):
        held = stored.get(number)
        if held is None:
            return (f"Part {number} is not in storage: PUT it ({expected} bytes), then call "
                    f"upload-complete again.")
        if held != expected:
            return (f"Part {number} holds {held} bytes; {expected} were granted. PUT exactly "
                    f"{expected} bytes to that part's URL, then call upload-complete again.")
    return None


def amount(size: int) -> str:
    """Bytes for a person: 1.5 GiB, 20.0 MiB, 512 bytes."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


def quota_problem(*, used: int, size: int, quota: int) -> str | None:
    """Why a new upload of `size` bytes does not fit a quota of which `used` is taken."""
    if used + size <= quota:
        return None
    return (f"This video ({amount(size)}) does not fit your storage: your videos' originals "
            f"take {amount(used)} of your {amount(quota)} (VIDEO_QUOTA_BYTES). Delete videos "
            f"you no longer need, then upload again.")


def uploads_retry_after(started: list[datetime], *, now: datetime, grant_seconds: int,
                        limit: int) -> int | None:
    """None when one more upload may start, given the start times of the user's uploads
    still waiting for their bytes; else the seconds until enough of their grants expire
    (an upper bound: finishing one frees its place at once)."""
    live = sorted(start for start in started if start + timedelta(seconds=grant_seconds) > now)
    if len(live) < limit:
        return None
    frees_one = live[len(live) - limit] + timedelta(seconds=grant_seconds)
    return max(1, math.ceil((frees_one - now).total_seconds()))


def abandoned_before(now: datetime, *, grant_seconds: int, grace: timedelta) -> datetime:
    """Uploads started before this can no longer receive bytes: their grant expired, and
    `grace` more covers a PUT that began just before it did."""
    return now - timedelta(seconds=grant_seconds) - grace


def orphaned_uploads(uploads: list[tuple[str, str, datetime]], *, waiting: set[str],
                     now: datetime, age: timedelta) -> list[tuple[str, str]]:
    """(key, upload id) of the multipart uploads ((key, id, started at) each) started
    over `age` before `now` that no video waits for (`waiting`: their upload ids). The
    age covers a video whose row is written before its upload id."""
    return [(key, upload_id) for key, upload_id, started in uploads
            if upload_id not in waiting and started <= now - age]
