"""The one door to object storage: local disk or S3-compatible, chosen by
STORAGE_BACKEND. The local backend imitates S3's presigned PUTs and multipart uploads
(local_uploads.py), so callers need not know which one runs.

Callers use this package's names (`storage.size`, `storage.StorageError`, ...); the
modules behind them: objects.py (read, write, delete), uploads.py (upload grants and
multipart uploads), errors.py (StorageError), backend.py (which backend). Every failure
becomes a StorageError, logged with bucket and key; nothing here swallows one. Callers
turn it into a 503 with a detail (http.py) or a FAILED job (jobs/errors.py).
"""

from media_pipeline.storage.errors import StorageError
from media_pipeline.storage.objects import (
    delete,
    delete_prefix,
    download,
    open_file,
    presigned_get,
    put,
    put_file,
    read_bytes,
    read_chunks,
    size,
    url_under,
)
from media_pipeline.storage.uploads import (
    local_upload_grant,
    local_upload_receive,
    multipart_abort,
    multipart_complete,
    multipart_part_urls,
    multipart_parts,
    multipart_start,
    multipart_uploads,
    presigned_put,
)

__all__ = [
    "StorageError", "delete", "delete_prefix", "download", "local_upload_grant",
    "local_upload_receive", "multipart_abort", "multipart_complete", "multipart_part_urls",
    "multipart_parts", "multipart_start", "multipart_uploads", "open_file", "presigned_get",
    "presigned_put", "put", "put_file", "read_bytes", "read_chunks", "size", "url_under",
]
