"""Authorization at every step of a mindmap socket, not only at connect."""

import asyncio
import uuid

import pytest
from channels.db import database_sync_to_async
from django.db import OperationalError

from collab import actions, consumers
from collab.models import Membership

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("hub_cleanup")]


async def test_a_member_removed_before_hello_is_closed_at_once_without_a_snapshot(
        open_map, bob, team, mindmap):
    ws = await open_map(bob, team.pk, mindmap.pk)
    await database_sync_to_async(actions.membership_remove)(team=team, user=bob)
    assert await ws.ws.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}


async def test_hello_checks_membership_again(open_map, bob, team, mindmap):
    ws = await open_map(bob, team.pk, mindmap.pk)
    # Removed without the revocation event (another instance's view of the world):
    await database_sync_to_async(Membership.objects.filter(user=bob).delete)()
    await ws.ws.send_json_to({"type": "hello", "client_id": ws.client_id, "since": None})
    assert await ws.ws.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}


async def test_a_resync_hello_of_a_removed_member_gets_nothing(open_map, bob, team, mindmap):
    ws = await open_map(bob, team.pk, mindmap.pk)
    await ws.hello()
    await database_sync_to_async(Membership.objects.filter(user=bob).delete)()
    await ws.ws.send_json_to({"type": "hello", "client_id": ws.client_id, "since": None})
    assert (await ws.ws.receive_output(timeout=3))["code"] == 4403


async def test_a_client_id_is_bound_to_its_user(open_map, alice, bob, team, mindmap):
    shared = str(uuid.uuid4())
    watcher = await open_map(alice, team.pk, mindmap.pk)
    owner, thief = (await open_map(alice, team.pk, mindmap.pk),
                    await open_map(bob, team.pk, mindmap.pk))
    await watcher.hello()
    owner.client_id = thief.client_id = shared
    mine, theirs = (await owner.hello())["you"], (await thief.hello())["you"]
    assert mine["client_id"] != theirs["client_id"]
    assert (await owner.hello())["you"] == mine  # stable for its user: presence survives
    await thief.ws.send_json_to({"type": "presence", "cursor": {"x": 6, "y": 6},
                                 "selection": [], "drag": None})
    await owner.ws.send_json_to({"type": "presence", "cursor": {"x": 1, "y": 1},
                                 "selection": [], "drag": None})
    seen: dict[str, dict] = {}
    while len(seen) < 2:
        for peer in (await watcher.expect("presence"))["peers"]:
            seen[peer["client_id"]] = peer
    assert seen[mine["client_id"]]["user"]["id"] == alice.pk
    assert seen[mine["client_id"]]["cursor"] == {"x": 1.0, "y": 1.0}
    assert seen[theirs["client_id"]]["user"]["id"] == bob.pk
    await thief.close()
    left = await watcher.expect("peer.leave")
    assert left["client_id"] == theirs["client_id"]  # the owner's presence stays
    for ws in (watcher, owner):
        await ws.close()


async def test_hello_is_rate_limited_per_connection(open_map, alice, team, mindmap, settings):
    settings.COLLAB_HELLOS_BURST = 2
    ws = await open_map(alice, team.pk, mindmap.pk)
    await ws.hello()
    await ws.hello()
    await ws.ws.send_json_to({"type": "hello", "client_id": ws.client_id, "since": None})
    refused = await ws.expect("error")
    assert (refused["code"], refused["of"]) == ("rate_limited", "hello")
    assert 0 < refused["retry_after_ms"] <= 5000
    await ws.close()


async def test_a_presence_flood_is_refused_once_a_second_and_the_socket_stays(
        open_map, alice, bob, team, mindmap, settings):
    settings.COLLAB_PRESENCE_BURST = 5
    ws = await open_map(alice, team.pk, mindmap.pk)
    await ws.hello()
    for x in range(40):
        await ws.ws.send_json_to({"type": "presence", "cursor": {"x": x, "y": 0},
                                  "selection": [], "drag": None})
    refusals = []
    while not await ws.ws.receive_nothing(timeout=0.2):
        refusals.append(await ws.recv())
    assert [(f["type"], f["code"], f["of"]) for f in refusals] == [
        ("error", "rate_limited", "presence")]
    assert (await ws.hello())["type"] == "welcome"  # still open
    await ws.close()


async def test_a_database_outage_at_connect_says_unavailable_and_closes_1013(
        open_map, alice, team, mindmap, monkeypatch):
    def unreachable(*args):
        raise OperationalError("connection refused")

    monkeypatch.setattr(consumers.CONNECT_CHECKS, "read_many", unreachable)
    ws = await open_map(alice, team.pk, mindmap.pk)
    frame = await ws.recv()
    assert (frame["type"], frame["code"]) == ("error", "unavailable")
    assert await ws.ws.receive_output(timeout=3) == {"type": "websocket.close", "code": 1013}


async def test_a_revocation_during_the_access_check_is_not_lost(open_map, bob, team, mindmap,
                                                               monkeypatch):
    """The socket listens before it checks: a removal committed in between closes it."""
    checked = consumers.CONNECT_CHECKS.read_many

    def check_then_removed(*args):
        role = checked(*args)
        actions.membership_remove(team=team, user=bob)  # lands right after the check
        return role

    monkeypatch.setattr(consumers.CONNECT_CHECKS, "read_many", check_then_removed)
    ws = await open_map(bob, team.pk, mindmap.pk)
    assert await ws.ws.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}
    await asyncio.sleep(0)
