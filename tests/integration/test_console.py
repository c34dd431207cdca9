"""The ops console (the Django admin) through Django's test client: staff only; each
action runs the service the API runs, reports per object what it did or why not, and
logs it with the staff user and the request id."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.contrib.messages import get_messages
from django.utils import timezone

from collab.models import Membership
from media_pipeline.jobs import actions as jobs
from media_pipeline.models import Job, Video
from project.accounts.actions import token_create, user_soft_delete
from project.accounts.models import ApiToken, User
from project.logcontext import ContextFilter
from project.realtime import group_name

pytestmark = [pytest.mark.django_db]
JOBS = "/admin/media_pipeline/job/"


@pytest.fixture
def staff(client, make_user):
    root = make_user("root", is_staff=True, is_superuser=True)
    client.force_login(root)
    return root


def failed(owner, code: str, **fields) -> Job:
    job = jobs.job_enqueue(kind="noop", owner=owner, payload={}, **fields)
    Job.objects.filter(pk=job.pk).update(status="FAILED", error_code=code, attempts=1,
                                         error_message=f"it failed with {code}",
                                         finished_at=timezone.now())
    return Job.objects.get(pk=job.pk)


def act(client, url: str, action: str, objects) -> list[str]:
    """Run an admin action on `objects`; the messages the operator sees."""
    response = client.post(url, {"action": action, "index": 0,
                                 "_selected_action": [str(item.pk) for item in objects]},
                           follow=True)
    assert response.status_code == 200
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.mark.parametrize("path", [JOBS, "/admin/media_pipeline/video/",
                                  "/admin/accounts/user/", "/admin/collab/team/",
                                  "/admin/collab/membership/", "/admin/collab/mindmap/"])
def test_the_console_is_for_staff_only(client, alice, make_user, path):
    assert client.get(path).status_code == 302  # to the admin's sign-in
    client.force_login(alice)
    answer = client.get(path)
    assert answer.status_code == 302 and answer["Location"].startswith("/admin/login/")
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    assert client.get(path).status_code == 200


def test_a_non_staff_user_cannot_run_an_action(client, alice):
    job = failed(alice, "INTERNAL")
    client.force_login(alice)
    client.post(JOBS, {"action": "retry", "_selected_action": [str(job.pk)]})
    assert Job.objects.get(pk=job.pk).status == "FAILED"


def test_jobs_filter_by_status_kind_error_code_team_and_age(client, staff, alice, team):
    mine = failed(alice, "INTERNAL", team_id=team.pk)
    failed(alice, "INTERNAL")  # no team
    failed(alice, "STORAGE_UNAVAILABLE", team_id=team.pk)
    old = failed(alice, "INTERNAL", team_id=team.pk)
    Job.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=8))
    jobs.job_enqueue(kind="noop", owner=alice, payload={}, team_id=team.pk)  # PENDING

    def listed(query: str) -> set:
        response = client.get(f"{JOBS}?{query}")
        assert response.status_code == 200
        return {job.pk for job in response.context["cl"].result_list}

    assert listed(f"status__exact=FAILED&kind=noop&error_code=INTERNAL&age=1d"
                  f"&team__id__exact={team.pk}") == {mine.pk}
    assert listed(f"error_code=INTERNAL&age=older&team__id__exact={team.pk}") == {old.pk}
    page = client.get(f"{JOBS}?status__exact=FAILED").content.decode()
    assert "it failed with STORAGE_UNAVAILABLE" in page and "1 / 5" in page  # error, attempts


def test_bulk_retry_retries_the_failed_and_says_why_each_other_was_skipped(
        client, staff, alice, caplog):
    caplog.handler.addFilter(ContextFilter())  # the request id, as every handler adds it
    retryable, on_input = failed(alice, "INTERNAL"), failed(alice, "INPUT_INVALID")
    done = jobs.job_enqueue(kind="noop", owner=alice, payload={})
    Job.objects.filter(pk=done.pk).update(status="DONE")
    running = jobs.job_enqueue(kind="noop", owner=alice, payload={})
    assert jobs.job_claim(channels=["jobs.excel"], worker_id="worker-1").pk == running.pk
    with caplog.at_level(logging.INFO, logger="project.console"):
        said = act(client, JOBS, "retry", [retryable, on_input, done, running])
    assert Job.objects.get(pk=retryable.pk).status == "PENDING"
    assert Job.objects.get(pk=on_input.pk).status == "FAILED"
    assert said[0] == "Retry: 1 done."
    assert f"{on_input.pk} FAILED skipped: This job failed with INPUT_INVALID" in said[1]
    assert said[2].endswith("skipped: This job is DONE: only a FAILED job can be retried.")
    # RUNNING -> PENDING is a stopping worker's release, never a retry: the job stays
    # with its worker, and no other worker may claim it.
    assert said[3].endswith("skipped: This job is RUNNING: only a FAILED job can be "
                            "retried.")
    still = Job.objects.get(pk=running.pk)
    assert (still.status, still.lease_owner, still.attempts) == ("RUNNING", "worker-1", 1)
    lines = [record for record in caplog.records if record.name == "project.console"]
    assert [record.levelname for record in lines] == ["INFO", "WARNING", "WARNING", "WARNING"]
    assert all("by root (id" in record.getMessage() and record.staff_user == "root"
               and len(record.request_id) == 32 for record in lines)


def test_bulk_cancel_and_reprocess_go_through_their_services(client, staff, alice):
    pending = jobs.job_enqueue(kind="noop", owner=alice, payload={})
    ended = failed(alice, "INTERNAL")
    said = act(client, JOBS, "cancel", [pending, ended])
    assert Job.objects.get(pk=pending.pk).status == "CANCELLED"
    assert said[0] == "Cancel: 1 done." and "cannot become CANCELLED: it has already ended" \
        in said[1]
    said = act(client, JOBS, "reprocess", [ended])
    assert said == [f"Reprocess: noop {ended.pk} FAILED skipped: Jobs of kind noop cannot "
                    f"be reprocessed: their input is not kept once they end. Start it again "
                    f"with a new upload."]


def test_jobs_and_videos_cannot_be_edited_or_deleted_in_the_console(client, staff, alice):
    job = failed(alice, "INTERNAL")
    page = client.get(f"{JOBS}{job.pk}/change/")
    assert page.status_code == 200 and b'name="status"' not in page.content
    assert client.post(f"{JOBS}{job.pk}/delete/").status_code == 403
    assert client.get(f"{JOBS}add/").status_code == 403


def test_videos_list_their_original_and_a_purged_one_is_not_reprocessed(
        client, staff, alice, team):
    job = jobs.job_enqueue(kind="video.encode", owner=alice, payload={})
    Job.objects.filter(pk=job.pk).update(status="DONE")
    video = Video.objects.create(owner=alice, team=team, title="Launch", filename="l.mp4",
                                 content_type="video/mp4", size=3 * 2**20, job=job,
                                 status="READY", ready_at=timezone.now(),
                                 original_deleted_at=timezone.now(),
                                 renditions=[{"name": "360p", "width": 640, "height": 360,
                                              "bandwidth": 800_000}])
    listing = client.get("/admin/media_pipeline/video/?original=purged").content.decode()
    assert "Launch" in listing and "3.0\xa0MB" in listing and 'alt="False"' in listing
    assert "Launch" not in client.get("/admin/media_pipeline/video/?original=kept"
                                      ).content.decode()
    detail = client.get(f"/admin/media_pipeline/video/{video.pk}/change/").content.decode()
    assert "360p 640x360 800 kb/s" in detail
    said = act(client, "/admin/media_pipeline/video/", "reprocess", [video])
    assert "skipped: Its original was purged on" in said[0]
    assert Video.objects.get(pk=video.pk).job_id == job.pk


def test_users_are_soft_deleted_and_restored_by_the_actions_only(client, staff, alice, bob,
                                                                 make_user):
    _, raw = token_create(user=alice, name="ci")
    said = act(client, "/admin/accounts/user/", "soft_delete", [alice, staff])
    assert said == ["Soft delete: 1 done.", "Soft delete: root skipped: This is your own "
                    "account: another staff user must delete it."]
    assert User.objects.get(pk=alice.pk).is_deleted and not ApiToken.objects.exists()
    assert client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401
    user_soft_delete(user=bob)
    make_user("bob", email="bob2@example.com")
    said = act(client, "/admin/accounts/user/", "restore", [alice, bob])
    assert said[0] == "Restore: 1 done."
    assert said[1] == ('Restore: bob skipped: Its username "bob" has since been taken by a '
                       'live account: that account must change it (or be deleted) first.')
    assert not User.objects.get(pk=alice.pk).is_deleted and User.objects.get(pk=bob.pk).is_deleted
    # The raw flag cannot be flipped, and the admin's hard delete is off.
    form = client.get(f"/admin/accounts/user/{bob.pk}/change/").content.decode()
    assert 'name="is_deleted"' not in form and 'name="deleted_at"' not in form
    assert client.post(f"/admin/accounts/user/{bob.pk}/delete/").status_code == 403


def test_a_password_set_in_the_console_revokes_the_persons_tokens(client, staff, alice):
    token_create(user=alice, name="ci")
    answer = client.post(f"/admin/accounts/user/{alice.pk}/password/", {
        "usable_password": "true", "password1": "a-new-horse-staple-9",
        "password2": "a-new-horse-staple-9"})
    assert answer.status_code == 302
    assert not ApiToken.objects.filter(user=alice).exists()


def told(user: User, act_then) -> dict:
    """What `user`'s sockets are told while `act_then()` runs (its commit included)."""
    async def watch():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(group_name("user", user.pk), channel)
        await sync_to_async(act_then)()  # in this thread: the test's database connection
        return await asyncio.wait_for(layer.receive(channel), 5)
    return async_to_sync(watch)()


