import pytest
from django.test import override_settings

from project import health
from tests.helpers import unwritable_storages

pytestmark = pytest.mark.django_db


@pytest.mark.sqlite
def test_liveness_answers_200_for_an_instance_ip_host(client):
    response = client.get("/health/", HTTP_HOST="172.31.5.17")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


@pytest.mark.sqlite
def test_other_urls_still_refuse_an_unknown_host(client):
    assert client.get("/accounts/login/", HTTP_HOST="172.31.5.17").status_code == 400


@pytest.mark.sqlite
def test_readiness_checks_database_channel_layer_and_storage(client):
    response = client.get("/health/ready/", HTTP_HOST="172.31.5.17")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "channel_layer", "storage"}
    assert all(check["ok"] for check in body["checks"].values())


@pytest.mark.sqlite
def test_readiness_is_503_naming_a_broken_storage(client, tmp_path):
    with override_settings(STORAGES=unwritable_storages(tmp_path)):
        response = client.get("/health/ready/")
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
            response = client.get("/health/ready/")
        finally:
            channel_layers.backends.clear()
    body = response.json()
    assert response.status_code == 503
    assert body["failed"] == ["channel_layer"]
    assert body["checks"]["channel_layer"]["env"] == ["REDIS_URL"]


@pytest.mark.sqlite
def test_readiness_turns_503_draining_at_once(client, monkeypatch):
    monkeypatch.setattr(health, "_draining", type(health._draining)())
    health.begin_draining()
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
