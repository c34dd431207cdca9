"""Group commit: a batch of ops behaves exactly as the same ops one by one."""

import uuid

import pytest

from collab import actions, queries
from collab.actions import Submission
from collab.errors import NotAMember
from collab.models import Mindmap, Node, Op

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def new_id() -> str:
    return str(uuid.uuid4())


def root(mindmap) -> str:
    return next(queries.snapshot_nodes(mindmap.pk))["id"]


def submit(mindmap, *submissions):
    return actions.ops_submit(map_id=mindmap.pk, team_id=mindmap.team_id,
                              submissions=list(submissions))


def test_a_batch_applies_in_order_with_consecutive_seqs(mindmap, alice, bob):
    top, a, b = root(mindmap), new_id(), new_id()
    outcomes = submit(
        mindmap,
        Submission(alice.pk, new_id(), {"kind": "node.create", "node": {"id": a, "parent": top}}),
        Submission(bob.pk, new_id(), {"kind": "node.update", "id": a, "set": {"title": "1"}}),
        Submission(bob.pk, new_id(), {"kind": "node.create", "node": {"id": b, "parent": a}}),
        Submission(alice.pk, new_id(), {"kind": "node.update", "id": a,
                                        "set": {"title": "2", "x": 4}}),
        Submission(alice.pk, new_id(), {"kind": "node.reparent", "id": b, "parent": top}),
    )
    assert [o.event["seq"] for o in outcomes] == [1, 2, 3, 4, 5]
    assert all(o.new for o in outcomes)
    rows = {str(n.node_id): n for n in Node.objects.filter(map=mindmap)}
    assert rows[a].title == "2" and rows[a].x == 4.0
    assert str(rows[b].parent_id) == top
    assert Mindmap.objects.get(pk=mindmap.pk).seq == 5
    assert Mindmap.objects.get(pk=mindmap.pk).node_count == 3


def test_a_rejected_op_does_not_stop_the_rest_of_its_batch(mindmap, alice):
    top, a = root(mindmap), new_id()
    outcomes = submit(
        mindmap,
        Submission(alice.pk, new_id(), {"kind": "node.create", "node": {"id": a, "parent": top}}),
        Submission(alice.pk, new_id(), {"kind": "node.delete", "id": a}),
        Submission(alice.pk, new_id(), {"kind": "node.update", "id": a, "set": {"title": "x"}}),
        Submission(alice.pk, "not-a-uuid", {"kind": "node.delete", "id": a}),
        Submission(alice.pk, new_id(), {"kind": "node.update", "id": top,
                                        "set": {"title": "kept"}}),
    )
    assert [o.event["seq"] if o.event else o.rejected.code for o in outcomes] == \
        [1, 2, "gone", "invalid", 3]
    assert Node.objects.get(map=mindmap, node_id=a).deleted_seq == 2
    assert Op.objects.filter(map=mindmap).count() == 3


def test_an_op_id_repeated_in_a_batch_or_already_logged_applies_once(mindmap, alice):
    top, op_id = root(mindmap), new_id()
    create = {"kind": "node.create", "node": {"id": new_id(), "parent": top}}
    first, again = submit(mindmap, Submission(alice.pk, op_id, create),
                          Submission(alice.pk, op_id, create))
    assert first.new and not again.new and again.event == first.event
    (later,) = submit(mindmap, Submission(alice.pk, op_id, create))
    assert not later.new and later.event == first.event
    assert Op.objects.count() == 1


def test_a_non_member_in_a_batch_is_refused_alone(mindmap, alice, make_user):
    mallory = make_user("mallory")
    top = root(mindmap)
    mine, theirs = submit(
        mindmap,
        Submission(alice.pk, new_id(), {"kind": "node.update", "id": top, "set": {"x": 1}}),
        Submission(mallory.pk, new_id(), {"kind": "node.update", "id": top, "set": {"x": 9}}),
    )
    assert mine.new and isinstance(theirs.refused, NotAMember)
    assert Node.objects.get(map=mindmap, node_id=top).x == 1.0


