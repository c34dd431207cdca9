"""Soft delete ends every way in (sessions, tokens; sockets: tests/collab/test_consumer.py),
and a restore brings the account back only while its name and email are still free."""

import pytest
from django.contrib.sessions.models import Session

from project.accounts.actions import AccountRefused, token_create, user_restore, user_soft_delete
from project.accounts.models import ApiToken, User
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.django_db]


def signed_in(client, user) -> None:
    assert client.login(username=user.username, password=PASSWORD)
    assert client.get("/api/v1/me/").status_code == 200


def test_a_soft_delete_ends_sessions_and_tokens_for_good(client, alice, bob):
    signed_in(client, alice)
    other = client.__class__()
    signed_in(other, bob)  # bob's session survives alice's deletion
    _, raw = token_create(user=alice, name="ci")
    user_soft_delete(user=alice)
    assert client.get("/api/v1/me/").status_code in (401, 403)
    assert not ApiToken.objects.filter(user=alice).exists()
    assert [s.get_decoded()["_auth_user_id"] for s in Session.objects.all()] == [str(bob.pk)]
    user_restore(user_id=alice.pk)
    # Restored, the old session and token stay dead; the password signs in again.
    assert client.get("/api/v1/me/").status_code in (401, 403)
    assert client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401
    signed_in(client, alice)
    assert other.get("/api/v1/me/").status_code == 200


def test_a_second_soft_delete_is_refused_and_keeps_the_deletion_time(alice):
    user_soft_delete(user=alice)
    deleted_at = User.objects.get(pk=alice.pk).deleted_at
    with pytest.raises(AccountRefused, match="alice is already deleted"):
        user_soft_delete(user=alice)
    assert User.objects.get(pk=alice.pk).deleted_at == deleted_at


def test_a_restore_brings_the_account_back_active(alice):
    user_soft_delete(user=alice)
    restored = user_restore(user_id=alice.pk)
    assert (restored.is_deleted, restored.deleted_at, restored.is_active) == (False, None, True)
    with pytest.raises(AccountRefused, match="alice is not deleted"):
        user_restore(user_id=alice.pk)


def test_a_restore_is_refused_once_a_live_account_took_the_username(alice, make_user):
    user_soft_delete(user=alice)
    make_user("ALICE", email="new@example.com")  # names compare case-insensitively
    with pytest.raises(AccountRefused, match='Its username "alice" has since been taken'):
        user_restore(user_id=alice.pk)
    assert User.objects.get(pk=alice.pk).is_deleted


def test_a_restore_is_refused_once_a_live_account_took_the_email(alice, make_user):
    user_soft_delete(user=alice)
    make_user("alicia", email="Alice@Example.com")
    with pytest.raises(AccountRefused, match=r'Its email "alice@example\.com" has since'):
        user_restore(user_id=alice.pk)
    assert User.objects.get(pk=alice.pk).is_deleted


def test_a_scrubbed_account_cannot_be_restored(alice):
    from project.accounts.maintenance import users_scrub_deleted

    user_soft_delete(user=alice)
    users_scrub_deleted(user_ids=[alice.pk])
    with pytest.raises(AccountRefused, match="scrubbed"):
        user_restore(user_id=alice.pk)
