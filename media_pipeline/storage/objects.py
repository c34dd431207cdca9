"""Objects in storage: read, write, delete, list by prefix, presign a download.
Local disk or S3-compatible, as STORAGE_BACKEND says; each failure is a StorageError."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.files import File

from media_pipeline.storage.backend import default, object_key
from media_pipeline.storage.errors import MISSING, StorageError, code_of, logged, wrap
from media_pipeline.storage.local_uploads import CHUNK


def size(key: str) -> int:
    """The object's size (a HEAD); StorageError(missing=True) when it is not there."""
    key = object_key(key)
    try:
        return default().size(key)
    except (ClientError, BotoCoreError, OSError) as error:
        failure = wrap("head", key, error)
        if failure.missing and settings.STORAGE_BACKEND == "s3":
            _check_bucket(key)  # a HEAD cannot tell a missing key from a missing bucket
        raise failure from error


def _check_bucket(key: str) -> None:
    storage = default()
    try:
        storage.connection.meta.client.head_bucket(Bucket=storage.bucket_name)
    except ClientError as error:
        if code_of(error) in MISSING | {"NoSuchBucket"}:
            raise logged(StorageError("head", key, f"bucket {storage.bucket_name} does "
                                                   f"not exist", transient=False)) from error
        raise wrap("head", key, error) from error


def read_chunks(key: str, chunk: int = CHUNK) -> Iterator[bytes]:
    key = object_key(key)
    try:
        with default().open(key, "rb") as handle:
            while block := handle.read(chunk):
                yield block
    except (ClientError, BotoCoreError, OSError) as error:
        raise wrap("get", key, error) from error


def put(key: str, content) -> str:
    """Store a file-like object under `key` (overwriting); return the key."""
    try:
        default().save(object_key(key), content)
        return key
    except (ClientError, BotoCoreError, OSError) as error:
        raise wrap("put", key, error) from error


def delete(key: str) -> None:
    key = object_key(key)
    try:
        default().delete(key)
    except (ClientError, BotoCoreError, OSError) as error:
        raise wrap("delete", key, error) from error


def download(key: str, path: str) -> None:
    """Copy the object to a local file (S3: parallel ranged GETs)."""
    key = object_key(key)
    try:
        if settings.STORAGE_BACKEND == "s3":
            storage = default()
            storage.connection.meta.client.download_file(storage.bucket_name, key, path)
            return
        with default().open(key, "rb") as source, open(path, "wb") as target:
            shutil.copyfileobj(source, target, CHUNK)
    except (ClientError, BotoCoreError, OSError) as error:
        raise wrap("get", key, error) from error


def put_file(key: str, path: str, content_type: str) -> None:
    """Store a local file under `key` (S3: multipart above 8 MiB, by boto3)."""
    key = object_key(key)
    try:
        if settings.STORAGE_BACKEND == "s3":
            storage = default()
            storage.connection.meta.client.upload_file(
                path, storage.bucket_name, key, ExtraArgs={"ContentType": content_type})
            return
        with open(path, "rb") as handle:
            default().save(key, File(handle))
    except (ClientError, BotoCoreError, OSError) as error:
        raise wrap("put", key, error) from error


def open_file(key: str):
    """The object opened for reading (the caller closes it)."""
    key = object_key(key)
    try:
        return default().open(key, "rb")
    except (ClientError, BotoCoreError, OSError) as error:
        raise wrap("get", key, error) from error


def read_bytes(key: str) -> bytes:
    return b"".join(read_chunks(key))


def delete_prefix(prefix: str) -> int:
    """Delete every object whose key starts with `prefix` (a "folder/"); return how many."""
    prefix = object_key(prefix)
    try:
        if settings.STORAGE_BACKEND == "s3":
            storage = default()
            client = storage.connection.meta.client
            deleted = 0
            for page in client.get_paginator("list_objects_v2").paginate(
                    Bucket=storage.bucket_name, Prefix=prefix):
                keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
                if keys:
                    client.delete_objects(Bucket=storage.bucket_name,
                                          Delete={"Objects": keys, "Quiet": True})
                    deleted += len(keys)
            return deleted
        root = Path(default().path(prefix))
        if not root.exists():
            return 0
        deleted = sum(1 for item in root.rglob("*") if item.is_file())
        shutil.rmtree(root)
        return deleted
    except (ClientError, BotoCoreError, OSError) as error:
        raise wrap("delete", prefix, error) from error


def presigned_get(key: str, content_type: str | None = None) -> str:
    """A short-lived download URL (STORAGE_URL_EXPIRY_SECONDS), served as `content_type`."""
    parameters = {"ResponseContentType": content_type} if content_type else None
    key = object_key(key)
    try:
        return default().url(key, parameters=parameters) if parameters else default().url(key)
    except (ClientError, BotoCoreError) as error:
        raise wrap("presign", key, error) from error


def url_under(base: str, key: str) -> str:
    """The object's URL below `base`, a host that serves the bucket's keys as paths (a
    CDN in front of it, R2's public bucket URL): no signature, no expiry."""
    return f"{base.rstrip('/')}/{quote(object_key(key))}"
