"""What browsers are told Moa's pages may do: the Content-Security-Policy and the
Permissions-Policy (docs/pages.md explains each source).

The pages load only their own scripts and styles (ES modules in static/moa/, hls.js
vendored): no inline script, no style attribute in markup, no eval. Scripts change
styles through CSSOM (`element.style.x = ...`), which style-src does not govern, so
style-src needs no 'unsafe-inline' either. The Django admin of Django 5.2 follows the
same rules (its constants travel in data- attributes), so it needs no exception.

Beyond 'self', the pages reach only the object storage: a browser PUTs an upload
straight to a presigned URL, and hls.js (or Safari's own player) follows Moa's
redirects of segments to presigned GETs. hls.js plays through MediaSource (a blob:
URL for the video element) and transmuxes MPEG-TS in a worker it starts from a blob:
URL. WebSockets go to the page's own host: CSP Level 3 counts ws:/wss: of that host
as 'self' (current Chromium, Firefox and Safari).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

SELF = "'self'"
NONE = "'none'"

# A bucket name boto3 may put in the host name ("auto" addressing style); others go
# in the path, as with every custom endpoint (Moa sets addressing_style "path" there).
_VIRTUAL_HOSTABLE = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


def storage_sources(*, backend: str, bucket: str | None, endpoint_url: str | None,
                    region: str | None, cdn_base_url: str = "") -> list[str]:
    """CSP sources of the presigned URLs browsers use, and of the CDN that serves video
    segments when VIDEO_CDN_BASE_URL is set; none for local storage (Moa itself serves
    its uploads and segments there).

    A path-style source names the bucket's folder (`https://host/bucket/`), so a page
    cannot send data to another bucket of the same endpoint. CSP ignores the path after
    a redirect, which is how segments arrive: there the origin is what matches."""
    if backend != "s3" or not bucket:
        return []
    if cdn_base_url:
        cdn = urlsplit(cdn_base_url)
        return [*storage_sources(backend=backend, bucket=bucket, endpoint_url=endpoint_url,
                                 region=region),
                f"{cdn.scheme}://{cdn.netloc}{cdn.path.rstrip('/')}/"]
    if endpoint_url:
        parts = urlsplit(endpoint_url)
        prefix = parts.path.rstrip("/")
        return [f"{parts.scheme}://{parts.netloc}{prefix}/{bucket}/"]
    regional = [region] if region and region != "auto" else []
    if _VIRTUAL_HOSTABLE.match(bucket):
        # boto3 signs for the global host name; S3 may redirect to the regional one
        # while a new bucket's DNS settles.
        return [f"https://{host}" for host in (
            f"{bucket}.s3.amazonaws.com",
            *(f"{bucket}.s3.{name}.amazonaws.com" for name in regional))]
    return [f"https://{host}/{bucket}/" for host in (
        "s3.amazonaws.com", *(f"s3.{name}.amazonaws.com" for name in regional))]


def content_security_policy(storage: list[str]) -> dict:
    """django-csp 4's CONTENT_SECURITY_POLICY setting, with `storage` from
    storage_sources()."""
    return {"DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "connect-src": [SELF, *storage],
        "media-src": [SELF, "blob:", *storage],
        "worker-src": [SELF, "blob:"],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }}


# Only what the video player offers stays allowed, for Moa's own pages; every other
# powerful feature is off for them and for anything they might ever embed.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    "autoplay": ["self"],  # the player starts a video as soon as it is playable
    "fullscreen": ["self"],  # the player's full-screen button
    "picture-in-picture": ["self"],  # the player's picture-in-picture button
    **{feature: [] for feature in (
        "accelerometer", "bluetooth", "browsing-topics", "camera", "clipboard-read",
        "clipboard-write", "display-capture", "encrypted-media", "gamepad", "geolocation",
        "gyroscope", "hid", "identity-credentials-get", "idle-detection", "local-fonts",
        "magnetometer", "microphone", "midi", "otp-credentials", "payment",
        "publickey-credentials-create", "publickey-credentials-get", "screen-wake-lock",
        "serial", "storage-access", "usb", "web-share", "window-management",
        "xr-spatial-tracking",
    )},
}
