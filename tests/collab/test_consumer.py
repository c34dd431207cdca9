"""The mindmap WebSocket through the real ASGI application (one process)."""

import asyncio
import uuid

import pytest
from channels.db import database_sync_to_async
from django.test import override_settings

from collab import actions
from collab.models import Mindmap, Node, Op
from project.accounts.actions import user_deactivate, user_soft_delete
from tests.collab.live import database_nodes
from tests.collab.replica import Replica

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.sqlite,
              pytest.mark.usefixtures("hub_cleanup")]


def new_id() -> str:
    return str(uuid.uuid4())


def child_of(parent: str, title: str = "idea", node_id: str | None = None) -> dict:
    return {"kind": "node.create", "node": {"id": node_id or new_id(), "parent": parent,
                                            "title": title}}


def root_of(welcome: dict) -> str:
    return next(n["id"] for n in welcome["snapshot"]["nodes"] if n["parent"] is None)


async def test_hello_gets_a_snapshot_and_an_op_comes_back_as_its_ack(open_map, alice, team,
                                                                     mindmap):
    ws = await open_map(alice, team.pk, mindmap.pk)
    welcome = await ws.hello()
    assert welcome["seq"] == 0 and welcome["ops"] is None
    assert welcome["you"] == {"user_id": alice.pk, "client_id": ws.peer_id}
    assert welcome["map"]["title"] == "Roadmap"
    op_id = await ws.op(child_of(root_of(welcome), "First"))
    (ack,) = await ws.events(1)
    assert ack["seq"] == 1 and ack["op_id"] == op_id and ack["actor"] == alice.pk
    assert ack["at"].endswith("Z")
    node = await database_sync_to_async(Node.objects.get)(node_id=ack["op"]["node"]["id"])
    assert node.title == "First"  # acknowledged means committed
    await ws.close()


async def test_two_clients_see_each_others_ops_in_the_same_order(open_map, alice, bob, team,
                                                                 mindmap):
    a, b = await open_map(alice, team.pk, mindmap.pk), await open_map(bob, team.pk, mindmap.pk)
    root = root_of(await a.hello())
    await b.hello()
    for index in range(5):
        await a.op(child_of(root, f"a{index}"))
        await b.op(child_of(root, f"b{index}"))
    seen_a, seen_b = await a.events(10), await b.events(10)
    assert [e["seq"] for e in seen_a] == list(range(1, 11))
    assert seen_a == seen_b
    await a.close()
    await b.close()


async def test_rejections_carry_the_protocol_codes(open_map, alice, team, mindmap):
    ws = await open_map(alice, team.pk, mindmap.pk)
    root = root_of(await ws.hello())
    a, b = new_id(), new_id()
    await ws.op(child_of(root, node_id=a))
    await ws.op(child_of(a, node_id=b))
    await ws.events(2)
    cases = [
        ({"kind": "node.reparent", "id": a, "parent": b}, "cycle"),
        ({"kind": "node.update", "id": a, "set": {"color": "blue"}}, "invalid"),
        ({"kind": "node.delete", "id": root}, "invalid"),
        (child_of(root, node_id=a), "conflict"),
        ({"kind": "node.update", "id": new_id(), "set": {"title": "x"}}, "gone"),
    ]
    for op, code in cases:
        op_id = await ws.op(op)
        reject = await ws.expect("reject")
        assert (reject["op_id"], reject["code"]) == (op_id, code), reject
        assert reject["detail"]
    await ws.op({"kind": "node.delete", "id": a})
    await ws.events(1)
    op_id = await ws.op({"kind": "node.update", "id": b, "set": {"title": "late"}})
    assert (await ws.expect("reject"))["code"] == "gone"
    assert await database_sync_to_async(Op.objects.count)() == 3
    await ws.close()


async def test_the_same_op_id_twice_applies_once_and_answers_the_original(open_map, alice,
                                                                          team, mindmap):
    ws = await open_map(alice, team.pk, mindmap.pk)
    root = root_of(await ws.hello())
    op = child_of(root, "once")
    op_id = await ws.op(op)
    (first,) = await ws.events(1)
    await ws.close()
    again = await open_map(alice, team.pk, mindmap.pk)  # a resend after a reconnect
    await again.hello(since=first["seq"])
    await again.op(op, op_id=op_id)
    (answer,) = await again.events(1)
    assert answer == first
    assert await database_sync_to_async(Node.objects.filter(title="once").count)() == 1
    await again.close()