def test_removing_a_member_in_the_team_inline_closes_their_sockets_of_that_team(
        client, staff, team, bob, django_capture_on_commit_callbacks):
    kept, removed = Membership.objects.order_by("pk")  # alice (owner), bob

    def post_the_team_form():
        with django_capture_on_commit_callbacks(execute=True):
            answer = client.post(f"/admin/collab/team/{team.pk}/change/", {
                "name": team.name, "memberships-TOTAL_FORMS": 2,
                "memberships-INITIAL_FORMS": 2, "memberships-MIN_NUM_FORMS": 0,
                "memberships-MAX_NUM_FORMS": 1000,
                "memberships-0-id": kept.pk, "memberships-0-team": team.pk,
                "memberships-1-id": removed.pk, "memberships-1-team": team.pk,
                # A disabled field keeps its value whatever is posted.
                "memberships-0-role": "member", "memberships-1-DELETE": "on"})
        assert answer.status_code == 302, answer.content

    message = told(bob, post_the_team_form)
    assert (message["type"], message["team"], message["code"]) == ("user.revoke", team.pk, 4403)
    assert list(Membership.objects.values_list("user__username", "role")) == [
        ("alice", "owner")]


def test_deleting_memberships_from_their_list_goes_through_the_service(
        client, staff, team, bob, django_capture_on_commit_callbacks):
    membership = Membership.objects.get(user=bob)

    def delete_selected():
        with django_capture_on_commit_callbacks(execute=True):
            client.post("/admin/collab/membership/", {
                "action": "remove", "_selected_action": [str(membership.pk)]})

    message = told(bob, delete_selected)
    assert (message["type"], message["team"]) == ("user.revoke", team.pk)
    assert not Membership.objects.filter(user=bob).exists()


