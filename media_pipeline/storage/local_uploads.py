"""Uploads to the local backend as S3 takes them: one PUT, or a multipart upload.

The web process receives these bytes itself, and Daphne puts a request's whole body in
memory before Moa reads a byte of it; so large files come in parts, and no body is
larger than one part (upload_rules.in_parts).

Layout under the storage root, in a folder no key can name:
    .multipart/<key, %-quoted>/<upload id>/<part number, 5 digits>.<MD5 hex>
A body is streamed to a hidden file beside its destination and renamed into place only
when it holds exactly its granted size, so what is stored is always whole. A part's
name carries its ETag (the MD5 of its bytes, as S3's), and sending a part again removes
its earlier version: a part takes at most one part's room however often it is sent.
Completing joins the parts the client names by ETag, in order, into a hidden file
renamed onto the object (never a half-written object), then removes the folder.

Refusals raise Refused with the code S3 answers in the same case (NoSuchUpload,
InvalidPart, InvalidPartOrder); disk failures raise OSError. Plain paths in and out.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, unquote

CHUNK = 1024 * 1024
STAGING = ".multipart"
UPLOAD_ID = re.compile(r"[0-9a-f]{32}")
MD5 = re.compile(r"[0-9a-f]{32}")


class Refused(Exception):
    """What S3 would refuse, with S3's error code."""

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code


class SizeMismatch(Exception):
    """A body of another length than its grant; nothing was stored."""

    def __init__(self, expected: int, received: int | None):
        got = "more" if received is None else received
        super().__init__(f"Expected {expected} bytes, got {got}.")


def receive(body, directory: Path, size: int) -> tuple[Path, str]:
    """Stream exactly `size` bytes of `body` (anything with read(n)) into a new hidden
    file in `directory`; return its path and the MD5 hex of its bytes. SizeMismatch,
    and no file left, when the body is shorter or longer."""
    spool = directory / f".{uuid.uuid4().hex}.receiving"
    digest, received = hashlib.md5(usedforsecurity=False), 0
    try:
        with open(spool, "xb") as target:
            while block := body.read(CHUNK):
                received += len(block)
                if received > size:
                    raise SizeMismatch(size, None)
                target.write(block)
                digest.update(block)
        if received != size:
            raise SizeMismatch(size, received)
    except BaseException:
        spool.unlink(missing_ok=True)
        raise
    return spool, digest.hexdigest()


def put_object(path: Path, body, size: int) -> str:
    """A single PUT: the object at `path` replaced by exactly `size` bytes of `body`;
    its ETag."""
    path.parent.mkdir(parents=True, exist_ok=True)
    spool, md5 = receive(body, path.parent, size)
    os.replace(spool, path)
    return f'"{md5}"'


def start(root: Path, key: str) -> str:
    """Open a multipart upload of `key`; its upload id."""
    upload_id = uuid.uuid4().hex
    (root / STAGING / _quoted(key) / upload_id).mkdir(parents=True)
    return upload_id


def put_part(root: Path, key: str, upload_id: str, number: int, body, size: int) -> str:
    """Store part `number` (exactly `size` bytes of `body`), replacing an earlier
    version of it; its ETag. Refused(NoSuchUpload) once the upload is completed or
    aborted."""
    folder = _folder(root, key, upload_id)
    spool, md5 = receive(body, folder, size)
    name = f"{number:05d}.{md5}"
    os.replace(spool, folder / name)
    for older in folder.glob(f"{number:05d}.*"):
        if older.name != name:
            older.unlink(missing_ok=True)
    return f'"{md5}"'


def parts(root: Path, key: str, upload_id: str) -> dict[int, int]:
    """Part number -> bytes stored, of an unfinished upload."""
    return {int(path.name[:5]): path.stat().st_size
            for path in sorted(_folder(root, key, upload_id).iterdir())
            if _part_name(path.name)}


def uploads(root: Path, prefix: str) -> list[tuple[str, str, datetime]]:
    """(key, upload id, last changed) of every unfinished upload of a key under
    `prefix`. The time is the folder's last change (its start or its latest part), so
    an upload still receiving parts never looks old."""
    staging = root / STAGING
    if not staging.is_dir():
        return []
    found = []
    for key_folder in sorted(staging.iterdir()):
        key = unquote(key_folder.name)
        if not key.startswith(prefix):
            continue
        try:
            for folder in sorted(key_folder.iterdir()):
                if UPLOAD_ID.fullmatch(folder.name):
                    changed = datetime.fromtimestamp(folder.stat().st_mtime, UTC)
                    found.append((key, folder.name, changed))
        except FileNotFoundError:  # completed or aborted meanwhile
            continue
    return found


def complete(root: Path, key: str, upload_id: str, sent: list[tuple[int, str]],
             target: Path) -> None:
    """Join the parts named by (number, ETag), in ascending order, into the object at
    `target`; then remove the upload. The sizes are the caller's to check first
    (upload_rules.part_problem), as S3 knows nothing of granted sizes."""
    folder = _folder(root, key, upload_id)
    numbers = [number for number, _ in sent]
    if numbers != sorted(set(numbers)):
        raise Refused("InvalidPartOrder", "parts must be listed in ascending order, once each")
    paths = []
    for number, etag in sent:
        md5 = etag.strip('"')
        if not MD5.fullmatch(md5) or not (folder / f"{number:05d}.{md5}").is_file():
            raise Refused("InvalidPart", f"part {number} with ETag {etag[:40]!r} is not stored")
        paths.append(folder / f"{number:05d}.{md5}")
    joined = folder / f".{uuid.uuid4().hex}.joining"
    try:
        with open(joined, "xb") as out:
            for path in paths:
                with open(path, "rb") as part:
                    shutil.copyfileobj(part, out, CHUNK)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(joined, target)
    except BaseException:
        joined.unlink(missing_ok=True)
        raise
    _remove(folder)


def abort(root: Path, key: str, upload_id: str) -> None:
    """Remove an unfinished upload and its parts."""
    _remove(_folder(root, key, upload_id))


def _quoted(key: str) -> str:
    name = quote(key, safe="")
    if name in ("", ".", ".."):
        raise ValueError(f"not an object key: {key!r}")
    return name


def _folder(root: Path, key: str, upload_id: str) -> Path:
    folder = root / STAGING / _quoted(key) / upload_id
    if not UPLOAD_ID.fullmatch(upload_id) or not folder.is_dir():
        raise Refused("NoSuchUpload", f"no upload {upload_id[:40]!r} of this key: "
                                      f"completed, aborted or never started")
    return folder


def _part_name(name: str) -> bool:
    number, _, md5 = name.partition(".")
    return len(number) == 5 and number.isdigit() and bool(MD5.fullmatch(md5))


def _remove(folder: Path) -> None:
    """The upload's folder, then its key's folder if no other upload of the key is left."""
    shutil.rmtree(folder)
    try:
        folder.parent.rmdir()
    except OSError as error:
        if error.errno not in (errno.ENOTEMPTY, errno.ENOENT):
            raise
