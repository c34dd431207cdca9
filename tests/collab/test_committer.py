"""The committer's group commit: a batch of several clients' groups in one transaction,
and one group's failure kept from the others."""

import asyncio
import uuid

import pytest
from channels.db import database_sync_to_async
from django.db import DataError, OperationalError

from collab import actions, ops, queries
from collab.actions import Submission
from collab.committer import MapCommitter
from collab.models import Mindmap, Node

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.sqlite,
              pytest.mark.usefixtures("hub_cleanup")]

POISON = "poison"


def new_id() -> str:
    return str(uuid.uuid4())


class Commits:
    """The size of every transaction the committer runs; ops.plan raises `error` for an
    update that sets the title POISON."""

    def __init__(self, error: Exception):
        self.sizes: list[int] = []
        self.error = error


@pytest.fixture
def commits(monkeypatch) -> Commits:
    seen = Commits(ValueError("a bug met by one op"))
    real_submit, real_plan = actions.ops_submit, ops.plan

    def ops_submit(**kwargs):
        seen.sizes.append(len(kwargs["submissions"]))
        return real_submit(**kwargs)

    def plan(op, *args, **kwargs):
        if op["kind"] == "node.update" and op["set"].get("title") == POISON:
            raise seen.error
        return real_plan(op, *args, **kwargs)

    monkeypatch.setattr(actions, "ops_submit", ops_submit)
    monkeypatch.setattr(ops, "plan", plan)
    return seen


async def three_groups(committer: MapCommitter, alice, bob, root: str):
    """Three clients' groups queued together (one batch), the middle one poisoned."""
    child = new_id()
    groups = [
        [Submission(alice.pk, new_id(), {"kind": "node.update", "id": root, "set": {"x": 1}})],
        [Submission(bob.pk, new_id(), {"kind": "node.update", "id": root, "set": {"y": 9}}),
         Submission(bob.pk, new_id(), {"kind": "node.update", "id": root,
                                       "set": {"title": POISON}})],
        [Submission(alice.pk, new_id(), {"kind": "node.create", "node": {"id": child,
                                                                         "parent": root}})],
    ]
    return await asyncio.gather(*(committer.submit_many(group) for group in groups),
                                return_exceptions=True)


def map_state(map_id: int) -> tuple[int, dict]:
    return (Mindmap.objects.get(pk=map_id).seq,
            {node["id"]: node for node in queries.snapshot_nodes(map_id)})


@pytest.mark.parametrize("error", [ValueError("a bug met by one op"),
                                   DataError("a value the database refuses")])
async def test_a_group_that_fails_fails_alone_and_the_rest_of_its_batch_commits(
        commits, alice, bob, team, mindmap, error):
    commits.error = error
    root = (await database_sync_to_async(map_state)(mindmap.pk))[1].popitem()[0]
    first, poisoned, last = await three_groups(MapCommitter(team.pk, mindmap.pk), alice,
                                               bob, root)
    assert commits.sizes == [4, 1, 2, 1]  # the batch, then each group on its own
    assert poisoned is error  # its client is told (DataError: `unavailable`, resend)
    assert [outcome.event["seq"] for outcome in first + last] == [1, 2]
    seq, nodes = await database_sync_to_async(map_state)(mindmap.pk)
    assert seq == 2 and len(nodes) == 2
    assert (nodes[root]["x"], nodes[root]["y"]) == (1.0, 0.0)  # the culprit's group: none


async def test_a_batch_failing_because_the_database_is_down_fails_whole_at_once(
        commits, alice, bob, team, mindmap):
    """A lost database (or a lock wait past its timeout) would meet every group again:
    every client is told at once (`unavailable`), with no retry per group."""
    down = OperationalError("the database went away")
    commits.error = down
    root = (await database_sync_to_async(map_state)(mindmap.pk))[1].popitem()[0]
    answers = await three_groups(MapCommitter(team.pk, mindmap.pk), alice, bob, root)
    assert commits.sizes == [4]
    assert all(answer is down for answer in answers)
    assert await database_sync_to_async(
        Node.objects.filter(map=mindmap, x=1.0).exists)() is False