def test_an_owner_added_in_the_memberships_list_follows_the_teams_jobs_at_once(
        client, staff, team, make_user, django_capture_on_commit_callbacks):
    carol = make_user("carol")

    def add():
        with django_capture_on_commit_callbacks(execute=True):
            answer = client.post("/admin/collab/membership/add/", {
                "team": team.pk, "user": carol.pk, "role": "owner"})
        assert answer.status_code == 302, answer.content

    assert told(carol, add) == {"type": "user.teams", "user": carol.pk}  # membership_ensure
    assert Membership.objects.get(user=carol).role == "owner"


def test_teams_and_maps_cannot_be_hard_deleted_or_their_flag_flipped(client, staff, team,
                                                                     mindmap):
    assert client.post(f"/admin/collab/team/{team.pk}/delete/").status_code == 403
    assert client.post(f"/admin/collab/mindmap/{mindmap.pk}/delete/").status_code == 403
    form = client.get(f"/admin/collab/team/{team.pk}/change/").content.decode()
    assert 'name="is_deleted"' not in form


def test_roles_change_by_the_actions_and_a_team_keeps_its_last_owner(
        client, staff, team, bob, django_capture_on_commit_callbacks):
    memberships = "/admin/collab/membership/"
    alice_owner, bob_member = Membership.objects.order_by("pk")
    with django_capture_on_commit_callbacks(execute=True):
        assert act(client, memberships, "make_owner", [bob_member]) == ["Make owner: 1 done."]
    shown = act(client, memberships, "make_member", [alice_owner, bob_member])
    assert shown[0] == "Make member: 1 done."
    assert "is the last owner of team" in shown[1]  # the second would leave none
    assert sorted(Membership.objects.values_list("role", flat=True)) == ["member", "owner"]
    last_owner = Membership.objects.get(role="owner")  # whichever the list took last
    # Nor may the last owner be removed from the list.
    shown = act(client, memberships, "remove", [last_owner])
    assert shown == [f"Remove member: {last_owner} skipped: user {last_owner.user_id} is the "
                     f"last owner of team {team.pk}"]  # no "deleted" for what was kept
    assert Membership.objects.filter(pk=last_owner.pk, role="owner").exists()
    assert client.post(f"{memberships}{last_owner.pk}/delete/").status_code == 403