async def test_reconnect_with_since_gets_exactly_the_missing_ops(open_map, alice, bob, team,
                                                                 mindmap):
    a, b = await open_map(alice, team.pk, mindmap.pk), await open_map(bob, team.pk, mindmap.pk)
    replica = Replica()
    welcome = await b.hello()
    replica.handle(welcome)
    root = root_of(await a.hello())
    await a.op(child_of(root, "seen"))
    for event in await b.events(1):
        replica.handle(event)
    await b.close()  # b drops
    for index in range(4):
        await a.op(child_of(root, f"missed{index}"))
    await a.events(5)
    b2 = await open_map(bob, team.pk, mindmap.pk)
    welcome = await b2.hello(since=replica.seq)
    assert welcome["snapshot"] is None
    assert [e["seq"] for e in welcome["ops"]] == [2, 3, 4, 5]
    replica.handle(welcome)
    _, nodes = await database_sync_to_async(database_nodes)(mindmap.pk)
    assert replica.nodes == nodes
    await a.close()
    await b2.close()


async def test_a_since_older_than_the_trimmed_log_gets_a_snapshot(open_map, alice, team,
                                                                 mindmap):
    await database_sync_to_async(
        Mindmap.objects.filter(pk=mindmap.pk).update)(seq=50, trimmed_seq=40)
    ws = await open_map(alice, team.pk, mindmap.pk)
    welcome = await ws.hello(since=10)
    assert welcome["ops"] is None and welcome["snapshot"]["nodes"]
    await ws.close()


async def test_refusals_close_with_4401_4403_4404(open_map, alice, make_user, team, mindmap):
    from channels.testing import WebsocketCommunicator

    from project.asgi import application

    anonymous = WebsocketCommunicator(application,
                                      f"/ws/mindmap/{team.pk}/{mindmap.pk}/?token=bad")
    assert (await anonymous.connect())[0]
    assert (await anonymous.receive_output())["code"] == 4401
    carol = await database_sync_to_async(make_user)("carol")
    await open_map(carol, team.pk, mindmap.pk, expect_close=4403)
    await open_map(alice, team.pk, mindmap.pk + 999, expect_close=4404)
    other = await database_sync_to_async(actions.team_create)(name="Other", owner=carol)
    await open_map(alice, team.pk + 0, (await database_sync_to_async(actions.map_create)(
        team=other, title="x", actor=carol)).pk, expect_close=4404)


async def test_removed_member_loses_write_access_and_is_disconnected(open_map, alice, bob,
                                                                     team, mindmap):
    ws = await open_map(bob, team.pk, mindmap.pk)
    await ws.hello()
    await database_sync_to_async(actions.membership_remove)(team=team, user=bob)
    output = await ws.ws.receive_output(timeout=3)
    assert output == {"type": "websocket.close", "code": 4403}


async def test_a_removed_member_racing_the_close_is_refused_forbidden(open_map, bob, team,
                                                                      mindmap):
    ws = await open_map(bob, team.pk, mindmap.pk)
    root = root_of(await ws.hello())
    from collab.models import Membership

    await database_sync_to_async(Membership.objects.filter(user=bob).delete)()  # no event
    op_id = await ws.op(child_of(root))
    reject = await ws.expect("reject")
    assert (reject["op_id"], reject["code"]) == (op_id, "forbidden")
    assert (await ws.ws.receive_output(timeout=3))["code"] == 4403


@pytest.mark.parametrize("end_account", [user_soft_delete, user_deactivate])
async def test_deleting_or_deactivating_a_user_closes_their_sockets(open_map, bob, team,
                                                                    mindmap, end_account):
    ws = await open_map(bob, team.pk, mindmap.pk)
    await ws.hello()
    await database_sync_to_async(end_account)(user=bob)
    assert (await ws.ws.receive_output(timeout=3)) == {"type": "websocket.close",
                                                       "code": 4401}


