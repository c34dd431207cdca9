"""Accounts an import created: no password and no way in until their owner follows the
invitation, a one-time, expiring link; a reset link sets a password too."""

import re
from datetime import datetime, timedelta
from smtplib import SMTPServerDisconnected

import pytest
from django.core import mail

from project.accounts import actions
from project.accounts.actions import Invitation, user_soft_delete, users_bulk_create
from project.accounts.models import User
from project.accounts.tokens import InvitationTokenGenerator

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]
NEW = "A-fresh-Password-77"
INVITATION = Invitation(site="https://moa.example.com/", team_name="Crew",
                        inviter_name="Alice")


def imported(*names: str) -> list[int]:
    ids = users_bulk_create(accounts=[(name, f"{name}@example.com", name.title())
                                      for name in names])
    return [ids[name] for name in names]


def link_in(message) -> str:
    return re.search(r"https://moa\.example\.com(/accounts/invitation/\S+)",
                     message.body).group(1)


def set_password(client, link: str):
    form = client.get(link, follow=True)
    assert form.status_code == 200
    return client.post(form.redirect_chain[-1][0], {"new_password1": NEW,
                                                    "new_password2": NEW})


def test_an_imported_account_cannot_sign_in_until_invited(client):
    [ivy] = imported("ivy")
    user = User.objects.get(pk=ivy)
    assert user.invitation_pending and not user.has_usable_password()
    assert not client.login(username="ivy", password="")
    assert client.post("/accounts/login/", {"username": "ivy", "password": "!"}
                       ).status_code == 200  # the form again, with its error


def test_the_invitation_sets_the_first_password_once(client):
    [ivy] = imported("ivy")
    assert actions.users_invite(user_ids=[ivy], invitation=INVITATION) == 1
    [sent] = mail.outbox
    assert sent.to == ["ivy@example.com"] and "Crew" in sent.subject
    assert "Alice added you to the team Crew" in sent.body
    link = link_in(sent)
    done = set_password(client, link)
    assert done.status_code == 302 and done.url == "/accounts/login/"
    user = User.objects.get(pk=ivy)
    assert not user.invitation_pending and user.email_verified_at is not None
    assert client.login(username="ivy", password=NEW)
    client.logout()
    again = client.get(link, follow=True)
    assert b"This link no longer works" in again.content  # used once: dead


def test_an_invitation_is_sent_once_and_never_to_a_live_password(client, make_user):
    [ivy] = imported("ivy")
    carol = make_user("carol")
    assert actions.users_invite(user_ids=[ivy, carol.pk], invitation=INVITATION) == 1
    assert actions.users_invite(user_ids=[ivy, carol.pk], invitation=INVITATION) == 0
    assert [message.to for message in mail.outbox] == [["ivy@example.com"]]


def test_an_invitation_expires(client, monkeypatch, settings):
    [ivy] = imported("ivy")
    actions.users_invite(user_ids=[ivy], invitation=INVITATION)
    later = datetime.now() + timedelta(seconds=settings.INVITATION_MAX_AGE + 60)
    monkeypatch.setattr(InvitationTokenGenerator, "_now", lambda self: later)
    page = client.get(link_in(mail.outbox[0]), follow=True)
    assert b"This link no longer works" in page.content


def test_a_reset_link_is_no_invitation_and_an_invitation_no_reset_link(client):
    [ivy] = imported("ivy")
    actions.users_invite(user_ids=[ivy], invitation=INVITATION)
    uid, token = link_in(mail.outbox[0]).rstrip("/").split("/")[-2:]
    page = client.get(f"/accounts/password-reset/{uid}/{token}/", follow=True)
    assert b"This link no longer works" in page.content


def test_a_deleted_account_cannot_use_its_invitation(client):
    [ivy] = imported("ivy")
    actions.users_invite(user_ids=[ivy], invitation=INVITATION)
    user_soft_delete(user=User.objects.get(pk=ivy))
    page = client.get(link_in(mail.outbox[0]), follow=True)
    assert b"This link no longer works" in page.content


class FailingAfterOneBatch:
    """A mail connection that takes one batch, then loses the server."""

    def __init__(self):
        self.batches = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def send_messages(self, messages):
        self.batches += 1
        if self.batches > 1:
            raise SMTPServerDisconnected("Connection unexpectedly closed")
        mail.outbox.extend(messages)
        return len(messages)


def test_a_mail_server_failure_leaves_the_rest_pending_for_the_next_call(monkeypatch):
    ids = imported(*(f"user{n}" for n in range(actions.INVITE_BATCH + 5)))
    monkeypatch.setattr(actions, "get_connection", FailingAfterOneBatch)
    with pytest.raises(SMTPServerDisconnected):
        actions.users_invite(user_ids=ids, invitation=INVITATION)
    assert len(mail.outbox) == actions.INVITE_BATCH
    assert User.objects.filter(invitation_pending=True).count() == 5
    monkeypatch.undo()
    assert actions.users_invite(user_ids=ids, invitation=INVITATION) == 5


def test_an_account_without_a_password_can_also_set_one_through_the_reset_link(client):
    imported("ivy")
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
