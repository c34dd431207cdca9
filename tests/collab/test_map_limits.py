"""A map's size and what one user can make the server do, through the ASGI application:
the content limit, snapshots in parts and shared reads, socket and hello caps, the
presence list, op batches and the REST snapshot, every frame within its budget."""

import asyncio
import json
import uuid

import pytest
from channels.db import database_sync_to_async
from django.test import override_settings

from collab import actions, op_fields, presence, queries
from collab.models import Mindmap, Node
from project.ws_frames import MAX_SEND_BYTES
from tests.collab.live import database_nodes

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.sqlite,
              pytest.mark.usefixtures("hub_cleanup")]

EMOJI = "\U0001f600"


def new_id() -> str:
    return str(uuid.uuid4())


def root_id(map_id: int) -> str:
    return next(iter(queries.snapshot_nodes(map_id)))["id"]


def fill(mindmap, actor, count: int, body: str) -> list[str]:
    """`count` children of the root with `body`, committed as one batch."""
    root, ids = root_id(mindmap.pk), [new_id() for _ in range(count)]
    outcomes = actions.ops_submit(map_id=mindmap.pk, team_id=mindmap.team_id, submissions=[
        actions.Submission(actor.pk, new_id(), {"kind": "node.create", "node": {
            "id": node, "parent": root, "title": f"n{index}", "body": body}})
        for index, node in enumerate(ids)])
    assert all(outcome.new for outcome in outcomes), outcomes
    return ids


def counted_content(map_id: int) -> tuple[int, int]:
    """The map's running total, and the total counted afresh from its live nodes."""
    nodes = Node.objects.filter(map_id=map_id, deleted_seq__isnull=True)
    fresh = sum(op_fields.text_size(n.title) + op_fields.text_size(n.body) for n in nodes)
    assert all((n.title_bytes, n.body_bytes) ==
               (op_fields.text_size(n.title), op_fields.text_size(n.body)) for n in nodes)
    return Mindmap.objects.get(pk=map_id).content_bytes, fresh


@override_settings(COLLAB_MAX_CONTENT_BYTES_PER_MAP=3_000)
async def test_a_full_map_refuses_more_text_as_too_large_and_says_what_to_do(
        open_map, alice, team, mindmap):
    ws = await open_map(alice, team.pk, mindmap.pk)
    root = (await ws.hello())["snapshot"]["nodes"][0]["id"]
    first = new_id()
    await ws.op({"kind": "node.create", "node": {"id": first, "parent": root,
                                                 "body": EMOJI * 600}})  # 2,400 bytes
    await ws.events(1)
    op_id = await ws.op({"kind": "node.create", "node": {"id": new_id(), "parent": root,
                                                         "body": "x" * 600}})
    reject = await ws.expect("reject")
    assert (reject["op_id"], reject["code"]) == (op_id, "too_large")
    assert "This map is full" in reject["detail"] and "3,000" in reject["detail"]
    await ws.op({"kind": "node.update", "id": first, "set": {"body": "short"}})
    await ws.op({"kind": "node.create", "node": {"id": new_id(), "parent": root,
                                                 "body": "x" * 600}})
    await ws.events(2)  # room again once the first node shrank
    total, fresh = await database_sync_to_async(counted_content)(mindmap.pk)
    assert total == fresh == len("Roadmap") + len("short") + 600
    await ws.op({"kind": "node.delete", "id": first})
    await ws.events(1)
    assert await database_sync_to_async(counted_content)(mindmap.pk) == (607, 607)
    await ws.close()


async def test_a_map_past_one_frame_comes_in_parts_and_old_clients_still_get_one(
        open_map, alice, bob, team, mindmap):
    await database_sync_to_async(fill)(mindmap, alice, 9, EMOJI * op_fields.MAX_BODY)
    _, expected = await database_sync_to_async(database_nodes)(mindmap.pk)
    new, old = await open_map(alice, team.pk, mindmap.pk), await open_map(bob, team.pk,
                                                                          mindmap.pk)
    welcome = await new.hello(parts=True)
    assert len(welcome["frames"]) > 1 and max(welcome["frames"]) <= MAX_SEND_BYTES
    assert {n["id"]: n for n in welcome["snapshot"]["nodes"]} == expected
    legacy = await old.hello()  # v1: one frame, which fits unescaped (360 KB)
    assert len(legacy["frames"]) == 1 and "parts" not in legacy["snapshot"]
    assert {n["id"]: n for n in legacy["snapshot"]["nodes"]} == expected
    await new.op({"kind": "node.update", "id": next(iter(expected)), "set": {"x": 1}})
    assert (await old.events(1))[0]["seq"] == (await new.events(1))[0]["seq"]
    await new.close()
    await old.close()


