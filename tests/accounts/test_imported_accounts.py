"""Accounts an import created: a reset link sets the first password; a shared initial
password must be changed before anything else."""

import re

import pytest
from django.contrib.auth.hashers import make_password
from django.core import mail

from project.accounts.actions import user_soft_delete, users_bulk_create
from project.accounts.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]
NEW = "A-fresh-Password-77"


def test_an_account_without_a_password_sets_one_through_the_reset_link(client):
    users_bulk_create(accounts=[("ivy", "ivy@example.com", "Ivy")], password_hash=None)
    assert not User.objects.get(username="ivy").has_usable_password()
    assert client.post("/accounts/password-reset/", {"email": "IVY@example.com"}
                       ).status_code == 302
    [sent] = mail.outbox
    link = re.search(r"https?://\S+", sent.body).group(0)
    form = client.get(link, follow=True)
    assert form.status_code == 200 and b"Set your password" in form.content
    done = client.post(form.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW})
    assert done.status_code == 302
    assert client.login(username="ivy", password=NEW)


def test_a_deleted_account_gets_no_reset_email(client, make_user):
    gone = make_user("old", email="old@example.com")
    user_soft_delete(user=gone)
    client.post("/accounts/password-reset/", {"email": "old@example.com"})
    assert mail.outbox == []


def test_a_shared_initial_password_must_be_changed_first(client):
    users_bulk_create(accounts=[("jay", "jay@example.com", "")],
                      password_hash=make_password("Shared-Initial-9"))
    assert client.login(username="jay", password="Shared-Initial-9")
    assert client.get("/").url == "/accounts/password-change/"
    api = client.get("/api/v1/me/")
    assert api.status_code == 403 and api.json()["code"] == "password_change_required"
    changed = client.post("/accounts/password-change/", {
        "old_password": "Shared-Initial-9", "new_password1": NEW, "new_password2": NEW})
    assert changed.status_code == 302
    assert not User.objects.get(username="jay").must_change_password
    assert client.get("/api/v1/me/").status_code == 200
