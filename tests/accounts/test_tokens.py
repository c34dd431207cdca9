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
