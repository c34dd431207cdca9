"""Uploads straight to storage, as S3 takes them: a presigned PUT, or a multipart
upload with a presigned URL per part. The local backend imitates both with Moa's own
signed, expiring upload URL (local_uploads.py), so callers need not know which runs."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core import signing

from media_pipeline.storage import local_uploads
from media_pipeline.storage.backend import default, is_local, local_root, moa_key, object_key
from media_pipeline.storage.errors import wrap

LOCAL_UPLOAD_SALT = "moa.storage.local-upload"


def multipart_start(key: str, *, content_type: str) -> str:
    """Open a multipart upload; return its upload id."""
    key = object_key(key)
    storage = default()
    try:
        if is_local():
            return local_uploads.start(local_root(), key)
        return storage.connection.meta.client.create_multipart_upload(
            Bucket=storage.bucket_name, Key=key, ContentType=content_type)["UploadId"]
    except (ClientError, BotoCoreError, OSError) as error:
        raise wrap("multipart start", key, error) from error


def multipart_part_urls(key: str, upload_id: str, sizes: list[int]) -> list[str]:
    """A presigned PUT URL per part (1-based; a failed part is retried alone), each with
    its part's size signed in (Content-Length is a signed header: S3 refuses a PUT of
    another size; the local upload URL signs the size and refuses any other)."""
    if is_local():  # the grant keeps Moa's key: local_upload_receive places it
        return [_local_upload_url({"key": key, "upload": upload_id, "part": number,
                                   "size": size})
                for number, size in enumerate(sizes, start=1)]
    storage = default()
    client = storage.connection.meta.client
    key = object_key(key)
    try:
        return [client.generate_presigned_url(
            "upload_part", Params={"Bucket": storage.bucket_name, "Key": key,
                                   "UploadId": upload_id, "PartNumber": number,
                                   "ContentLength": size},
            ExpiresIn=settings.STORAGE_URL_EXPIRY_SECONDS, HttpMethod="PUT")
            for number, size in enumerate(sizes, start=1)]
    except (ClientError, BotoCoreError) as error:
        raise wrap("presign", key, error) from error


def multipart_parts(key: str, upload_id: str) -> dict[int, int]:
    """Part number -> bytes of what storage holds for an unfinished multipart upload."""
    key = object_key(key)
    try:
        if is_local():
            return local_uploads.parts(local_root(), key, upload_id)
        storage = default()
        paginator = storage.connection.meta.client.get_paginator("list_parts")
        return {part["PartNumber"]: part["Size"]
                for page in paginator.paginate(Bucket=storage.bucket_name, Key=key,
                                               UploadId=upload_id)
                for part in page.get("Parts", [])}
    except (ClientError, BotoCoreError, OSError, local_uploads.Refused) as error:
        raise wrap("multipart list parts", key, error) from error


def multipart_uploads(prefix: str) -> list[tuple[str, str, datetime]]:
    """(key, upload id, started at) of every unfinished multipart upload under `prefix`
    (locally: last changed, local_uploads.uploads)."""
    prefix = object_key(prefix)
    try:
        if is_local():
            return [(moa_key(key), upload_id, started) for key, upload_id, started
                    in local_uploads.uploads(local_root(), prefix)]
        storage = default()
        paginator = storage.connection.meta.client.get_paginator("list_multipart_uploads")
        return [(moa_key(upload["Key"]), upload["UploadId"], upload["Initiated"])
                for page in paginator.paginate(Bucket=storage.bucket_name, Prefix=prefix)
                for upload in page.get("Uploads", [])]
    except (ClientError, BotoCoreError, OSError) as error:
        raise wrap("multipart list uploads", prefix, error) from error


def multipart_complete(key: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
    """Join the uploaded parts ((number, ETag) each) into the object (locally a
    streaming copy of every byte: seconds for a large file)."""
    key = object_key(key)
    try:
        if is_local():
            local_uploads.complete(local_root(), key, upload_id, parts,
                                   Path(default().path(key)))
            return
        storage = default()
        storage.connection.meta.client.complete_multipart_upload(
            Bucket=storage.bucket_name, Key=key, UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": number, "ETag": etag}
                                       for number, etag in parts]})
    except (ClientError, BotoCoreError, OSError, local_uploads.Refused) as error:
        raise wrap("multipart complete", key, error) from error


def multipart_abort(key: str, upload_id: str) -> None:
    """Drop an unfinished multipart upload and the parts storage keeps (S3 bills them)."""
    key = object_key(key)
    try:
        if is_local():
            local_uploads.abort(local_root(), key, upload_id)
            return
        storage = default()
        storage.connection.meta.client.abort_multipart_upload(
            Bucket=storage.bucket_name, Key=key, UploadId=upload_id)
    except (ClientError, BotoCoreError, OSError, local_uploads.Refused) as error:
        raise wrap("multipart abort", key, error) from error


def presigned_put(key: str, *, content_type: str, size_bytes: int) -> dict:
    """Where and how a browser uploads `key` directly: S3's presigned PUT, or Moa's
    signed, expiring local upload URL that imitates it."""
    if settings.STORAGE_BACKEND == "s3":
        storage = default()
        try:
            url = storage.connection.meta.client.generate_presigned_url(
                "put_object",
                Params={"Bucket": storage.bucket_name, "Key": object_key(key),
                        "ContentType": content_type, "ContentLength": size_bytes},
                ExpiresIn=settings.STORAGE_URL_EXPIRY_SECONDS, HttpMethod="PUT")
        except (ClientError, BotoCoreError) as error:
            raise wrap("presign", key, error) from error
    else:
        url = _local_upload_url({"key": key, "size": size_bytes})
    return {"method": "PUT", "url": url, "headers": {"Content-Type": content_type}}


def _local_upload_url(grant: dict) -> str:
    """Moa's signed path for one PUT: of an object (key, size) or of a part (key,
    upload, part, size)."""
    return f"/api/v1/storage/upload/{signing.dumps(grant, salt=LOCAL_UPLOAD_SALT)}/"


def local_upload_grant(token: str) -> dict:
    """What a local upload URL allows (_local_upload_url); BadSignature when forged or
    expired."""
    return signing.loads(token, salt=LOCAL_UPLOAD_SALT,
                         max_age=settings.STORAGE_URL_EXPIRY_SECONDS)


def local_upload_receive(grant: dict, body) -> str:
    """Store the body of a local upload URL's PUT, streamed to disk: the object, or a
    part of a multipart upload. Return the ETag S3 would answer (the quoted MD5 of the
    bytes). local_uploads.SizeMismatch, nothing stored, when the body is not exactly the
    grant's size; StorageError with code NoSuchUpload for a part of an upload
    completed or aborted."""
    key = object_key(grant["key"])
    try:
        if "part" in grant:
            return local_uploads.put_part(local_root(), key, grant["upload"], grant["part"],
                                          body, grant["size"])
        return local_uploads.put_object(Path(default().path(key)), body, grant["size"])
    except (OSError, local_uploads.Refused) as error:
        raise wrap("put", key, error) from error