async def test_an_old_client_is_told_and_closed_4413_for_a_map_past_one_message(
        open_map, alice, team, mindmap):
    await database_sync_to_async(fill)(mindmap, alice, 30, EMOJI * op_fields.MAX_BODY)  # 1.2 MB
    ws = await open_map(alice, team.pk, mindmap.pk)
    await ws.ws.send_json_to({"type": "hello", "client_id": ws.client_id, "since": None})
    error = await ws.expect("error")
    assert error["code"] == "too_large" and "snapshot_parts" in error["detail"]
    assert (await ws.ws.receive_output(timeout=3)) == {"type": "websocket.close",
                                                       "code": 4413}


async def test_concurrent_hellos_share_one_snapshot_read(open_map, alice, bob, team, mindmap,
                                                         monkeypatch):
    reads = []
    read = queries.map_snapshot

    def counting(**kwargs):
        reads.append(kwargs["map_id"])
        return read(**kwargs)

    monkeypatch.setattr(queries, "map_snapshot", counting)
    await database_sync_to_async(fill)(mindmap, alice, 20, "text " * 400)
    sockets = [await open_map(user, team.pk, mindmap.pk) for user in (alice, bob) * 4]
    welcomes = await asyncio.gather(*(ws.hello(parts=True) for ws in sockets))
    assert reads == [mindmap.pk]
    assert len({json.dumps(w["snapshot"]) for w in welcomes}) == 1
    assert (await sockets[0].hello(parts=True))["seq"] == 20  # nothing changed: shared
    assert reads == [mindmap.pk]
    node = welcomes[0]["snapshot"]["nodes"][1]["id"]
    await sockets[0].op({"kind": "node.update", "id": node, "set": {"x": 2}})
    await sockets[0].events(1)
    late = await open_map(alice, team.pk, mindmap.pk)
    assert (await late.hello(parts=True))["seq"] == 21
    assert reads == [mindmap.pk, mindmap.pk]  # the map moved on: read again
    for ws in (*sockets, late):
        await ws.close()


async def refused_4429(ws) -> str:
    """The detail of the error a refused socket gets before its close 4429."""
    error = await ws.recv()
    assert error["code"] == "too_many_sockets", error
    assert (await ws.ws.receive_output(timeout=3)) == {"type": "websocket.close",
                                                       "code": 4429}
    return error["detail"]


@override_settings(COLLAB_SOCKETS_PER_USER=3, COLLAB_SOCKETS_PER_ADDRESS=5)
async def test_sockets_are_capped_per_user_and_per_address(open_map, alice, bob, team,
                                                           mindmap):
    mine = [await open_map(alice, team.pk, mindmap.pk, address="10.1.1.1") for _ in range(3)]
    assert "close some tabs" in await refused_4429(
        await open_map(alice, team.pk, mindmap.pk, address="10.1.1.2"))
    theirs = [await open_map(bob, team.pk, mindmap.pk, address="10.1.1.1") for _ in range(2)]
    assert "network address" in await refused_4429(
        await open_map(bob, team.pk, mindmap.pk, address="10.1.1.1"))
    await mine[0].close()
    again = await open_map(alice, team.pk, mindmap.pk, address="10.1.1.3")
    assert (await again.hello())["type"] == "welcome"
    for ws in (*mine[1:], *theirs, again):
        await ws.close()


