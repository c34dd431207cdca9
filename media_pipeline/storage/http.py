"""Storage failures at the HTTP edge: the one StorageError -> 503 mapping.

The client learns that storage failed and the request id to quote; the operation,
bucket, key and endpoint stay in the log line storage wrote. A view that gives some
failure its own answer (a missing file: 404) catches that one inside the block and
lets the others through.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from rest_framework.exceptions import APIException

from media_pipeline.storage.errors import StorageError


class StorageUnavailable(APIException):
    status_code = 503
    default_code = "storage_unavailable"
    default_detail = "Storage is unavailable; try again in a minute."


@contextlib.contextmanager
def storage_errors_as_503() -> Iterator[None]:
    try:
        yield
    except StorageError as error:  # already logged with bucket and key
        raise StorageUnavailable() from error