async def test_bad_frames_are_answered_and_the_socket_stays_open(open_map, alice, team,
                                                                 mindmap):
    ws = await open_map(alice, team.pk, mindmap.pk)
    await ws.ws.send_json_to({"type": "op", "op_id": new_id(), "op": {}})
    assert (await ws.recv())["code"] == "hello_first"
    root = root_of(await ws.hello())
    await ws.ws.send_to(text_data="{oops")
    assert (await ws.recv())["code"] == "malformed"
    op_id = new_id()
    big = {"type": "op", "op_id": op_id, "op": {"kind": "node.update", "id": root,
                                                "set": {"body": "x" * 70_000}}}
    import json

    await ws.ws.send_to(text_data=json.dumps(big))
    reject = await ws.expect("reject")
    assert (reject["code"], reject["op_id"]) == ("too_large", op_id)
    await ws.ws.send_json_to({"type": "dance"})
    assert (await ws.recv())["code"] == "unknown_type"
    await ws.op(child_of(root, "still works"))
    assert (await ws.events(1))[0]["op"]["node"]["title"] == "still works"
    await ws.close()


@override_settings(COLLAB_OPS_PER_SECOND=1, COLLAB_OPS_BURST=3)
async def test_a_flood_of_ops_is_rate_limited_without_closing(open_map, alice, team, mindmap):
    ws = await open_map(alice, team.pk, mindmap.pk)
    root = root_of(await ws.hello())
    for index in range(6):
        await ws.op(child_of(root, f"n{index}"))
    acks, codes = 0, []
    while acks + len(codes) < 6:
        frame = await ws.recv()
        if frame["type"] == "reject":
            codes.append(frame["code"])
        else:
            acks += len(frame.get("events", [frame]))
    assert codes == ["rate_limited"] * 3 and acks == 3
    await ws.close()


async def test_presence_is_conflated_and_never_stored(open_map, alice, bob, team, mindmap):
    a, b = await open_map(alice, team.pk, mindmap.pk), await open_map(bob, team.pk, mindmap.pk)
    await a.hello()
    await b.hello()
    for x in range(30):
        await a.ws.send_json_to({"type": "presence", "cursor": {"x": x, "y": 1},
                                 "selection": [], "drag": None})
    await asyncio.sleep(0.3)
    frames = []
    while not await b.ws.receive_nothing(timeout=0.05):
        frames.append(await b.recv())
    presence = [f for f in frames if f["type"] == "presence"]
    assert 1 <= len(presence) <= 3, presence  # one per tick, not 30
    assert presence[-1]["peers"][0]["cursor"] == {"x": 29.0, "y": 1.0}
    assert presence[-1]["peers"][0]["user"] == {"id": alice.pk, "name": "Alice"}
    assert await a.ws.receive_nothing(timeout=0.1)  # never echoed to its sender
    late = await open_map(bob, team.pk, mindmap.pk)
    welcome = await late.hello()
    assert [p["client_id"] for p in welcome["peers"]] == [a.peer_id]
    await a.close()
    leave = await b.expect("peer.leave")
    assert leave["client_id"] == a.peer_id
    await b.close()
    await late.close()


async def test_concurrent_edits_converge_to_the_database_snapshot(open_map, alice, bob, team,
                                                                  mindmap):
    clients = [await open_map(user, team.pk, mindmap.pk) for user in (alice, bob, alice)]
    replicas = [Replica() for _ in clients]
    for client, replica in zip(clients, replicas, strict=True):
        replica.handle(await client.hello())
    root = replicas[0].root()
    sent = 0
    for round_ in range(4):
        for index, client in enumerate(clients):
            await client.op(child_of(root, f"r{round_}c{index}"))
            sent += 1
    await clients[0].op({"kind": "node.update", "id": root, "set": {"title": "Agreed"}})
    sent += 1
    for client, replica in zip(clients, replicas, strict=True):
        for event in await client.events(sent):
            replica.handle(event)
    _, expected = await database_sync_to_async(database_nodes)(mindmap.pk)
    assert all(replica.nodes == expected for replica in replicas)
    assert all(not replica.gap for replica in replicas)
    for client in clients:
        await client.close()


