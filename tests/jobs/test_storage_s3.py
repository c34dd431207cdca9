"""Storage over HTTP against moto's standalone S3 server: what works, and how each
kind of failure surfaces (never as success, never silently)."""

import pytest
from django.core.files.base import ContentFile
from django.test import override_settings

from media_pipeline import storage
from media_pipeline.jobs import actions as jobs
from media_pipeline.jobs.progress import JobContext
from media_pipeline.jobs.worker import execute
from media_pipeline.models import Job
from tests.jobs.moto import s3_storages
from tests.processes import free_port

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
TOKEN = "Zx8-internal-token-for-the-readiness-details-0123456789"


@pytest.fixture(autouse=True)
def internal_token(settings):
    settings.INTERNAL_API_TOKEN = TOKEN


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


def test_a_job_on_a_misconfigured_bucket_fails_with_the_reason(moto_url, alice, caplog):
    with override_settings(STORAGES=s3_storages(moto_url, bucket="no-such-bucket"),
                           STORAGE_BACKEND="s3"):
        job = jobs.job_enqueue(kind="storage.checksum", owner=alice,
                               payload={"key": "videos/x.bin"})
        claimed = jobs.job_claim(channels=["jobs.excel"], worker_id="w")
        execute(JobContext(claimed))
    failed = Job.objects.get(pk=job.pk)
    assert (failed.status, failed.attempts) == ("FAILED", 1)  # permanent: no retry loop
    assert failed.error_code == "STORAGE_DENIED"
    assert "an operator must fix the storage settings" in failed.error_message
    # The owner is told what failed, never where: the bucket and key are in the log.
    assert "no-such-bucket" not in failed.error_message
    assert "videos/x.bin" not in failed.error_message and moto_url not in failed.error_message
    assert "no-such-bucket" in caplog.text


def test_readiness_is_503_naming_storage_when_the_bucket_is_missing(moto_url, client):
    with override_settings(STORAGES=s3_storages(moto_url, bucket="no-such-bucket"),
                           STORAGE_BACKEND="s3"):
        response = client.get("/health/ready/", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
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
        ready = client.get("/health/ready/", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    failed = Job.objects.get(pk=job.pk)
    assert (failed.status, failed.error_code, failed.attempts) == ("FAILED", "STORAGE_DENIED", 1)
    assert ready.status_code == 503 and ready.json()["failed"] == ["storage"]
