"""A member import invites each new account; a mail outage is retried, never silent."""

import re

import pytest
from django.core import mail

from collab.actions import team_create
from media_pipeline.jobs import actions as jobs
from media_pipeline.jobs.progress import JobContext
from media_pipeline.jobs.worker import execute
from media_pipeline.models import Job
from project.accounts import actions as accounts
from project.accounts.models import User
from tests.accounts.test_imported_accounts import FailingAfterOneBatch
from tests.jobs import sheets
from tests.jobs.test_member_import import run_import

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite, pytest.mark.usefixtures("local_storage")]


@pytest.fixture
def team(alice):
    return team_create(owner=alice, name="Crew")


def test_each_new_member_gets_an_invitation_to_the_origin_of_the_upload(client, alice, team,
                                                                        tmp_path):
    client.force_login(alice)
    job = run_import(client, team, sheets.workbook(tmp_path / "m.xlsx", sheets.members(3)))
    assert job.result["invitations_sent"] == 3
    assert sorted(message.to[0] for message in mail.outbox) == [
        "user0@example.com", "user1@example.com", "user2@example.com"]
    link = re.search(r"(https?://\S+)", mail.outbox[0].body).group(1)
    assert link.startswith("http://testserver/accounts/invitation/")


def test_a_dry_run_invites_nobody(client, alice, team, tmp_path):
    client.force_login(alice)
    job = run_import(client, team, sheets.workbook(tmp_path / "m.xlsx", sheets.members(2)),
                     dry_run="true")
    assert job.result["invitations_sent"] == 0 and mail.outbox == []


def test_a_mail_outage_is_retried_and_the_rest_are_invited(client, alice, team, tmp_path,
                                                           monkeypatch):
    client.force_login(alice)
    rows = accounts.INVITE_BATCH + 3
    monkeypatch.setattr(accounts, "get_connection", FailingAfterOneBatch)
    job = run_import(client, team, sheets.workbook(tmp_path / "m.xlsx", sheets.members(rows)))
    assert (job.status, job.error_code) == ("PENDING", "EMAIL_UNAVAILABLE")
    assert "they are sent when the job runs again" in job.error_message
    assert User.objects.filter(invitation_pending=True).count() == 3
    monkeypatch.undo()
    Job.objects.filter(pk=job.pk).update(run_after=None)  # the backoff, skipped
    execute(JobContext(jobs.job_claim(channels=["jobs.excel"], worker_id="test")))
    job.refresh_from_db()
    assert job.status == "DONE", job.error_message
    assert job.result["counts"]["already_members"] == rows  # the first attempt's
    assert job.result["invitations_sent"] == 3
    assert len(mail.outbox) == rows and not User.objects.filter(invitation_pending=True)
