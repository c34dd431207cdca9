"""The one door to object storage: local disk or S3-compatible, chosen by STORAGE_BACKEND.
The local backend imitates S3's presigned PUTs and multipart uploads
(media_pipeline/local_uploads.py), so callers need not know which one runs.

Every failure becomes a StorageError naming the operation, the bucket and the key, and
saying whether retrying can help (a timeout can; wrong credentials or a missing
bucket cannot). Nothing here swallows an error: callers turn it into a 503 with a
detail, or a FAILED job with an error_message, and it is logged with bucket and key.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core import signing
from django.core.files import File
from django.core.files.storage import storages

from media_pipeline import local_uploads
from media_pipeline.local_uploads import CHUNK

logger = logging.getLogger(__name__)

LOCAL_UPLOAD_SALT = "moa.storage.local-upload"
# S3 error codes that retrying will not fix: configuration or a missing object.
DENIED = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "NoSuchBucket",
          "AllAccessDisabled", "AccountProblem", "InvalidBucketName"}
MISSING = {"NoSuchKey", "404", "NotFound"}


class StorageError(Exception):
    def __init__(self, operation: str, key: str, reason: str, *, transient: bool,
                 missing: bool = False, code: str = ""):
        self.operation, self.key, self.reason = operation, key, reason
        self.transient, self.missing, self.code = transient, missing, code
        super().__init__(f"storage {operation} of {key!r} in {bucket()} failed: {reason}")

    @property
    def error_code(self) -> str:
        if self.missing:
            return "INPUT_MISSING"
        return "STORAGE_UNAVAILABLE" if self.transient else "STORAGE_DENIED"

    @property
    def public_message(self) -> str:
        """What a person is told (a job's error_message): what failed and whether it
        passes, never the bucket, key or endpoint, which the log line has."""
        if self.missing:
            return "The uploaded file is no longer in storage: upload it again."
        if self.transient:
            return (f"Storage could not be reached ({self.operation}); the job is retried, "
                    f"and the worker's log has the details.")
        return (f"Storage refused Moa's {self.operation} (credentials or bucket): an "
                f"operator must fix the storage settings; the worker's log has the details.")


def bucket() -> str:
    return (settings.STORAGES["default"]["OPTIONS"].get("bucket_name")
            or f"local:{settings.STORAGES['default']['OPTIONS'].get('location')}")


def _storage():
    return storages["default"]


def _local() -> bool:
    return settings.STORAGE_BACKEND != "s3"


def _local_root() -> Path:
    return Path(_storage().location)


def _wrap(operation: str, key: str, error: Exception) -> StorageError:
    if isinstance(error, ClientError):
        code = _code(error)
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        failure = StorageError(operation, key, f"{code or status}: {error}",
                               transient=code not in DENIED | MISSING and status >= 500,
                               missing=code in MISSING, code=code)
    elif isinstance(error, local_uploads.Refused):  # as S3 refuses it, with S3's code
        failure = StorageError(operation, key, f"{error.code}: {error}", transient=False,
                               code=error.code)
    elif isinstance(error, FileNotFoundError):
        failure = StorageError(operation, key, "no such object", transient=False, missing=True)
    elif isinstance(error, PermissionError | IsADirectoryError | NotADirectoryError):
        failure = StorageError(operation, key, str(error), transient=False)
    elif isinstance(error, BotoCoreError | OSError):  # endpoint down, timeout, disk
        failure = StorageError(operation, key, f"{type(error).__name__}: {error}",
                               transient=True)
    else:
        raise error
    logger.error("%s", failure)
    return failure


def size(key: str) -> int:
    """The object's size (a HEAD); StorageError(missing=True) when it is not there."""
    try:
        return _storage().size(key)
    except (ClientError, BotoCoreError, OSError) as error:
        failure = _wrap("head", key, error)
        if failure.missing and settings.STORAGE_BACKEND == "s3":
            _check_bucket(key)  # a HEAD cannot tell a missing key from a missing bucket
        raise failure from error


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _check_bucket(key: str) -> None:
    storage = _storage()
    try:
        storage.connection.meta.client.head_bucket(Bucket=storage.bucket_name)
    except ClientError as error:
        if _code(error) in MISSING | {"NoSuchBucket"}:
            failure = StorageError("head", key, f"bucket {storage.bucket_name} does not exist",
                                   transient=False)
            logger.error("%s", failure)
            raise failure from error
        raise _wrap("head", key, error) from error


def read_chunks(key: str, chunk: int = CHUNK) -> Iterator[bytes]:
    try:
        with _storage().open(key, "rb") as handle:
            while block := handle.read(chunk):
                yield block
    except (ClientError, BotoCoreError, OSError) as error:
        raise _wrap("get", key, error) from error


def put(key: str, content) -> str:
    """Store a file-like object under `key` (overwriting); return the key."""
    try:
        return _storage().save(key, content)
    except (ClientError, BotoCoreError, OSError) as error:
        raise _wrap("put", key, error) from error


def delete(key: str) -> None:
    try:
        _storage().delete(key)
    except (ClientError, BotoCoreError, OSError) as error:
        raise _wrap("delete", key, error) from error


def download(key: str, path: str) -> None:
    """Copy the object to a local file (S3: parallel ranged GETs)."""
    try:
        if settings.STORAGE_BACKEND == "s3":
            storage = _storage()
            storage.connection.meta.client.download_file(storage.bucket_name, key, path)
            return
        with _storage().open(key, "rb") as source, open(path, "wb") as target:
            shutil.copyfileobj(source, target, CHUNK)
    except (ClientError, BotoCoreError, OSError) as error:
        raise _wrap("get", key, error) from error


def put_file(key: str, path: str, content_type: str) -> None:
    """Store a local file under `key` (S3: multipart above 8 MiB, by boto3)."""
    try:
        if settings.STORAGE_BACKEND == "s3":
            storage = _storage()
            storage.connection.meta.client.upload_file(
                path, storage.bucket_name, key, ExtraArgs={"ContentType": content_type})
            return
        with open(path, "rb") as handle:
            _storage().save(key, File(handle))
    except (ClientError, BotoCoreError, OSError) as error:
        raise _wrap("put", key, error) from error


def open_file(key: str):
    """The object opened for reading (the caller closes it)."""
    try:
        return _storage().open(key, "rb")
    except (ClientError, BotoCoreError, OSError) as error:
        raise _wrap("get", key, error) from error


def read_bytes(key: str) -> bytes:
    return b"".join(read_chunks(key))


def delete_prefix(prefix: str) -> int:
    """Delete every object whose key starts with `prefix` (a "folder/"); return how many."""
    try:
        if settings.STORAGE_BACKEND == "s3":
            storage = _storage()
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
        root = Path(_storage().path(prefix))
        if not root.exists():
            return 0
        deleted = sum(1 for item in root.rglob("*") if item.is_file())
        shutil.rmtree(root)
        return deleted
    except (ClientError, BotoCoreError, OSError) as error:
        raise _wrap("delete", prefix, error) from error


def presigned_get(key: str, content_type: str | None = None) -> str:
    """A short-lived download URL (STORAGE_URL_EXPIRY_SECONDS), served as `content_type`."""
    parameters = {"ResponseContentType": content_type} if content_type else None
    try:
        return _storage().url(key, parameters=parameters) if parameters else _storage().url(key)
    except (ClientError, BotoCoreError) as error:
        raise _wrap("presign", key, error) from error


def multipart_start(key: str, *, content_type: str) -> str:
    """Open a multipart upload; return its upload id."""
    storage = _storage()
    try:
        if _local():
            return local_uploads.start(_local_root(), key)
        return storage.connection.meta.client.create_multipart_upload(
            Bucket=storage.bucket_name, Key=key, ContentType=content_type)["UploadId"]
    except (ClientError, BotoCoreError, OSError) as error:
        raise _wrap("multipart start", key, error) from error


def multipart_part_urls(key: str, upload_id: str, sizes: list[int]) -> list[str]:
    """A presigned PUT URL per part (1-based; a failed part is retried alone), each with
    its part's size signed in (Content-Length is a signed header: S3 refuses a PUT of
    another size; the local upload URL signs the size and refuses any other)."""
    if _local():
        return [_local_upload_url({"key": key, "upload": upload_id, "part": number,
                                   "size": size})
                for number, size in enumerate(sizes, start=1)]
    storage = _storage()
    client = storage.connection.meta.client
    try:
        return [client.generate_presigned_url(
            "upload_part", Params={"Bucket": storage.bucket_name, "Key": key,
                                   "UploadId": upload_id, "PartNumber": number,
                                   "ContentLength": size},
            ExpiresIn=settings.STORAGE_URL_EXPIRY_SECONDS, HttpMethod="PUT")
            for number, size in enumerate(sizes, start=1)]
    except (ClientError, BotoCoreError) as error:
        raise _wrap("presign", key, error) from error


def multipart_parts(key: str, upload_id: str) -> dict[int, int]:
    """Part number -> bytes of what storage holds for an unfinished multipart upload."""
    try:
        if _local():
            return local_uploads.parts(_local_root(), key, upload_id)
        storage = _storage()
        paginator = storage.connection.meta.client.get_paginator("list_parts")
        return {part["PartNumber"]: part["Size"]
                for page in paginator.paginate(Bucket=storage.bucket_name, Key=key,
                                               UploadId=upload_id)
                for part in page.get("Parts", [])}
    except (ClientError, BotoCoreError, OSError, local_uploads.Refused) as error:
        raise _wrap("multipart list parts", key, error) from error


def multipart_uploads(prefix: str) -> list[tuple[str, str, datetime]]:
    """(key, upload id, started at) of every unfinished multipart upload under `prefix`
    (locally: last changed, local_uploads.uploads)."""
    try:
        if _local():
            return local_uploads.uploads(_local_root(), prefix)
        storage = _storage()
        paginator = storage.connection.meta.client.get_paginator("list_multipart_uploads")
        return [(upload["Key"], upload["UploadId"], upload["Initiated"])
                for page in paginator.paginate(Bucket=storage.bucket_name, Prefix=prefix)
                for upload in page.get("Uploads", [])]
    except (ClientError, BotoCoreError, OSError) as error:
        raise _wrap("multipart list uploads", prefix, error) from error


def multipart_complete(key: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
    """Join the uploaded parts ((number, ETag) each) into the object (locally a
    streaming copy of every byte: seconds for a large file)."""
    try:
        if _local():
            local_uploads.complete(_local_root(), key, upload_id, parts,
                                   Path(_storage().path(key)))
            return
        storage = _storage()
        storage.connection.meta.client.complete_multipart_upload(
            Bucket=storage.bucket_name, Key=key, UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": number, "ETag": etag}
                                       for number, etag in parts]})
    except (ClientError, BotoCoreError, OSError, local_uploads.Refused) as error:
        raise _wrap("multipart complete", key, error) from error


