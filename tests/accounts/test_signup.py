import re
from smtplib import SMTPException

import pytest
from django.core import mail
from django.test import override_settings

from project.accounts.actions import user_soft_delete
from project.accounts.models import User
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

SIGNUP = {"username": "newbie", "email": "newbie@example.com", "password": PASSWORD}


class FailingEmailBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise SMTPException("mail server refused")


def verification_link() -> str:
    return re.search(r"http://testserver(/accounts/verify/\S+/)", mail.outbox[-1].body)[1]


def test_signup_creates_an_inactive_account_and_mails_its_link(client):
    response = client.post("/accounts/signup/", SIGNUP)
    assert response.status_code == 200
    user = User.objects.get(username="newbie")
    assert not user.is_active and user.email_verified_at is None
    assert mail.outbox[-1].to == ["newbie@example.com"]
    assert not client.login(username="newbie", password=PASSWORD)


def test_following_the_link_activates_and_allows_sign_in(client):
    client.post("/accounts/signup/", SIGNUP)
    response = client.get(verification_link())
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    user = User.objects.get(username="newbie")
    assert user.is_active and user.email_verified_at is not None
    assert client.login(username="newbie", password=PASSWORD)


def test_signing_in_before_verifying_says_so_and_a_wrong_password_does_not(client):
    client.post("/accounts/signup/", SIGNUP)
    right = client.post("/accounts/login/", {"username": "NEWBIE", "password": PASSWORD})
    assert right.status_code == 200
    assert "This account is not verified yet" in right.content.decode()
    wrong = client.post("/accounts/login/", {"username": "newbie", "password": "nope-nope"})
    assert "not verified" not in wrong.content.decode()
    assert "Please enter a correct username and password" in wrong.content.decode()
    client.get(verification_link())
    assert client.post("/accounts/login/", {"username": "newbie",
                                            "password": PASSWORD}).status_code == 302


def test_when_the_email_cannot_be_sent_no_account_exists(client):
    with override_settings(EMAIL_BACKEND="tests.accounts.test_signup.FailingEmailBackend"):
        response = client.post("/accounts/signup/", SIGNUP)
    assert response.status_code == 400
    assert b"could not send the verification email" in response.content
    assert not User.objects.filter(username="newbie").exists()


def test_a_tampered_link_is_refused(client):
    client.post("/accounts/signup/", SIGNUP)
    response = client.get(verification_link().replace(":", "x", 1))
    assert response.status_code == 400
    assert not User.objects.get(username="newbie").is_active


def test_a_name_held_by_a_live_user_is_refused_but_a_deleted_ones_is_free(client, make_user):
    holder = make_user("newbie")
    response = client.post("/accounts/signup/", SIGNUP)
    assert response.status_code == 400 and b"taken" in response.content
    user_soft_delete(user=holder)
    assert client.post("/accounts/signup/", SIGNUP).status_code == 200


def test_deleted_users_sessions_end_at_once(client, alice):
    client.force_login(alice)
    assert client.get("/api/v1/me/").status_code == 200
    user_soft_delete(user=alice)
    assert client.get("/api/v1/me/").status_code == 401