def test_teams_and_maps_are_soft_deleted_and_restored_by_the_actions(
        client, staff, team, mindmap, bob, django_capture_on_commit_callbacks):
    maps, teams = "/admin/collab/mindmap/", "/admin/collab/team/"

    def delete_the_map():
        with django_capture_on_commit_callbacks(execute=True):
            assert act(client, maps, "soft_delete", [mindmap]) == ["Delete map: 1 done."]

    async def closed_by(act_then) -> dict:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(group_name("map", mindmap.pk), channel)
        await sync_to_async(act_then)()
        return await asyncio.wait_for(layer.receive(channel), 5)

    message = async_to_sync(closed_by)(delete_the_map)
    assert (message["type"], message["code"]) == ("map.closed", 4404)
    mindmap.refresh_from_db()
    assert mindmap.is_deleted
    assert act(client, maps, "restore", [mindmap]) == ["Restore map: 1 done."]
    mindmap.refresh_from_db()
    assert not mindmap.is_deleted
    with django_capture_on_commit_callbacks(execute=True):
        assert act(client, teams, "soft_delete", [team]) == ["Delete team: 1 done."]
    team.refresh_from_db()
    assert team.is_deleted
    # A map of a deleted team is not managed until the team is back.
    assert "skipped" in act(client, maps, "soft_delete", [mindmap])[0]
    with django_capture_on_commit_callbacks(execute=True):
        assert act(client, teams, "restore", [team]) == ["Restore team: 1 done."]
    team.refresh_from_db()
    assert not team.is_deleted and Membership.objects.filter(team=team).count() == 2


@pytest.mark.parametrize("url,action,model", [
    ("/admin/collab/team/", "soft_delete", "team"),
    ("/admin/accounts/user/", "soft_delete", "user"),
    (JOBS, "retry", "job"),
    ("/admin/collab/membership/", "remove", "membership"),
])
def test_a_staff_user_who_may_only_view_a_list_runs_none_of_its_actions(
        client, make_user, alice, team, url, action, model):
    """Django offers an action without a permission to anyone who may view the list:
    every console action needs the model's change permission."""
    from django.contrib.auth.models import Permission

    viewer = make_user("viewer", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename__startswith="view_"))
    client.force_login(viewer)
    listing = client.get(url)
    assert listing.status_code == 200 and f'value="{action}"' not in listing.content.decode()
    target = {"team": team, "user": alice, "membership": Membership.objects.first(),
              "job": failed(alice, "STORAGE_UNAVAILABLE")}[model]
    client.post(url, {"action": action, "index": 0, "_selected_action": [str(target.pk)]})
    target.refresh_from_db()
    assert (getattr(target, "is_deleted", False), getattr(target, "status", "")) == (
        False, "FAILED" if model == "job" else "")
    assert Membership.objects.count() == 2
    # With the model's change permission, the same staff user is offered the action.
    viewer.user_permissions.add(Permission.objects.get(codename=f"change_{model}"))
    viewer = User.objects.get(pk=viewer.pk)  # permissions are cached on the instance
    client.force_login(viewer)
    assert f'value="{action}"' in client.get(url).content.decode()


def test_a_teams_page_reads_its_members_in_a_constant_number_of_queries(
        client, staff, team, make_user):
    from collab import actions

    def page_queries() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/admin/collab/team/{team.pk}/change/").status_code == 200
        return len(captured)

    before = page_queries()
    for n in range(15):
        actions.membership_ensure(team=team, user=make_user(f"member{n}"))
    assert page_queries() == before