def multipart_abort(key: str, upload_id: str) -> None:
    """Drop an unfinished multipart upload and the parts storage keeps (S3 bills them)."""
    try:
        if _local():
            local_uploads.abort(_local_root(), key, upload_id)
            return
        storage = _storage()
        storage.connection.meta.client.abort_multipart_upload(
            Bucket=storage.bucket_name, Key=key, UploadId=upload_id)
    except (ClientError, BotoCoreError, OSError, local_uploads.Refused) as error:
        raise _wrap("multipart abort", key, error) from error


def presigned_put(key: str, *, content_type: str, size_bytes: int) -> dict:
    """Where and how a browser uploads `key` directly: S3's presigned PUT, or Moa's
    signed, expiring local upload URL that imitates it."""
    if settings.STORAGE_BACKEND == "s3":
        storage = _storage()
        try:
            url = storage.connection.meta.client.generate_presigned_url(
                "put_object",
                Params={"Bucket": storage.bucket_name, "Key": key,
                        "ContentType": content_type, "ContentLength": size_bytes},
                ExpiresIn=settings.STORAGE_URL_EXPIRY_SECONDS, HttpMethod="PUT")
        except (ClientError, BotoCoreError) as error:
            raise _wrap("presign", key, error) from error
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
    key = grant["key"]
    try:
        if "part" in grant:
            return local_uploads.put_part(_local_root(), key, grant["upload"], grant["part"],
                                          body, grant["size"])
        return local_uploads.put_object(Path(_storage().path(key)), body, grant["size"])
    except (OSError, local_uploads.Refused) as error:
        raise _wrap("put", key, error) from error