def batch_of(ops: list[dict]) -> dict:
    return {"type": "ops", "batch_id": new_id(),
            "ops": [{"op_id": new_id(), "op": op} for op in ops]}


async def test_a_batch_is_one_transaction_and_one_answer(open_map, alice, bob, team, mindmap):
    a, b = await open_map(alice, team.pk, mindmap.pk), await open_map(bob, team.pk, mindmap.pk)
    root = root_of(await a.hello())
    await b.hello()
    first, second = new_id(), new_id()
    batch = batch_of([child_of(root, "one", first), child_of(first, "two", second),
                      child_of(new_id(), "orphan"),
                      {"kind": "node.update", "id": second, "set": {"title": "two!"}}])
    await a.ws.send_json_to(batch)
    answer = await a.expect("batch")
    assert answer["batch_id"] == batch["batch_id"]
    results = answer["results"]
    assert [r["op_id"] for r in results] == [entry["op_id"] for entry in batch["ops"]]
    assert [r.get("seq") for r in results] == [1, 2, None, 3]
    assert results[2]["code"] == "gone" and "parent" in results[2]["detail"]
    seen = await b.events(3)  # the peer gets the events as ever
    assert [e["op_id"] for e in seen] == [batch["ops"][i]["op_id"] for i in (0, 1, 3)]
    # Sent again (the answer was lost): the same seqs, nothing applied twice.
    await a.ws.send_json_to(batch)
    again = None
    while again is None:
        frame = await a.recv()
        again = frame if frame["type"] == "batch" else None
    assert [r.get("seq") for r in again["results"]] == [1, 2, None, 3]
    assert await database_sync_to_async(Op.objects.filter(map=mindmap).count)() == 3
    await a.close()
    await b.close()


@pytest.mark.parametrize("frame, fragment", [
    ({"type": "ops", "batch_id": "b1", "ops": []}, "non-empty"),
    ({"type": "ops", "batch_id": "b1", "ops": "nope"}, "non-empty"),
    ({"type": "ops", "batch_id": "b1", "ops": [1]}, "object"),
    ({"type": "ops", "batch_id": "b1", "ops": [{}] * 101}, "at most 100"),
])
async def test_a_batch_of_the_wrong_shape_is_refused_whole(open_map, alice, team, mindmap,
                                                           frame, fragment):
    ws = await open_map(alice, team.pk, mindmap.pk)
    await ws.hello()
    await ws.ws.send_json_to(frame)
    answer = await ws.expect("batch")
    assert (answer["batch_id"], answer["code"]) == ("b1", "invalid")
    assert fragment in answer["detail"] and "results" not in answer
    await ws.close()


@override_settings(COLLAB_OPS_PER_SECOND=1, COLLAB_OPS_BURST=3, COLLAB_REPLAY_OPS=150)
async def test_a_replay_after_hello_has_its_own_budget_then_retry_later(
        open_map, alice, team, mindmap):
    """The queue a client built offline passes at once up to the budget; past it, the
    live limit (with one batch's debt); then the whole batch is refused, retry later."""
    ws = await open_map(alice, team.pk, mindmap.pk)
    root = root_of(await ws.hello())
    answers = []
    for _ in range(4):
        batch = batch_of([child_of(root) for _ in range(50)])
        await ws.ws.send_json_to(batch)
        while (frame := await ws.recv())["type"] != "batch":
            pass
        answers.append(frame)
    assert [len(a.get("results", [])) for a in answers[:3]] == [50, 50, 50]  # the budget
    assert len(answers[3]["results"]) == 50  # the live bucket, into debt
    refused = batch_of([child_of(root)])
    await ws.ws.send_json_to(refused)
    while (frame := await ws.recv())["type"] != "batch":
        pass
    assert frame.get("code") == "rate_limited", frame
    assert frame["retry_after_ms"] > 1000
    assert "results" not in frame
    assert await database_sync_to_async(Op.objects.filter(map=mindmap).count)() == 200
    while not await ws.ws.receive_nothing(timeout=0.2):
        await ws.recv()  # the events of the 200
    await ws.hello(since=200)  # a resync on the same socket refills nothing
    await ws.ws.send_json_to(refused)
    while (frame := await ws.recv())["type"] != "batch":
        pass
    assert frame.get("code") == "rate_limited", frame
    await ws.close()
    again = await open_map(alice, team.pk, mindmap.pk)  # a reconnect: its own budget
    await again.hello(since=200)
    await again.ws.send_json_to(refused)
    while (frame := await again.recv())["type"] != "batch":
        pass
    assert frame["results"][0]["seq"] == 201
    await again.close()


