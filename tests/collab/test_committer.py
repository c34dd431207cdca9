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


@pytest.fixture
def dispatched(monkeypatch) -> list[dict]:
    """Every message the hub reads from the channel layer."""
    from collab.hub import Hub

    seen, real = [], Hub._dispatch

    async def dispatch(self, message):
        seen.append(message)
        await real(self, message)

    monkeypatch.setattr(Hub, "_dispatch", dispatch)
    return seen


def sent_back(dispatched: list[dict], seq: int) -> bool:
    return any(event["seq"] == seq for message in dispatched if message["type"] == "map.ops"
               for event in message["events"])


def title_edit(user, root: str) -> Submission:
    return Submission(user.pk, new_id(), {"kind": "node.update", "id": root,
                                          "set": {"title": new_id()}})


@pytest.mark.redis
async def test_a_committed_batch_is_not_sent_back_to_the_hub_that_delivered_it(
        dispatched, alice, team, mindmap, monkeypatch):
    from collab.hub import get_hub

    hub = await get_hub()
    await hub.join(mindmap.pk)
    root = (await database_sync_to_async(map_state)(mindmap.pk))[1].popitem()[0]
    committer = MapCommitter(team.pk, mindmap.pk)
    (delivered,) = await committer.submit_many([title_edit(alice, root)])
    # An action the hub did not deliver itself (REST, a worker) comes through Redis:
    (elsewhere, _) = await database_sync_to_async(actions.op_submit)(
        map_id=mindmap.pk, team_id=team.pk, actor_id=alice.pk, op_id=new_id(),
        raw_op={"kind": "node.update", "id": root, "set": {"x": 5}})
    # ... and so does a batch whose local delivery failed after its commit.
    monkeypatch.setattr(MapCommitter, "_answer", lambda *args: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        await committer.submit_many([title_edit(alice, root)])
    undelivered = delivered.event["seq"] + 2
    for _ in range(50):
        if sent_back(dispatched, elsewhere["seq"]) and sent_back(dispatched, undelivered):
            break
        await asyncio.sleep(0.05)
    assert sent_back(dispatched, elsewhere["seq"]) and sent_back(dispatched, undelivered)
    assert not sent_back(dispatched, delivered.event["seq"])
    assert hub.rooms[mindmap.pk].order.delivered == undelivered
