"""StorageError: every storage failure, named, logged and counted once.

Each names the operation, the bucket and the key, and says whether retrying can help
(a timeout can; wrong credentials or a missing bucket cannot). It is logged with bucket
and key under the logger `media_pipeline.storage`; a person is told only what failed
and whether it passes (`public_message`): a 503 with a detail (storage/http.py), or a
FAILED job with an error_message (jobs/errors.py). Each is counted in
moa_storage_errors_total by operation and class (missing, denied, unavailable).
"""

from __future__ import annotations

import logging

from botocore.exceptions import BotoCoreError, ClientError
from prometheus_client import Counter

from media_pipeline.storage import local_uploads
from media_pipeline.storage.backend import bucket

# One name for every storage module's lines, the name operators filter on.
logger = logging.getLogger("media_pipeline.storage")

# S3 error codes that retrying will not fix: configuration or a missing object.
DENIED = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "NoSuchBucket",
          "AllAccessDisabled", "AccountProblem", "InvalidBucketName"}
MISSING = {"NoSuchKey", "404", "NotFound"}

# Declared with prometheus-client itself (this adapter imports nothing of Moa's
# project/): always counted, served wherever the process serves its metrics.
ERRORS = Counter("moa_storage_errors_total", "Storage failures by operation (head, get, "
                 "put, delete, ...) and class: missing (the object is not there), denied "
                 "(credentials, bucket: an operator must act), unavailable (transient: "
                 "retried)", ("operation", "class"))


class StorageError(Exception):
    def __init__(self, operation: str, key: str, reason: str, *, transient: bool,
                 missing: bool = False, code: str = ""):
        self.operation, self.key, self.reason = operation, key, reason
        self.transient, self.missing, self.code = transient, missing, code
        super().__init__(f"storage {operation} of {key!r} in {bucket()} failed: {reason}")

    @property
    def error_class(self) -> str:
        """missing, denied or unavailable: what it means for whoever must act."""
        if self.missing:
            return "missing"
        return "unavailable" if self.transient else "denied"

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


def logged(failure: StorageError) -> StorageError:
    logger.error("%s", failure)
    ERRORS.labels(failure.operation, failure.error_class).inc()
    return failure


def wrap(operation: str, key: str, error: Exception) -> StorageError:
    """`error`, raised by `operation` on `key`, as a StorageError, logged; anything
    else than a storage failure is raised again as it is."""
    if isinstance(error, ClientError):
        code = code_of(error)
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
    return logged(failure)


def code_of(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
