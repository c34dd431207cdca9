"""The one door to object storage: local disk or S3-compatible, chosen by STORAGE_BACKEND.

Every failure becomes a StorageError naming the operation, the bucket and the key, and
saying whether retrying can help (a timeout can; wrong credentials or a missing
bucket cannot). Nothing here swallows an error: callers turn it into a 503 with a
detail, or a FAILED job with an error_message, and it is logged with bucket and key.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core import signing
from django.core.files.storage import storages

logger = logging.getLogger(__name__)

CHUNK = 1024 * 1024
LOCAL_UPLOAD_SALT = "moa.storage.local-upload"
# S3 error codes that retrying will not fix: configuration or a missing object.
DENIED = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "NoSuchBucket",
          "AllAccessDisabled", "AccountProblem", "InvalidBucketName"}
MISSING = {"NoSuchKey", "404", "NotFound"}


class StorageError(Exception):
    def __init__(self, operation: str, key: str, reason: str, *, transient: bool,
                 missing: bool = False):
        self.operation, self.key, self.reason = operation, key, reason
        self.transient, self.missing = transient, missing
        super().__init__(f"storage {operation} of {key!r} in {bucket()} failed: {reason}")

    @property
    def error_code(self) -> str:
        if self.missing:
            return "INPUT_MISSING"
        return "STORAGE_UNAVAILABLE" if self.transient else "STORAGE_DENIED"


def bucket() -> str:
    return (settings.STORAGES["default"]["OPTIONS"].get("bucket_name")
            or f"local:{settings.STORAGES['default']['OPTIONS'].get('location')}")


def _storage():
    return storages["default"]


def _wrap(operation: str, key: str, error: Exception) -> StorageError:
    if isinstance(error, ClientError):
        code = _code(error)
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        failure = StorageError(operation, key, f"{code or status}: {error}",
                               transient=code not in DENIED | MISSING and status >= 500,
                               missing=code in MISSING)
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


def presigned_get(key: str) -> str:
    """A short-lived download URL (STORAGE_URL_EXPIRY_SECONDS)."""
    try:
        return _storage().url(key)
    except (ClientError, BotoCoreError) as error:
        raise _wrap("presign", key, error) from error


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
        token = signing.dumps({"key": key, "size": size_bytes, "type": content_type},
                              salt=LOCAL_UPLOAD_SALT)
        url = f"/api/v1/storage/upload/{token}/"
    return {"method": "PUT", "url": url, "headers": {"Content-Type": content_type}}


def local_upload_grant(token: str) -> dict:
    """The key, size and type a local upload URL allows; BadSignature when forged or old."""
    return signing.loads(token, salt=LOCAL_UPLOAD_SALT,
                         max_age=settings.STORAGE_URL_EXPIRY_SECONDS)
