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
