"""Restores of any size through the ASGI application and REST: a deleted branch bigger
than one event comes back in slices for every board (undo and history alike), and what
a restore makes the server write is charged to its sender and bounded per commit."""

import json
import uuid

import pytest
from channels.db import database_sync_to_async
from django.test import Client, override_settings

from collab import actions, queries
from collab.models import Op
from project.ws_frames import MAX_SEND_BYTES
from tests.collab.live import database_nodes
from tests.collab.replica import Replica

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.sqlite,
              pytest.mark.usefixtures("hub_cleanup")]


def new_id() -> str:
    return str(uuid.uuid4())


def branch(mindmap, actor, children: int = 100, body: str = "é" * 2_000) -> str:
    """A branch under the root, about 400 KiB with the defaults (over two events'
    worth), committed; its top."""
    root = next(iter(queries.snapshot_nodes(mindmap.pk)))["id"]
    ids = [new_id() for _ in range(children + 1)]
    outcomes = actions.ops_submit(map_id=mindmap.pk, team_id=mindmap.team_id, submissions=[
        actions.Submission(actor.pk, new_id(), {"kind": "node.create", "node": {
            "id": node, "parent": root if index == 0 else ids[(index - 1) // 4],
            "title": f"n{index}", "body": "" if index == 0 else body}})
        for index, node in enumerate(ids)])
    assert all(outcome.new for outcome in outcomes)
    return ids[0]


async def welcomed(socket) -> Replica:
    """A replica of the map from the socket's welcome, its snapshot parts put together."""
    welcome = await socket.hello(parts=True)
    welcome["snapshot"]["parts"] = 1  # MapSocket.hello read the parts into it
    replica = Replica()
    replica.handle(welcome)
    return replica


async def follow(socket, replica: Replica, seq: int) -> list[dict]:
    """Frames into `replica` until it is at `seq`; the op events seen. Every frame
    stays within the server's send budget."""
    events = []
    while replica.seq < seq:
        text = await socket.ws.receive_from(timeout=5)
        assert len(text.encode()) <= MAX_SEND_BYTES
        frame = json.loads(text)
        replica.handle(frame)
        events.extend([frame] if frame["type"] == "op" else frame.get("events", []))
    return events


def restore_over_rest(user, map_id: int, seq: int) -> dict:
    client = Client()
    client.force_login(user)
    answer = client.post(f"/api/v1/maps/{map_id}/restore/", {"seq": seq},
                         content_type="application/json")
    assert answer.status_code == 200, answer.content
    return answer.json()


async def test_a_400_kib_branch_comes_back_by_undo_and_by_the_history_for_every_board(
        open_map, alice, bob, team, mindmap):
    top = await database_sync_to_async(branch)(mindmap, alice)
    sender, peer = await open_map(alice, team.pk, mindmap.pk), await open_map(bob, team.pk,
                                                                               mindmap.pk)
    mine, theirs = await welcomed(sender), await welcomed(peer)
    before_seq, before = await database_sync_to_async(database_nodes)(mindmap.pk)
    assert mine.nodes == theirs.nodes == before and len(before) == 102

    await sender.op({"kind": "node.delete", "id": top})
    undo = await sender.op({"kind": "node.restore", "id": top})  # the board's undo
    seq = before_seq + 4  # the delete, and the restore in three slices
    events = await follow(sender, mine, seq)
    assert events == await follow(peer, theirs, seq)
    now, after = await database_sync_to_async(database_nodes)(mindmap.pk)
    assert now == seq
    restores = [event for event in events if event["op"]["kind"] == "node.restore"]
    assert [event["op_id"] for event in restores] == [
        undo, actions.slice_op_id(undo, 1), actions.slice_op_id(undo, 2)]  # its ack first
    assert restores[0]["op"]["total"] == 101
    assert all(event["op"]["part_of"] == top for event in restores[1:])
    assert mine.nodes == theirs.nodes == after == before

    await sender.op({"kind": "node.restore", "id": top}, op_id=undo)  # a resend
    again = await sender.expect("op")
    assert again == restores[0]  # the original ack, to the sender only; nothing new
    assert await database_sync_to_async(Op.objects.filter(map=mindmap).count)() == seq

    await sender.op({"kind": "node.delete", "id": top})
    await follow(sender, mine, seq + 1)
    done = await database_sync_to_async(restore_over_rest)(alice, mindmap.pk, before_seq)
    assert done == {"seq": seq + 4, "applied": 1}  # one restore, in three slices
    await follow(sender, mine, seq + 4)
    await follow(peer, theirs, seq + 4)
    _, restored = await database_sync_to_async(database_nodes)(mindmap.pk)
    assert mine.nodes == theirs.nodes == restored == before
    await sender.close()
    await peer.close()


@override_settings(COLLAB_OPS_PER_SECOND=1, COLLAB_OPS_BURST=3)
async def test_a_restore_is_charged_to_its_sender_by_its_size(open_map, alice, team,
                                                              mindmap):
    """One small frame restored 400 KiB: its sender's op bucket goes into debt for it (a
    token per 16 KiB), so the next op waits until the refill has paid it."""
    top = await database_sync_to_async(branch)(mindmap, alice)
    ws = await open_map(alice, team.pk, mindmap.pk)
    replica = await welcomed(ws)
    await ws.op({"kind": "node.delete", "id": top})
    await ws.op({"kind": "node.restore", "id": top})  # 2 of the 3 tokens, then the debt
    await follow(ws, replica, replica.seq + 4)
    op_id = await ws.op({"kind": "node.update", "id": top, "set": {"title": "later"}})
    reject = await ws.expect("reject")
    assert (reject["op_id"], reject["code"]) == (op_id, "rate_limited")
    assert reject["retry_after_ms"] > 20_000  # about 25 tokens owed at one a second
    await ws.ws.send_json_to({"type": "ops", "batch_id": "b1", "ops": [
        {"op_id": new_id(), "op": {"kind": "node.update", "id": top, "set": {"x": 1}}}]})
    refused = await ws.expect("batch")
    assert refused["code"] == "rate_limited" and refused["retry_after_ms"] > 20_000
    await ws.close()


@override_settings(COLLAB_RESTORE_BYTES_PER_COMMIT=50_000)
async def test_restores_past_a_commits_budget_are_held_back_to_be_sent_again(
        open_map, alice, team, mindmap):
    """A batch that deletes and restores a 400 KiB branch again and again: the first
    restore passes (and the delete after it), the next restore and everything after it
    are answered `rate_limited` with when to send them again (the board keeps those ops
    and sends them then, in order)."""
    top = await database_sync_to_async(branch)(mindmap, alice)
    ws = await open_map(alice, team.pk, mindmap.pk)
    await ws.hello()
    cycle = [{"kind": "node.delete", "id": top}, {"kind": "node.restore", "id": top}]
    batch = {"type": "ops", "batch_id": "b1",
             "ops": [{"op_id": new_id(), "op": op} for op in cycle * 5]}
    await ws.ws.send_json_to(batch)
    answer = await ws.expect("batch")
    codes = [result.get("code") for result in answer["results"]]
    assert codes == [None, None, None] + ["rate_limited"] * 7
    assert all(result["retry_after_ms"] >= 1 for result in answer["results"][3:])
    seq = answer["results"][2]["seq"]
    assert seq == await database_sync_to_async(
        Op.objects.filter(map=mindmap).count)()  # one restore's slices, nothing more
    await ws.close()
