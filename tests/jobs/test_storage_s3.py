"""Storage over HTTP against moto's standalone S3 server: what works, and how each
kind of failure surfaces (never as success, never silently)."""

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from django.core.files.base import ContentFile
from django.test import override_settings

from media_pipeline import jobs, storage
from media_pipeline.models import Job
from media_pipeline.progress import JobContext
from media_pipeline.worker import execute
from tests.processes import free_port

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
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


@pytest.fixture(scope="module")
def moto_url():
    with moto_server() as url:
        yield url


@pytest.fixture(scope="module")
def moto_checking_credentials():
    """After its first request (creating the bucket) this server checks credentials,
    and Moa's ("test") are unknown to it: the wrong-credentials case."""
    with moto_server(INITIAL_NO_AUTH_ACTION_COUNT="1") as url:
        yield url


def wait_until_healthy_moto(url: str, process) -> None:
    import time
    import urllib.request

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


def test_put_head_read_delete_and_presigned_urls(moto_url):
    with override_settings(STORAGES=s3_storages(moto_url), STORAGE_BACKEND="s3"):
        storage.put("videos/a.bin", ContentFile(b"abc" * 1000))
        assert storage.size("videos/a.bin") == 3000
        assert b"".join(storage.read_chunks("videos/a.bin")) == b"abc" * 1000
        url = storage.presigned_get("videos/a.bin")
        assert "X-Amz-Expires=900" in url and "X-Amz-Signature" in url
        grant = storage.presigned_put("videos/b.bin", content_type="video/mp4", size_bytes=10)
        assert grant["method"] == "PUT" and "X-Amz-Signature" in grant["url"]
        storage.delete("videos/a.bin")
        with pytest.raises(storage.StorageError) as missing:
            storage.size("videos/a.bin")
        assert missing.value.missing and missing.value.error_code == "INPUT_MISSING"


def test_a_missing_bucket_is_a_permanent_error_naming_bucket_and_key(moto_url, caplog):
    with override_settings(STORAGES=s3_storages(moto_url, bucket="no-such-bucket"),
                           STORAGE_BACKEND="s3"), pytest.raises(storage.StorageError) as error:
        storage.put("videos/x.bin", ContentFile(b"x"))
    assert error.value.error_code == "STORAGE_DENIED" and not error.value.transient
    assert "no-such-bucket" in str(error.value) and "videos/x.bin" in str(error.value)
    assert "no-such-bucket" in caplog.text  # and it reached the log


def test_an_unreachable_endpoint_is_transient():
    dead = f"http://127.0.0.1:{free_port()}"
    with override_settings(STORAGES=s3_storages(dead), STORAGE_BACKEND="s3"), \
            pytest.raises(storage.StorageError) as error:
        storage.size("anything")
    assert error.value.transient and error.value.error_code == "STORAGE_UNAVAILABLE"


def test_a_job_on_a_misconfigured_bucket_fails_with_the_reason(moto_url, alice):
    with override_settings(STORAGES=s3_storages(moto_url, bucket="no-such-bucket"),
                           STORAGE_BACKEND="s3"):
        job = jobs.job_enqueue(kind="storage.checksum", owner=alice,
                               payload={"key": "videos/x.bin"})
        claimed = jobs.job_claim(channels=["jobs.excel"], worker_id="w")
        execute(JobContext(claimed))
    failed = Job.objects.get(pk=job.pk)
    assert (failed.status, failed.attempts) == ("FAILED", 1)  # permanent: no retry loop
    assert failed.error_code == "STORAGE_DENIED"
    assert "no-such-bucket" in failed.error_message


def test_readiness_is_503_naming_storage_when_the_bucket_is_missing(moto_url, client):
    with override_settings(STORAGES=s3_storages(moto_url, bucket="no-such-bucket"),
                           STORAGE_BACKEND="s3"):
        response = client.get("/health/ready/")
    assert response.status_code == 503 and response.json()["failed"] == ["storage"]




def test_wrong_credentials_fail_at_once_everywhere(moto_checking_credentials, alice, client):
    with override_settings(STORAGES=s3_storages(moto_checking_credentials),
                           STORAGE_BACKEND="s3"):
        with pytest.raises(storage.StorageError) as error:
            storage.put("videos/x.bin", ContentFile(b"x"))
        assert error.value.error_code == "STORAGE_DENIED" and "InvalidAccessKeyId" in str(
            error.value)
        job = jobs.job_enqueue(kind="storage.checksum", owner=alice,
                               payload={"key": "videos/x.bin"})
        execute(JobContext(jobs.job_claim(channels=["jobs.excel"], worker_id="w")))
        ready = client.get("/health/ready/")
    failed = Job.objects.get(pk=job.pk)
    assert (failed.status, failed.error_code, failed.attempts) == ("FAILED", "STORAGE_DENIED", 1)
    assert ready.status_code == 503 and ready.json()["failed"] == ["storage"]
