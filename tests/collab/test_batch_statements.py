"""What a batch of ops costs the database: its statements and round trips stay the same
whatever the number of ops and nodes (collab/batch_sql.py), and maps commit side by side
(collab/committer.py)."""

import asyncio
import threading
import uuid

import pytest
from channels.db import database_sync_to_async
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from collab import actions, queries
from collab.actions import Submission
from collab.committer import MapCommitter
from collab.models import Mindmap, Node
from project.db_round_trips import SEPARATOR

# Reads (the timeouts, the lock, members, logged op_ids, the nodes) and writes (the
# nodes, the map, the log): a statement per op or per node would pass this at once.
MAX_STATEMENTS = 8


def new_id() -> str:
    return str(uuid.uuid4())


def root(mindmap) -> str:
    return next(queries.snapshot_nodes(mindmap.pk))["id"]


def counted(mindmap, submissions) -> tuple[list, int, int]:
    """The batch's outcomes, its statements and its round trips (the transaction's own
    aside: the test's savepoint stands for BEGIN and COMMIT)."""
    with CaptureQueriesContext(connection) as captured:
        outcomes = actions.ops_submit(map_id=mindmap.pk, team_id=mindmap.team_id,
                                      submissions=submissions)
    sent = [query["sql"] for query in captured.captured_queries
            if "SAVEPOINT" not in query["sql"]]
    return outcomes, sum(sql.count(SEPARATOR) + 1 for sql in sent), len(sent)


@pytest.mark.django_db
@pytest.mark.sqlite
@pytest.mark.parametrize("count", [1, 20])
def test_a_batch_of_edits_takes_the_same_statements_whatever_its_size(mindmap, alice, count):
    top = root(mindmap)
    nodes = [new_id() for _ in range(count)]
    actions.ops_submit(map_id=mindmap.pk, team_id=mindmap.team_id, submissions=[
        Submission(alice.pk, new_id(), {"kind": "node.create", "node": {"id": node,
                                                                        "parent": top}})
        for node in nodes])
    titles = {node: f"title {number} é" for number, node in enumerate(nodes)}
    outcomes, statements, round_trips = counted(mindmap, [
        Submission(alice.pk, new_id(), {"kind": "node.update", "id": node,
                                        "set": {"title": title}})
        for node, title in titles.items()])
    assert all(outcome.new for outcome in outcomes)
    assert statements <= MAX_STATEMENTS
    if connection.vendor == "postgresql":
        assert round_trips == 2  # the reads under the lock, the writes (then the commit)
    rows = {str(row.node_id): row for row in Node.objects.filter(map=mindmap, title__gt="")}
    assert {node: rows[node].title for node in nodes} == titles
    assert {rows[node].title_bytes for node in nodes} == {len(t.encode()) for t in titles.values()}
    assert Mindmap.objects.get(pk=mindmap.pk).seq == 2 * count


@pytest.mark.django_db
@pytest.mark.sqlite
def test_nodes_changed_each_their_own_way_in_one_batch_are_written_in_one_statement(
        mindmap, alice):
    """Several nodes, each with values of its own for the same fields: one UPDATE joined
    to their values, typed (a NULL included)."""
    top = root(mindmap)
    nodes = [new_id() for _ in range(3)]
    actions.ops_submit(map_id=mindmap.pk, team_id=mindmap.team_id, submissions=[
        Submission(alice.pk, new_id(), {"kind": "node.create", "node": {"id": node,
                                                                        "parent": top}})
        for node in nodes])
    _, statements, _ = counted(mindmap, [
        Submission(alice.pk, new_id(), {"kind": "node.update", "id": node, "set": {
            "x": float(number), "y": -1.5 * number, "color": f"#00000{number}",
            "collapsed": bool(number % 2)}})
        for number, node in enumerate(nodes)])
    assert statements <= MAX_STATEMENTS
    rows = {str(row.node_id): row for row in Node.objects.filter(map=mindmap)}
    assert [(rows[n].x, rows[n].y, rows[n].color, rows[n].collapsed) for n in nodes] == [
        (0.0, 0.0, "#000000", False), (1.0, -1.5, "#000001", True),
        (2.0, -3.0, "#000002", False)]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("hub_cleanup")
async def test_a_map_commits_while_another_map_waits_for_its_lock(team, alice):
    """A map whose lock is held elsewhere (another process mid-transaction) does not
    hold up the other maps' commits in this process."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite takes one writer at a time: commits share one thread there")
    stuck, free = await asyncio.gather(*(database_sync_to_async(actions.map_create)(
        team=team, title=title, actor=alice) for title in ("stuck", "free")))
    tops = await database_sync_to_async(lambda: [root(stuck), root(free)])()
    locked, release = threading.Event(), threading.Event()

    def hold_the_lock():
        try:
            with transaction.atomic():
                list(Mindmap.objects.select_for_update().filter(pk=stuck.pk))
                locked.set()
                release.wait(10)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    try:
        assert await asyncio.to_thread(locked.wait, 10)
        waiting = asyncio.ensure_future(MapCommitter(team.pk, stuck.pk).submit(Submission(
            alice.pk, new_id(), {"kind": "node.update", "id": tops[0], "set": {"x": 1}})))
        await asyncio.sleep(0.2)  # its transaction now waits for the lock
        outcome = await asyncio.wait_for(MapCommitter(team.pk, free.pk).submit(Submission(
            alice.pk, new_id(), {"kind": "node.update", "id": tops[1], "set": {"x": 2}})), 3)
        assert outcome.new and not waiting.done()
    finally:
        release.set()
        await asyncio.to_thread(holder.join, 10)
    assert (await waiting).new
