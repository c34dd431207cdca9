from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from project.accounts.actions import user_soft_delete
from project.accounts.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=out)
    return out.getvalue()


@pytest.fixture
def stale_signup():
    user = User.objects.create(username="ghost", email="ghost@example.com", is_active=False)
    User.objects.filter(pk=user.pk).update(date_joined=timezone.now() - timedelta(days=5))
    return user


def test_purge_dry_run_lists_but_keeps(stale_signup):
    output = run("purge_unverified_users", "--days", "3", "--dry-run")
    assert "ghost" in output and "would delete 1" in output
    assert User.objects.filter(pk=stale_signup.pk).exists()


def test_purge_deletes_only_old_never_verified_signups(stale_signup, make_user):
    recent = User.objects.create(username="fresh", email="fresh@example.com", is_active=False)
    imported = make_user("imported")  # active: created by an owner, not self-signed-up
    User.objects.filter(pk=imported.pk).update(date_joined=timezone.now() - timedelta(days=9))
    output = run("purge_unverified_users", "--days", "3")
    assert "deleted 1" in output
    assert not User.objects.filter(pk=stale_signup.pk).exists()
    assert User.objects.filter(pk__in=[recent.pk, imported.pk]).count() == 2


def test_the_unverified_purge_leaves_a_soft_deleted_account_to_its_retention(make_user):
    """A deleted account is inactive too: within its retention it may be restored, and
    its purge (purge_deleted_users) erases its stored files first."""
    invited = make_user("invited")  # imported, never verified nor signed in
    User.objects.filter(pk=invited.pk).update(date_joined=timezone.now() - timedelta(days=9))
    user_soft_delete(user=User.objects.get(pk=invited.pk))
    assert "deleted 0" in run("purge_unverified_users", "--days", "3")
    assert User.objects.filter(pk=invited.pk, is_deleted=True).exists()


def test_duplicates_report_then_fix_frees_names(make_user):
    for _ in range(2):
        user_soft_delete(user=make_user("carol"))
    live = make_user("carol")
    report = run("check_deleted_user_duplicates")
    assert "username 'CAROL'" in report and "2 deleted account(s) to scrub" in report

    dry = run("check_deleted_user_duplicates", "--fix", "--dry-run")
    assert "would scrub 2" in dry
    assert User.objects.filter(username="carol").count() == 3

    assert "scrubbed 2" in run("check_deleted_user_duplicates", "--fix")
    assert list(User.objects.filter(username__iexact="carol")) == [live]
    assert User.objects.filter(username__startswith="deleted-", email="").count() == 2
    assert "0 shared" in run("check_deleted_user_duplicates")


def test_issue_api_token_prints_a_working_token(client, alice):
    token = run("issue_api_token", "alice").strip()
    assert client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
