"""What team management does to open map sockets: a deleted map's close 4404, so do the
maps of a deleted team, and a removed member's close 4403; other maps stay open."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from collab import actions, queries, team_actions

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("hub_cleanup")]

CLOSED_NOT_FOUND = {"type": "websocket.close", "code": 4404}


async def test_deleting_a_map_closes_its_sockets_4404_and_no_other(open_map, alice, bob,
                                                                   team, mindmap):
    other = await database_sync_to_async(actions.map_create)(team=team, title="Other",
                                                             actor=alice)
    watching, editing = (await open_map(bob, team.pk, mindmap.pk),
                         await open_map(alice, team.pk, mindmap.pk))
    elsewhere = await open_map(bob, team.pk, other.pk)
    for ws in (watching, editing, elsewhere):
        await ws.hello()
    await database_sync_to_async(team_actions.map_delete)(map_id=mindmap.pk,
                                                          actor_id=alice.pk)
    for ws in (watching, editing):
        assert await ws.ws.receive_output(timeout=3) == CLOSED_NOT_FOUND
    await elsewhere.op({"kind": "node.create", "node": {
        "id": "6a1f6c2e-0000-4000-8000-000000000001", "parent": None, "title": "x"}})
    assert (await elsewhere.expect("reject"))["op_id"]  # still open and answering
    await open_map(bob, team.pk, mindmap.pk, expect_close=4404)  # and it cannot reopen


async def test_deleting_a_team_closes_the_sockets_of_all_its_maps(open_map, alice, bob, team,
                                                                  mindmap):
    other = await database_sync_to_async(actions.map_create)(team=team, title="Other",
                                                             actor=alice)
    sockets = [await open_map(bob, team.pk, mindmap.pk), await open_map(alice, team.pk, other.pk)]
    for ws in sockets:
        await ws.hello()
    await database_sync_to_async(team_actions.team_delete)(team_id=team.pk, actor_id=alice.pk)
    for ws in sockets:
        assert await ws.ws.receive_output(timeout=3) == CLOSED_NOT_FOUND
    await open_map(alice, team.pk, other.pk, expect_close=4404)


async def test_a_map_deleted_right_after_a_hello_read_its_snapshot_still_closes_the_socket(
        open_map, alice, bob, team, mindmap, monkeypatch):
    """The deletion commits between the hello's access check and its welcome: the
    socket is not in the room yet, and is closed all the same."""
    read = queries.map_snapshot

    def read_then_deleted(*, map_id):
        snapshot = read(map_id=map_id)
        team_actions.map_delete(map_id=map_id, actor_id=alice.pk)
        return snapshot

    monkeypatch.setattr(queries, "map_snapshot", read_then_deleted)
    ws = await open_map(bob, team.pk, mindmap.pk)
    await ws.ws.send_json_to({"type": "hello", "client_id": ws.client_id, "since": None})
    output = await ws.ws.receive_output(timeout=3)
    if output["type"] == "websocket.send":  # the welcome may go out before the close
        output = await ws.ws.receive_output(timeout=3)
    assert output == CLOSED_NOT_FOUND
    await asyncio.sleep(0)


async def test_a_removed_member_is_closed_4403_and_the_owner_stays(open_map, alice, bob,
                                                                   team, mindmap):
    removed, staying = (await open_map(bob, team.pk, mindmap.pk),
                        await open_map(alice, team.pk, mindmap.pk))
    for ws in (removed, staying):
        await ws.hello()
    await database_sync_to_async(team_actions.membership_end)(
        team_id=team.pk, actor_id=alice.pk, user_id=bob.pk)
    assert await removed.ws.receive_output(timeout=3) == {"type": "websocket.close",
                                                          "code": 4403}
    assert await staying.ws.receive_nothing(timeout=0.5)
    await staying.close()