def big_branch(mindmap, actor, children: int = 100, body: str = "é" * 2_000) -> list[str]:
    """A branch of `children` nodes under one top (about 400 KiB with the defaults: over
    two events' worth), committed; its ids, the top first."""
    top = new_id()
    ids = [top] + [new_id() for _ in range(children)]
    outcomes = submit(mindmap, Submission(actor.pk, new_id(), {
        "kind": "node.create", "node": {"id": top, "parent": root(mindmap)}}), *(
        Submission(actor.pk, new_id(), {"kind": "node.create", "node": {
            "id": node, "parent": ids[index // 4], "title": f"n{index}", "body": body}})
        for index, node in enumerate(ids[1:])))
    assert all(outcome.new for outcome in outcomes)
    return ids


def test_a_big_restore_is_logged_in_slices_in_one_transaction_and_applies_once(
        mindmap, alice):
    ids = big_branch(mindmap, alice)
    before = list(queries.snapshot_nodes(mindmap.pk))
    submit(mindmap, Submission(alice.pk, new_id(), {"kind": "node.delete", "id": ids[0]}))
    op_id = new_id()
    restore = Submission(alice.pk, op_id, {"kind": "node.restore", "id": ids[0]})
    (outcome,) = submit(mindmap, restore)
    assert outcome.new and len(outcome.events) == 3
    assert outcome.event is outcome.events[0] and outcome.event["op_id"] == op_id
    assert outcome.restored_bytes >= 400_000
    first_seq = outcome.event["seq"]
    rows = list(Op.objects.filter(map=mindmap, seq__gte=first_seq).order_by("seq"))
    assert [row.seq for row in rows] == [first_seq, first_seq + 1, first_seq + 2]
    assert [str(row.op_id) for row in rows] == [
        op_id, actions.slice_op_id(op_id, 1), actions.slice_op_id(op_id, 2)]
    assert [node["id"] for row in rows for node in row.op["nodes"]] == ids
    assert sorted(queries.snapshot_nodes(mindmap.pk), key=str) == sorted(before, key=str)
    mindmap.refresh_from_db()
    assert (mindmap.seq, mindmap.node_count) == (first_seq + 2, 102)
    (again,) = submit(mindmap, restore)  # a resend: the original (first) event, nothing new
    assert not again.new and again.event == outcome.event and again.events == ()
    assert Op.objects.filter(map=mindmap).count() == first_seq + 2


def test_restores_past_a_transactions_budget_wait_with_their_senders_later_ops(
        mindmap, alice, bob):
    """The first restore of a transaction passes whatever its size; another past the
    budget is held back (`rate_limited`), and so is every later op of its sender, in
    order; another sender's ops go on."""
    a, b = new_id(), new_id()
    top = root(mindmap)
    submit(mindmap, *(Submission(alice.pk, new_id(), {"kind": "node.create", "node": {
        "id": node, "parent": top, "body": "x" * 2_000}}) for node in (a, b)))
    submit(mindmap, *(Submission(alice.pk, new_id(), {"kind": "node.delete", "id": node})
                      for node in (a, b)))
    outcomes = actions.ops_submit(map_id=mindmap.pk, team_id=mindmap.team_id, submissions=[
        Submission(alice.pk, new_id(), {"kind": "node.restore", "id": a}),
        Submission(bob.pk, new_id(), {"kind": "node.restore", "id": b}),
        Submission(bob.pk, new_id(), {"kind": "node.update", "id": top, "set": {"x": 1}}),
        Submission(alice.pk, new_id(), {"kind": "node.update", "id": top, "set": {"y": 2}}),
    ], max_restore_bytes=3_000)
    assert [o.event["seq"] if o.event else o.rejected.code for o in outcomes] == \
        [5, "rate_limited", "rate_limited", 6]
    assert "send it again" in outcomes[1].rejected.detail
    assert outcomes[0].restored_bytes > 2_000 and outcomes[3].restored_bytes == 0
    node = Node.objects.get(map=mindmap, node_id=top)
    assert (node.x, node.y) == (0.0, 2.0)  # bob's move waits behind his restore
    assert Node.objects.get(map=mindmap, node_id=b).deleted_seq is not None
    (alone,) = actions.ops_submit(map_id=mindmap.pk, team_id=mindmap.team_id, submissions=[
        Submission(bob.pk, new_id(), {"kind": "node.restore", "id": b})],
        max_restore_bytes=3_000)
    assert alone.new  # sent again: the first restore of its transaction


def test_no_client_can_take_a_slice_op_id_first(mindmap, alice, bob):
    """A slice's op_id cannot be computed from the restore's: an op logged under any
    id a client could derive leaves the restore whole (it used to fail it, after all
    its work under the map's lock, at every resend)."""
    ids = big_branch(mindmap, alice)
    submit(mindmap, Submission(alice.pk, new_id(), {"kind": "node.delete", "id": ids[0]}))
    op_id = new_id()
    guesses = [str(uuid.uuid5(uuid.UUID(op_id), f"moa-restore-slice-{n}")) for n in (1, 2)]
    root = next(node for node in queries.snapshot_nodes(mindmap.pk) if node["parent"] is None)
    for guess in guesses:
        (taken,) = submit(mindmap, Submission(bob.pk, guess, {
            "kind": "node.update", "id": root["id"], "set": {"title": "mine"}}))
        assert taken.new
    (outcome,) = submit(mindmap, Submission(alice.pk, op_id, {
        "kind": "node.restore", "id": ids[0]}))
    assert outcome.new and len(outcome.events) == 3
    assert not {event["op_id"] for event in outcome.events} & set(guesses)
