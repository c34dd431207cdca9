"""Errors under /api/ are JSON `{"detail", "code"}` whatever fails (no URL, a method,
a bug, storage, the database), and a server-side one carries the request id instead
of what failed inside; pages outside /api/ keep their HTML."""

from __future__ import annotations

import contextlib
import socket

import pytest
from django.db import connection
from django.test import Client

from collab import queries
from media_pipeline import storage
from media_pipeline.models import Video
from media_pipeline.videos import playback

pytestmark = [pytest.mark.django_db]


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == code and body["detail"]
    if status >= 500:
        assert body["request_id"] == response["X-Request-ID"]
        assert f"(request {body['request_id']})" in body["detail"]
    else:
        assert "request_id" not in body
    return body


@pytest.mark.sqlite
def test_a_url_no_endpoint_answers_is_a_json_404_under_api_only(client, alice):
    client.force_login(alice)
    assert_error(client.get("/api/v1/nothing/here/"), 404, "not_found")
    assert_error(client.post("/api/v2/teams/"), 404, "not_found")
    page = client.get("/nothing/here/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


@pytest.mark.sqlite
def test_a_method_an_endpoint_lacks_is_a_json_405(client, alice):
    client.force_login(alice)
    assert_error(client.delete("/api/v1/teams/"), 405, "method_not_allowed")
    video = "/api/v1/videos/00000000-0000-0000-0000-000000000000"
    assert_error(client.post(f"{video}/hls/token/master.m3u8"), 405, "method_not_allowed")
    assert_error(client.get("/api/v1/storage/upload/token/"), 405, "method_not_allowed")


@pytest.mark.sqlite
def test_a_bug_is_a_json_500_with_the_request_id_and_a_page_stays_html(alice, monkeypatch):
    def broken(user_id):
        raise RuntimeError("a bug")

    monkeypatch.setattr(queries, "teams_of", broken)
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    body = assert_error(client.get("/api/v1/teams/"), 500, "server_error")
    assert "a bug" not in body["detail"]
    page = client.get("/teams/")
    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")


@pytest.mark.sqlite
def test_a_body_over_the_form_limit_is_a_json_413(client, alice, team, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client.force_login(alice)
    answer = client.post(f"/api/v1/teams/{team.pk}/maps/", {"title": "x" * 2000})
    assert_error(answer, 413, "too_large")


@pytest.mark.sqlite
@pytest.mark.usefixtures("local_storage")
def test_a_bad_playback_token_or_file_name_is_a_json_404(client, alice):
    video = Video.objects.create(owner=alice, title="t", filename="t.mp4", size=1,
                                 content_type="video/mp4")
    base = playback.hls_base(video.pk)
    other = playback.hls_base("00000000-0000-0000-0000-000000000000").split("/")[-2]
    for url in (f"{base}master.m3u8".replace(base.split("/")[-2], other),
                f"{base}../../secret", f"{base}360p/seg_1.ts", f"{base}master.m3u8"):
        assert_error(client.get(url), 404, "not_found")  # the last: not encoded yet


@pytest.mark.sqlite
def test_failing_storage_is_logged_in_full_and_answered_with_the_request_id_only(
        client, alice, local_storage, caplog):
    video = Video.objects.create(owner=alice, title="t", filename="t.mp4", size=3,
                                 content_type="video/mp4")
    hls = local_storage / "videos" / str(video.pk) / "hls"
    (hls / "master.m3u8").mkdir(parents=True)  # reading it fails, and not as "missing"
    blocked = Video.objects.create(owner=alice, title="b", filename="b.mp4", size=3,
                                   content_type="video/mp4")
    (local_storage / "videos" / str(blocked.pk)).write_text("a file where a folder must go")
    blocked_upload = storage.presigned_put(blocked.original_key, content_type="video/mp4",
                                           size_bytes=3)["url"]
    answers = [client.get(f"{playback.hls_base(video.pk)}master.m3u8"),
               client.put(blocked_upload, b"abc", content_type="video/mp4")]
    logged = "\n".join(record.getMessage() for record in caplog.records
                       if record.name == "media_pipeline.storage")
    for answer, key in zip(answers, (f"videos/{video.pk}/hls/master.m3u8",
                                     blocked.original_key), strict=True):
        assert_error(answer, 503, "storage_unavailable")
        assert key in logged and str(local_storage) in logged
        assert key not in answer.content.decode()
        assert str(local_storage) not in answer.content.decode()


@contextlib.contextmanager
def database_down():
    """Connections go to a port where nothing listens (without the pool, which would
    hand out a connection made earlier); the test's own database comes back after."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    connection.close()  # back to its pool
    saved = connection.settings_dict
    connection.settings_dict = {**saved, "HOST": "127.0.0.1", "PORT": str(closed_port),
                                "OPTIONS": {"connect_timeout": 2}}
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict = saved


@pytest.mark.django_db(transaction=True)
def test_the_database_down_is_a_json_503_for_tokens_and_for_sessions(alice, token_for):
    if connection.vendor != "postgresql":
        pytest.skip("the outage is staged on PostgreSQL")
    by_token = Client(raise_request_exception=False,
                      HTTP_AUTHORIZATION=f"Bearer {token_for(alice)}")
    by_session = Client(raise_request_exception=False)
    by_session.force_login(alice)  # its session is read by a middleware, before any view
    with database_down():
        answers = [by_token.get("/api/v1/teams/"), by_session.post("/api/v1/videos/")]
    for answer in answers:
        assert_error(answer, 503, "unavailable")
