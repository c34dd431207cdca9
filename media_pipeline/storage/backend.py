"""Which backend holds the objects (STORAGE_BACKEND), as the storage modules reach it."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.files.storage import storages


def default():
    """Django's default storage: django-storages' S3 backend, or the local disk."""
    return storages["default"]


def is_local() -> bool:
    return settings.STORAGE_BACKEND != "s3"


def local_root() -> Path:
    return Path(default().location)


def bucket() -> str:
    return (settings.STORAGES["default"]["OPTIONS"].get("bucket_name")
            or f"local:{settings.STORAGES['default']['OPTIONS'].get('location')}")
