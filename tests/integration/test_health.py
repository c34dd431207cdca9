import threading

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from project import health, runtime
from tests.helpers import unwritable_storages

pytestmark = pytest.mark.django_db

TOKEN = "Tq3-internal-token-for-the-readiness-details-0123456789"
INTERNAL = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}


@pytest.fixture(autouse=True)
def internal_token(settings):
    settings.INTERNAL_API_TOKEN = TOKEN


@pytest.mark.sqlite
def test_liveness_answers_200_for_an_instance_ip_host(client):
    response = client.get("/health/", HTTP_HOST="172.31.5.17")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.sqlite
def test_other_urls_still_refuse_an_unknown_host(client):
    assert client.get("/accounts/login/", HTTP_HOST="172.31.5.17").status_code == 400


@pytest.mark.sqlite
def test_readiness_checks_database_channel_layer_and_storage(client):
    response = client.get("/health/ready/", HTTP_HOST="172.31.5.17", **INTERNAL)
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "channel_layer", "storage"}
    assert all(check["ok"] for check in body["checks"].values())


@pytest.mark.sqlite
def test_readiness_is_503_naming_a_broken_storage(client, tmp_path):
    with override_settings(STORAGES=unwritable_storages(tmp_path)):
        response = client.get("/health/ready/", **INTERNAL)
    body = response.json()
    assert response.status_code == 503
    assert body["failed"] == ["storage"]
    assert "STORAGE_BACKEND" in body["checks"]["storage"]["env"]


@pytest.mark.redis
def test_readiness_is_503_when_redis_does_not_answer(client):
    dead = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                        "CONFIG": {"hosts": [{"address": "redis://127.0.0.1:1/0",
                                              "socket_connect_timeout": 1}]}}}
    from channels.layers import channel_layers

    with override_settings(CHANNEL_LAYERS=dead):
        channel_layers.backends.clear()
        try:
            response = client.get("/health/ready/", **INTERNAL)
        finally:
            channel_layers.backends.clear()
    body = response.json()
    assert response.status_code == 503
    assert body["failed"] == ["channel_layer"]
    assert body["checks"]["channel_layer"]["env"] == ["REDIS_URL"]


@pytest.mark.sqlite
def test_anonymous_callers_get_the_status_only(client, tmp_path):
    assert client.get("/health/ready/").json() == {"status": "ready"}
    runtime.current().timed.clear()
    with override_settings(STORAGES=unwritable_storages(tmp_path)):
        response = client.get("/health/ready/")
    assert response.status_code == 503
    assert response.json() == {"status": "unready"}  # no exception text, no env names
    for wrong in ("Bearer nope", f"Basic {TOKEN}", ""):
        runtime.current().timed.clear()
        with override_settings(STORAGES=unwritable_storages(tmp_path)):
            body = client.get("/health/ready/", HTTP_AUTHORIZATION=wrong).json()
        assert body == {"status": "unready"}


@pytest.mark.sqlite
def test_a_flood_of_probes_costs_one_probe_per_interval(client, monkeypatch):
    probed = []
    real = health.probes.readiness_probes
    monkeypatch.setattr(health.probes, "readiness_probes", lambda: probed.append(1) or real())
    with CaptureQueriesContext(connection) as queries:
        statuses = {client.get("/health/ready/").status_code for _ in range(50)}
    assert statuses == {200} and len(probed) == 1
    assert len([q for q in queries if q["sql"] == "SELECT 1"]) == 1


@pytest.mark.sqlite
def test_readiness_never_writes_to_storage(client, tmp_path, settings):
    media = tmp_path / "media"
    with override_settings(STORAGES={**settings.STORAGES, "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(media)}}}):
        assert client.get("/health/ready/").status_code == 200
    assert media.is_dir() and list(media.iterdir()) == []


@pytest.mark.sqlite
def test_readiness_turns_503_draining_at_once(client, monkeypatch):
    monkeypatch.setattr(runtime.current(), "draining", threading.Event())
    runtime.current().begin_draining()
    response = client.get("/health/ready/")
    assert response.status_code == 503
    assert response.json() == {"status": "draining"}
    assert client.get("/health/").status_code == 200  # still alive, still serving


@pytest.mark.sqlite
def test_request_id_from_the_proxy_is_echoed(client):
    response = client.get("/accounts/login/", HTTP_X_REQUEST_ID="abcdef1234567890")
    assert response["X-Request-ID"] == "abcdef1234567890"
    generated = client.get("/accounts/login/", HTTP_X_REQUEST_ID="bad id!")["X-Request-ID"]
    assert generated != "bad id!" and len(generated) == 32