async def test_a_batch_over_the_frame_limit_is_answered_as_a_batch(open_map, alice, team,
                                                                   mindmap):
    ws = await open_map(alice, team.pk, mindmap.pk)
    root = root_of(await ws.hello())
    batch = batch_of([{"kind": "node.update", "id": root, "set": {"body": "x" * 9_000}}
                      for _ in range(8)])
    await ws.ws.send_json_to(batch)
    answer = await ws.expect("batch")
    assert (answer["batch_id"], answer["code"]) == (batch["batch_id"], "too_large")
    await ws.close()


async def test_restore_brings_back_a_deleted_subtree_for_everyone(open_map, alice, bob, team,
                                                                  mindmap):
    """Undo of a delete: the same ids come back, on every client and in the database,
    also when delete and restore share a batch with edits of the subtree."""
    a, b = await open_map(alice, team.pk, mindmap.pk), await open_map(bob, team.pk, mindmap.pk)
    welcome = await a.hello()
    watcher = Replica()
    watcher.handle(await b.hello())
    root = root_of(welcome)
    top, leaf = new_id(), new_id()
    await a.ws.send_json_to(batch_of([child_of(root, "top", top), child_of(top, "leaf", leaf)]))
    await a.ws.send_json_to(batch_of([
        {"kind": "node.update", "id": leaf, "set": {"title": "leaf, renamed"}},
        {"kind": "node.delete", "id": top},
        {"kind": "node.restore", "id": top},
        {"kind": "node.delete", "id": top}]))
    await a.op({"kind": "node.restore", "id": top})
    for event in await b.events(7):
        watcher.handle(event)
    restore = await database_sync_to_async(
        Op.objects.filter(map=mindmap, seq=7).values_list("op", flat=True).get)()
    assert [node["id"] for node in restore["nodes"]] == [top, leaf]
    assert restore["nodes"][1]["title"] == "leaf, renamed"
    seq, nodes = await database_sync_to_async(database_nodes)(mindmap.pk)
    assert seq == watcher.seq == 7 and watcher.nodes == nodes
    assert set(nodes) == {root, top, leaf}
    await a.op({"kind": "node.restore", "id": top})
    while (reject := await a.recv())["type"] != "reject":
        pass  # its own events and batch answers before
    assert reject["code"] == "conflict" and "not deleted" in reject["detail"]
    await a.close()
    await b.close()


async def test_hostile_ids_and_values_get_answers_and_the_socket_stays(open_map, alice, team,
                                                                       mindmap):
    """Ids that could not be sent back in a frame (a lone surrogate) are answered as
    null; a 400-digit coordinate is invalid; a frame nested past the parser is malformed.
    None of them closes the socket."""
    ws = await open_map(alice, team.pk, mindmap.pk)
    root = root_of(await ws.hello())
    await ws.ws.send_json_to({"type": "ops", "batch_id": "\ud800", "ops": [
        {"op_id": "\udfff", "op": child_of(root)},
        {"op_id": new_id(), "op": {"kind": "node.update", "id": root, "set": {"x": 10**400}}},
        {"op_id": new_id(), "op": {"kind": "node.delete", "id": root, "\ud800": 1}}]})
    while (answer := await ws.recv())["type"] != "batch":
        pass
    assert answer["batch_id"] is None
    codes = [(r["op_id"] is None, r.get("code")) for r in answer["results"]]
    assert codes == [(True, "invalid"), (False, "invalid"), (False, "invalid")]
    assert "within" in answer["results"][1]["detail"]
    assert "\\ud800" in answer["results"][2]["detail"]  # quoted, escaped
    await ws.ws.send_to(text_data="[" * 30_000)
    assert (await ws.expect("error"))["code"] == "malformed"
    await ws.op(child_of(root, "still here"))
    assert (await ws.events(1))[0]["op"]["node"]["title"] == "still here"
    await ws.close()
