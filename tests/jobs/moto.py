"""moto's standalone S3 server (S3 over real HTTP) for the storage and video tests."""

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config

from tests.processes import free_port

BUCKET = "moa-test"


@contextlib.contextmanager
def moto_server(**env: str):
    """moto's standalone S3 server on a free port, with the test bucket created."""
    port = free_port()
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy_moto(url, process)
        boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                     aws_access_key_id="test", aws_secret_access_key="test",
                     config=Config(s3={"addressing_style": "path"})
                     ).create_bucket(Bucket=BUCKET)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def wait_until_healthy_moto(url: str, process) -> None:
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1)
            return
        except OSError:
            if process.poll() is not None:
                raise RuntimeError("moto_server exited") from None
            time.sleep(0.1)
    raise TimeoutError("moto_server did not start")


def s3_storages(endpoint: str, bucket: str = BUCKET) -> dict:
    return {
        "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
            "bucket_name": bucket, "endpoint_url": endpoint, "region_name": "us-east-1",
            "access_key": "test", "secret_key": "test", "querystring_expire": 900,
            "default_acl": None, "file_overwrite": True,
            "client_config": Config(signature_version="s3v4", connect_timeout=2,
                                    read_timeout=5, retries={"max_attempts": 1},
                                    s3={"addressing_style": "path"})}},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


