"""The purge of accounts deleted longer ago than the retention (users_purge_deleted,
`purge_deleted_users`): what goes, what stays, and what a storage failure keeps."""

import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.utils import timezone

from collab import actions as collab
from collab.actions import Submission
from collab.models import Membership, Mindmap, Op
from media_pipeline import storage
from media_pipeline.jobs.actions import job_enqueue
from media_pipeline.models import Job, Video
from project.accounts.actions import token_create, user_soft_delete
from project.accounts.maintenance import PurgeIncomplete, users_purge_deleted
from project.accounts.models import ApiToken, User

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def deleted(user: User, days_ago: int) -> User:
    user_soft_delete(user=user)
    User.objects.filter(pk=user.pk).update(deleted_at=timezone.now() - timedelta(days=days_ago))
    return user


def stored_video(owner: User) -> Video:
    video = Video.objects.create(owner=owner, title="demo", filename="demo.mp4", size=4,
                                 content_type="video/mp4", status=Video.Status.READY)
    storage.put(video.original_key, ContentFile(b"mp4!"))
    storage.put(f"{video.output_prefix}master.m3u8", ContentFile(b"#EXTM3U\n"))
    return video


def stored_keys(root) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


@pytest.fixture
def bobs_traces(team, mindmap, bob):
    """bob edited the map, owns a stored video, a job and a token."""
    root_id = str(next(iter(Mindmap.objects.get(pk=mindmap.pk).nodes.values_list(
        "node_id", flat=True))))
    collab.ops_submit(map_id=mindmap.pk, team_id=team.pk, submissions=[Submission(
        bob.pk, str(uuid.uuid4()), {"kind": "node.create",
                                    "node": {"id": str(uuid.uuid4()), "parent": root_id}})])
    token_create(user=bob, name="script")
    job_enqueue(kind="noop", owner=bob, payload={})
    return stored_video(bob)


def test_an_account_deleted_past_the_retention_is_purged_and_its_traces_with_it(
        local_storage, alice, bob, mindmap, bobs_traces):
    alices_video = stored_video(alice)
    deleted(bob, days_ago=31)
    purged = users_purge_deleted(days=30, dry_run=False)

    assert [user.username for user in purged] == ["bob"]
    assert not User.objects.filter(pk=bob.pk).exists()
    # Personal data and what only bob had: gone.
    assert not Membership.objects.filter(user_id=bob.pk).exists()
    assert not ApiToken.objects.filter(user_id=bob.pk).exists()
    assert not Job.objects.filter(owner_id=bob.pk).exists()
    assert not Video.objects.filter(pk=bobs_traces.pk).exists()
    assert stored_keys(local_storage) == {alices_video.original_key,
                                          f"{alices_video.output_prefix}master.m3u8"}
    # The map's history keeps bob's op, naming no author; alice and her map untouched.
    ops = list(Op.objects.filter(map=mindmap).order_by("seq").values_list("seq", "actor_id"))
    assert ops == [(1, None)]
    assert Mindmap.objects.get(pk=mindmap.pk).created_by_id == alice.pk
    assert User.objects.get(pk=alice.pk).is_deleted is False
    assert Video.objects.filter(pk=alices_video.pk).exists()


def test_the_retention_is_respected_and_live_accounts_are_never_purged(make_user):
    recent = deleted(make_user("recent"), days_ago=29)
    old_live = make_user("veteran")
    User.objects.filter(pk=old_live.pk).update(date_joined=timezone.now() - timedelta(days=900))
    assert users_purge_deleted(days=30, dry_run=False) == []
    assert User.objects.filter(pk__in=[recent.pk, old_live.pk]).count() == 2


def test_a_purged_name_and_email_are_free_for_good(make_user):
    deleted(make_user("carol"), days_ago=40)
    deleted(make_user("carol"), days_ago=35)  # the name was taken again, then deleted again
    assert len(users_purge_deleted(days=30, dry_run=False)) == 2
    assert not User.objects.filter(username__iexact="carol").exists()
    assert not User.objects.filter(email__iexact="carol@example.com").exists()
    assert make_user("carol").email == "carol@example.com"


def test_a_storage_failure_keeps_that_account_whole_for_the_next_purge(
        local_storage, make_user, monkeypatch):
    holder = make_user("holder")
    video = stored_video(holder)
    deleted(holder, days_ago=60)
    other = deleted(make_user("other"), days_ago=60)

    def refuse(prefix):
        raise storage.StorageError("delete", prefix, "AccessDenied", transient=False)

    monkeypatch.setattr(storage, "delete_prefix", refuse)
    with pytest.raises(PurgeIncomplete) as incomplete:
        users_purge_deleted(days=30, dry_run=False)
    assert [user.pk for user in incomplete.value.purged] == [other.pk]
    assert f"user {holder.pk}: StorageError" in str(incomplete.value)
    assert User.objects.filter(pk=holder.pk).exists()
    assert Video.objects.filter(pk=video.pk).exists()  # its row back with its files

    monkeypatch.undo()
    assert [user.pk for user in users_purge_deleted(days=30, dry_run=False)] == [holder.pk]
    assert stored_keys(local_storage) == set()


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=out)
    return out.getvalue()


def test_the_command_lists_with_dry_run_then_purges(make_user):
    ghost = deleted(make_user("ghost"), days_ago=45)
    dry = run("purge_deleted_users", "--days", "30", "--dry-run")
    assert f"{ghost.pk}\tghost\tdeleted " in dry
    assert "would purge 1 account(s) deleted over 30 days ago" in dry
    assert User.objects.filter(pk=ghost.pk).exists()
    assert "purged 1 account(s)" in run("purge_deleted_users", "--days", "30")
    assert not User.objects.filter(pk=ghost.pk).exists()
    with pytest.raises(CommandError, match="at least 1"):
        run("purge_deleted_users", "--days", "0")