@override_settings(COLLAB_SOCKETS_PER_USER=3, COLLAB_USER_HELLOS_PER_SECOND=0.01)
async def test_reconnecting_does_not_refill_a_users_hellos(open_map, alice, team, mindmap):
    for _ in range(3):
        ws = await open_map(alice, team.pk, mindmap.pk)
        await ws.hello()
        await ws.close()
    ws = await open_map(alice, team.pk, mindmap.pk)  # a fresh socket: its own bucket is full
    await ws.ws.send_json_to({"type": "hello", "client_id": ws.client_id, "since": None})
    error = await ws.recv()
    assert (error["code"], error["of"]) == ("rate_limited", "hello")
    assert error["retry_after_ms"] > 1000 and "from your account" in error["detail"]
    assert await ws.ws.receive_nothing(timeout=0.2)  # no welcome, the socket stays open
    await ws.close()


@override_settings(COLLAB_SOCKETS_PER_USER=0)  # no cap: the list alone bounds presence
async def test_presence_lists_at_most_max_peers_each_with_a_bounded_selection(
        open_map, alice, bob, team, mindmap):
    selection = [new_id() for _ in range(presence.MAX_SELECTION)]
    crowd = []
    for index in range(presence.MAX_PEERS + 5):
        ws = await open_map((alice, bob)[index % 2], team.pk, mindmap.pk)
        await ws.hello()
        await ws.ws.send_json_to({"type": "presence", "cursor": {"x": index, "y": 0},
                                  "selection": selection, "drag": None})
        crowd.append(ws)
    await asyncio.sleep(0.3)  # a presence tick or more
    late = await open_map(alice, team.pk, mindmap.pk)
    welcome = await late.hello()
    assert len(welcome["peers"]) == presence.MAX_PEERS
    assert all(peer["selection"] == selection[:presence.SELECTION_SHOWN]
               for peer in welcome["peers"])
    assert welcome["frames"] == [len(json.dumps(
        {k: v for k, v in welcome.items() if k != "frames"}, separators=(",", ":")))]
    await crowd[0].close()  # a place frees: the next presence of an unlisted peer shows
    await crowd[-1].ws.send_json_to({"type": "presence", "cursor": {"x": 1, "y": 1},
                                     "selection": [], "drag": None})
    seen = set()
    while crowd[-1].peer_id not in seen:
        frame = json.loads(await late.ws.receive_from(timeout=3))
        if frame["type"] == "presence":
            seen.update(peer["client_id"] for peer in frame["peers"])
    for ws in (*crowd[1:], late):
        await ws.close()


@override_settings(COLLAB_BATCH_WINDOW=0.5)  # every event of the test in one batch
async def test_a_batch_of_large_ops_arrives_in_frames_within_the_budget(open_map, alice, bob,
                                                                       team, mindmap):
    editor, observer = (await open_map(alice, team.pk, mindmap.pk),
                        await open_map(bob, team.pk, mindmap.pk))
    root = (await editor.hello())["snapshot"]["nodes"][0]["id"]
    await observer.hello()
    for _ in range(30):  # 30 ops of 60 KB
        await editor.op({"kind": "node.create", "node": {"id": new_id(), "parent": root,
                                                         "body": "\x01" * op_fields.MAX_BODY}})
    events, sizes = [], []
    while len(events) < 30:
        text = await observer.ws.receive_from(timeout=5)
        sizes.append(len(text.encode()))
        frame = json.loads(text)
        events.extend(frame["events"] if frame["type"] == "ops" else [frame])
    assert [event["seq"] for event in events] == list(range(1, 31))
    assert max(sizes) <= MAX_SEND_BYTES and len(sizes) < 30  # one batch of 1.8 MB, cut
    await editor.close()
    await observer.close()


async def test_the_rest_snapshot_is_the_map_encoded_once(client, alice, mindmap):
    await database_sync_to_async(fill)(mindmap, alice, 3, EMOJI * 10)
    await database_sync_to_async(client.force_login)(alice)
    answer = await database_sync_to_async(client.get)(f"/api/v1/maps/{mindmap.pk}/")
    assert answer.status_code == 200 and answer["Content-Type"] == "application/json"
    body = json.loads(answer.content)
    seq, nodes = await database_sync_to_async(database_nodes)(mindmap.pk)
    assert body["seq"] == seq == 3 and {n["id"]: n for n in body["nodes"]} == nodes
    assert body["map"] == {"id": mindmap.pk, "title": "Roadmap", "team": mindmap.team_id}
    assert EMOJI.encode() in answer.content  # not \ud83d\ude00
