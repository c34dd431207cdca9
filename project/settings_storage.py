"""Where uploads and outputs are kept: S3 (or an S3-compatible store) or a local folder,
as STORAGE_BACKEND says (docs/configuration.md)."""

from pathlib import Path

from botocore.config import Config as BotoConfig

from project.config import Config


def default_storage(config: Config, *, base_dir: Path, url_expiry: int) -> dict:
    """Django's "default" storage entry."""
    if config["STORAGE_BACKEND"] == "s3":
        return {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": config["STORAGE_BUCKET"],
                "endpoint_url": config["STORAGE_ENDPOINT_URL"],
                "region_name": config["STORAGE_REGION"],
                "access_key": config["AWS_ACCESS_KEY_ID"],
                "secret_key": config["AWS_SECRET_ACCESS_KEY"],
                "querystring_expire": url_expiry,
                "default_acl": None,
                "file_overwrite": True,
                # Bounded waits: a storage outage must surface as an error, not a hang.
                # MinIO and most S3-compatible stores want path-style URLs; AWS does not.
                "client_config": BotoConfig(
                    signature_version="s3v4", connect_timeout=5, read_timeout=30,
                    retries={"max_attempts": 3, "mode": "standard"},
                    s3={"addressing_style": "path" if config["STORAGE_ENDPOINT_URL"]
                        else "auto"}),
            },
        }
    else:
        local_root = Path(config["STORAGE_LOCAL_ROOT"])
        return {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {
                "location": local_root if local_root.is_absolute() else base_dir / local_root,
                "allow_overwrite": True,  # keys are chosen by Moa; a retry rewrites its output
            },
        }
