"""Playback URLs of encoded videos: signed, expiring, one per video.

A player (hls.js, Safari, a native app) fetches the master playlist, then media
playlists and segments by relative URL, without credentials. So the HLS URL carries a
signed token for its video in its path, and every file under it resolves below that
path: no playlist rewriting, whatever the storage. Segments are redirected to a fresh
presigned URL (S3) or streamed (local disk), so a paused player's URLs never go stale
before the token does (VIDEO_PLAYBACK_URL_SECONDS).

With VIDEO_CDN_BASE_URL, segments and thumbnails redirect to the CDN instead (the
bucket's key as the path, no signature): the CDN caches the heavy bytes near players.
The playlists stay here behind the token, so a player still needs a live token to
learn a video's segment names; but a segment URL, once known, works for anyone and
for ever (no expiry, no revocation when a member leaves): the CDN must serve the bucket
publicly (R2's public bucket, a CloudFront origin) or check its own signatures, which
Moa does not issue (signed cookies or URLs are out of scope). Unset, every URL Moa gives
out expires.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core import signing

SALT = "moa.video.playback"
# What may be asked for under a video's HLS path; anything else is a 404.
FILE_NAME = re.compile(r"^(master\.m3u8|thumbnail\.jpg|\d{2,4}p/(index\.m3u8|seg_\d{5}\.ts))$")
CONTENT_TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t",
                 ".jpg": "image/jpeg"}


def hls_base(video_id) -> str:
    token = signing.dumps(str(video_id), salt=SALT, compress=True)
    return f"/api/v1/videos/{video_id}/hls/{token}/"


def token_allows(token: str, video_id) -> bool:
    try:
        signed = signing.loads(token, salt=SALT, max_age=settings.VIDEO_PLAYBACK_URL_SECONDS)
    except signing.BadSignature:  # forged, for another purpose, or expired
        return False
    return signed == str(video_id)


def content_type(name: str) -> str:
    return CONTENT_TYPES[name[name.rindex("."):]]
