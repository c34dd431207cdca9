from datetime import timedelta

import pytest
from django.utils import timezone

from project.accounts.actions import token_create, user_soft_delete
from project.accounts.models import ApiToken

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def test_a_bearer_token_authenticates_rest_calls(client, alice, token_for):
    response = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {token_for(alice)}")
    assert response.status_code == 200
    assert response.json()["username"] == "alice"


def test_tokens_are_stored_hashed(alice):
    token, raw = token_create(user=alice, name="ci")
    stored = ApiToken.objects.get(pk=token.pk)
    assert raw not in (stored.digest, stored.prefix + stored.digest)
    assert stored.digest != raw and len(stored.digest) == 64


@pytest.mark.parametrize("header", ["Bearer nope", "Bearer ", "Bearer " + "x" * 300])
def test_an_unknown_token_is_401_with_a_detail(client, header):
    response = client.get("/api/v1/me/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    assert response.json()["detail"]


def test_expired_and_deleted_users_tokens_stop_working(client, alice, bob):
    _, expired = token_create(user=alice, name="old",
                              expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {expired}").status_code == 401
    _, raw = token_create(user=bob, name="ci")
    user_soft_delete(user=bob)
    assert client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_no_credentials_is_refused(client):
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json()["code"] == "not_authenticated"


def test_every_token_expires_after_the_default_unless_told_otherwise(alice, settings):
    token, _ = token_create(user=alice, name="ci")
    expected = timezone.now() + timedelta(days=settings.API_TOKEN_DAYS)
    assert abs((token.expires_at - expected).total_seconds()) < 60


def test_a_signed_in_user_creates_lists_and_revokes_tokens(client, alice):
    client.force_login(alice)
    created = client.post("/api/v1/tokens/", {"name": "laptop", "expires_in_days": 7},
                          content_type="application/json")
    assert created.status_code == 201
    body = created.json()
    secret, token = body["secret"], body["token"]
    assert token["prefix"] == secret[:8] and token["name"] == "laptop"
    assert client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200
    listed = client.get("/api/v1/tokens/").json()["tokens"]
    assert [t["id"] for t in listed] == [token["id"]] and "secret" not in listed[0]
    assert client.delete(f"/api/v1/tokens/{token['id']}/").status_code == 204
    assert client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401
    assert client.delete(f"/api/v1/tokens/{token['id']}/").status_code == 404


def test_a_token_cannot_mint_tokens_nor_touch_anothers(client, alice, bob, token_for):
    raw = token_for(alice)
    refused = client.post("/api/v1/tokens/", {"name": "more"}, content_type="application/json",
                          HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert refused.status_code == 403 and refused.json()["code"] == "session_required"
    bobs, _ = token_create(user=bob, name="bob's")
    gone = client.delete(f"/api/v1/tokens/{bobs.pk}/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert gone.status_code == 404 and ApiToken.objects.filter(pk=bobs.pk).exists()


def test_token_expiry_is_bounded_and_the_count_capped(client, alice, settings):
    settings.API_TOKENS_PER_USER = 2
    client.force_login(alice)
    too_long = client.post("/api/v1/tokens/", {"name": "x", "expires_in_days": 3650},
                           content_type="application/json")
    assert too_long.status_code == 400
    for n in range(2):
        assert client.post("/api/v1/tokens/", {"name": f"t{n}"},
                           content_type="application/json").status_code == 201
    full = client.post("/api/v1/tokens/", {"name": "t3"}, content_type="application/json")
    assert full.status_code == 403 and full.json()["code"] == "quota_exceeded"
