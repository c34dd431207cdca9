"""/ws/jobs/ follows who may see a team's jobs while the socket is open, and loses no
event committed while it connects."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from collab import actions
from media_pipeline.jobs import consumers
from media_pipeline.jobs.actions import job_enqueue
from project.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis]


@pytest.fixture
def team(alice, bob):
    team = actions.team_create(name="Crew", owner=alice)
    actions.membership_ensure(team=team, user=bob, role="owner")
    return team


async def jobs_socket(token_for, user) -> WebsocketCommunicator:
    token = await database_sync_to_async(token_for)(user)
    socket = WebsocketCommunicator(application, f"/ws/jobs/?token={token}")
    assert (await socket.connect())[0]
    return socket


def team_job(team, owner):
    return job_enqueue(kind="noop", owner=owner, team_id=team.pk, payload={})


async def next_job(socket, timeout: float = 3) -> dict:
    frame = await socket.receive_json_from(timeout=timeout)
    assert frame["type"] == "job", frame
    return frame["job"]


async def test_a_removed_owner_stops_receiving_the_teams_jobs_at_once(token_for, alice, bob,
                                                                     team):
    socket = await jobs_socket(token_for, bob)
    first = await database_sync_to_async(team_job)(team, alice)
    assert (await next_job(socket))["id"] == str(first.id)
    await database_sync_to_async(actions.membership_remove)(team=team, user=bob)
    await database_sync_to_async(team_job)(team, alice)
    assert await socket.receive_nothing(timeout=0.5)
    await socket.disconnect()


async def test_an_owner_of_a_deleted_team_stops_receiving_its_jobs(token_for, alice, bob,
                                                                   team):
    from collab.team_actions import team_delete

    socket = await jobs_socket(token_for, bob)
    first = await database_sync_to_async(team_job)(team, alice)
    assert (await next_job(socket))["id"] == str(first.id)
    await database_sync_to_async(team_delete)(team_id=team.pk, actor_id=alice.pk)
    await database_sync_to_async(team_job)(team, alice)
    assert await socket.receive_nothing(timeout=0.5)
    await socket.disconnect()


async def test_the_snapshot_leaves_out_a_deleted_teams_jobs_but_for_their_owner(
        token_for, alice, bob, team):
    from collab.team_actions import team_delete

    job = await database_sync_to_async(team_job)(team, alice)
    await database_sync_to_async(team_delete)(team_id=team.pk, actor_id=alice.pk)
    other_owner = await jobs_socket(token_for, bob)
    assert await other_owner.receive_nothing(timeout=0.5)
    await other_owner.disconnect()
    own = await jobs_socket(token_for, alice)
    assert (await next_job(own))["id"] == str(job.id)
    await own.disconnect()


async def test_a_new_owner_gets_the_teams_live_jobs_without_reconnecting(token_for, alice,
                                                                        make_user, team):
    carol = await database_sync_to_async(make_user)("carol")
    socket = await jobs_socket(token_for, carol)
    waiting = await database_sync_to_async(team_job)(team, alice)
    assert await socket.receive_nothing(timeout=0.3)  # not an owner yet
    await database_sync_to_async(actions.membership_ensure)(team=team, user=carol,
                                                            role="owner")
    assert (await next_job(socket))["id"] == str(waiting.id)  # the live ones, at once
    later = await database_sync_to_async(team_job)(team, alice)
    assert (await next_job(socket))["id"] == str(later.id)
    await socket.disconnect()


async def test_a_member_who_is_no_owner_never_sees_team_jobs(token_for, alice, make_user,
                                                            team):
    dave = await database_sync_to_async(make_user)("dave")
    await database_sync_to_async(actions.membership_ensure)(team=team, user=dave)
    socket = await jobs_socket(token_for, dave)
    await database_sync_to_async(team_job)(team, alice)
    assert await socket.receive_nothing(timeout=0.5)
    await socket.disconnect()


async def test_an_event_committed_while_the_snapshot_is_read_is_not_lost(token_for, alice,
                                                                         team, monkeypatch):
    made = []
    read = consumers.snapshot

    def snapshot_with_a_job_landing(user_id, teams=None):
        jobs = read(user_id, teams)
        made.append(team_job(team, alice))  # committed after the read, before any send
        return jobs

    monkeypatch.setattr(consumers, "snapshot", snapshot_with_a_job_landing)
    socket = await jobs_socket(token_for, alice)
    assert (await next_job(socket))["id"] == str(made[0].id)
    await socket.disconnect()
