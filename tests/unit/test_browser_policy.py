"""The storage sources the CSP allows: exactly where presigned URLs point, nothing more."""

import boto3
import pytest
from botocore.config import Config

from project.browser_policy import content_security_policy, storage_sources


def presigned_put(bucket: str, endpoint: str | None, region: str | None) -> str:
    """A presigned PUT as media_pipeline/storage/ gets one (settings.STORAGES)."""
    client = boto3.client(
        "s3", region_name=region, endpoint_url=endpoint, aws_access_key_id="test",
        aws_secret_access_key="test", config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path" if endpoint else "auto"}))
    return client.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "k"})


def allows(sources: list[str], url: str) -> bool:
    """CSP source matching for these sources: an origin, or an origin with a path
    prefix ending in "/"."""
    return any(url.startswith(source if source.endswith("/") else source + "/")
               for source in sources)


@pytest.mark.parametrize(("bucket", "endpoint", "region"), [
    ("moa-media", None, None),
    ("moa-media", None, "eu-west-1"),
    ("moa.media.example", None, "eu-central-1"),  # dots: path style even on AWS
    ("moa-media", "https://account.r2.cloudflarestorage.com", "auto"),
    ("moa-media", "http://127.0.0.1:9000", None),
])
def test_the_presigned_urls_of_every_storage_are_allowed(bucket, endpoint, region):
    sources = storage_sources(backend="s3", bucket=bucket, endpoint_url=endpoint,
                              region=region)
    assert allows(sources, presigned_put(bucket, endpoint, region))
    assert not allows(sources, presigned_put("someone-elses", endpoint, region))


def test_a_new_buckets_regional_redirect_target_is_allowed():
    sources = storage_sources(backend="s3", bucket="moa-media", endpoint_url=None,
                              region="eu-west-1")
    assert "https://moa-media.s3.eu-west-1.amazonaws.com" in sources


def test_the_cdn_that_serves_segments_is_allowed_beside_the_bucket():
    sources = storage_sources(backend="s3", bucket="moa", endpoint_url="https://r2.example",
                              region="auto", cdn_base_url="https://cdn.example.com/media")
    assert sources == ["https://r2.example/moa/", "https://cdn.example.com/media/"]


def test_local_storage_adds_no_source():
    assert storage_sources(backend="local", bucket=None, endpoint_url=None, region=None) == []
    directives = content_security_policy([])["DIRECTIVES"]
    assert directives["connect-src"] == ["'self'"]
    assert directives["media-src"] == ["'self'", "blob:"]


def test_no_directive_allows_inline_code_or_eval():
    directives = content_security_policy(["https://b.s3.amazonaws.com"])["DIRECTIVES"]
    everything = " ".join(" ".join(sources) for sources in directives.values())
    assert "unsafe" not in everything and "data:" not in everything
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
