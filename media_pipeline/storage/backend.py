"""Which backend holds the objects (STORAGE_BACKEND), as the storage modules reach it,
and where Moa's keys lie in it (STORAGE_KEY_PREFIX)."""

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


def object_key(key: str) -> str:
    """Where Moa's `key` (videos/..., imports/...) lies in the bucket or under the local
    root: below STORAGE_KEY_PREFIX, so Moa can share a bucket with other programs.
    Callers and the database keep Moa's keys; only the storage modules see these."""
    return settings.STORAGE_KEY_PREFIX + key


def moa_key(stored: str) -> str:
    """The key Moa knows for an object listed from storage (object_key's inverse)."""
    return stored.removeprefix(settings.STORAGE_KEY_PREFIX)
