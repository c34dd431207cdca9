"""Group commit: the ops a process receives for one map go to the database in batches.

While a batch commits, the ops that arrive queue up and form the next batch, so an
idle map commits each op at once and a busy one pays the transaction's fixed cost
(lock, membership, tree, seq) once per batch instead of once per op. One batch runs
at a time per map and process; across processes the map row's lock orders them.
Different maps commit side by side, in COLLAB_COMMIT_THREADS threads of their own
(`CommitThreads`): a transaction spends most of its time waiting for the database,
and with every map's batches in the one database thread a process committed no more
than that thread's round trips allowed, whatever its CPU (measured: 100 maps of 2
editors, bench/results/opcost.md).

A batch holds several clients' groups, so one group must not sink the others: when a
batch fails (a bug met by one op, data the database refuses), each group is committed
again on its own and only the one that fails again is told. A batch failing because
the database is down or its lock wait timed out fails whole at once: retrying group by
group would only wait again, once per group.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, connections

from collab import actions
from collab.hub import get_hub
from collab.metrics import COMMIT_BATCH_OPS
from project import runtime
from project.realtime import group_name, run_action

logger = logging.getLogger(__name__)

MAX_BATCH = 200
# Errors of the database itself (down, a lost connection, a lock wait past its
# timeout): every group would meet them again, so a batch that fails with one is not
# retried group by group.
DATABASE_DOWN = (OperationalError, InterfaceError)
# A client's frame (its ops, in order) and the future its answer goes to.
Group = tuple[list[actions.Submission], asyncio.Future]


class MapCommitter:
    def __init__(self, team_id: int, map_id: int):
        self.team_id, self.map_id = team_id, map_id
        # A client's batch frame is one group, so it is never split across transactions.
        self.queue: list[Group] = []
        self.draining: asyncio.Task | None = None

    async def submit(self, submission: actions.Submission) -> actions.OpOutcome:
        (outcome,) = await self.submit_many([submission])
        return outcome

    async def submit_many(self, submissions: list[actions.Submission]
                          ) -> list[actions.OpOutcome]:
        """Commit `submissions` in order, in one transaction (with whatever else is
        queued for the map); the error (DatabaseError: the database failed) when it
        failed, nothing of it applied. Another group's failure is not this one's: a
        batch of several groups that fails is committed again group by group, unless
        the database itself is down."""
        future = asyncio.get_running_loop().create_future()
        self.queue.append((submissions, future))
        if self.draining is None or self.draining.done():
            self.draining = asyncio.create_task(self._drain())
        return await future

    def _next_batch(self) -> list[Group]:
        """Whole groups up to MAX_BATCH submissions (at least one group)."""
        taken, size = 0, 0
        while taken < len(self.queue) and (taken == 0 or
                                           size + len(self.queue[taken][0]) <= MAX_BATCH):
            size += len(self.queue[taken][0])
            taken += 1
        batch, self.queue = self.queue[:taken], self.queue[taken:]
        return batch

    async def _drain(self) -> None:
        hub = await get_hub()
        while self.queue:
            batch = self._next_batch()
            error = await self._commit(hub, batch)
            if error is not None and len(batch) > 1 and not isinstance(error, DATABASE_DOWN):
                await self._commit_alone(hub, batch)
            elif error is not None:
                self._fail(batch, error)
        # Nothing queued: an idle map keeps no committer (the next op makes a new one).
        committers = _committers()
        if committers.get((self.team_id, self.map_id)) is self:
            del committers[(self.team_id, self.map_id)]

    async def _commit_alone(self, hub, batch: list[Group]) -> None:
        """After a failed batch: each group on its own, in order, so only a group that
        fails by itself is told (with its own error); once the database itself fails,
        the rest are told at once."""
        for position, group in enumerate(batch):
            error = await self._commit(hub, [group])
            if isinstance(error, DATABASE_DOWN):
                self._fail(batch[position:], error)
                return
            if error is not None:
                logger.error("map %s: a group of %d op(s) failed on its own; the rest of its "
                             "batch is committed without it", self.map_id, len(group[0]))
                self._fail([group], error)

    @staticmethod
    def _fail(batch: list[Group], error: Exception) -> None:
        for _, future in batch:
            if not future.done():
                future.set_exception(error)

    async def _commit(self, hub, batch: list[Group]) -> Exception | None:
        """Commit `batch` in one transaction and answer its groups; the error when it
        failed (logged; nothing of it applied, no group answered)."""
        submissions = [submission for group, _ in batch for submission in group]
        try:
            await run_action(
                submit_and_close, executor=commit_threads(),
                before_broadcasts=lambda outcomes: self._answer(hub, batch, outcomes),
                delivered_to=(group_name("map", self.map_id), hub.channel),
                map_id=self.map_id, team_id=self.team_id,
                submissions=submissions,
                max_restore_bytes=settings.COLLAB_RESTORE_BYTES_PER_COMMIT)
        except Exception as error:  # any failure: the caller decides who is told
            logger.exception("map %s: committing %d op(s) of %d group(s) failed",
                             self.map_id, len(submissions), len(batch))
            return error
        return None

    def _answer(self, hub, batch: list[Group], outcomes: list[actions.OpOutcome]) -> None:
        """A committed batch's events to this process's sockets and its answers to its
        groups, before the channel layer carries the events to the other processes (not
        back to this one's hub): no wait for its round trips."""
        COMMIT_BATCH_OPS.observe(len(outcomes))
        for outcome in outcomes:
            for event in outcome.events:
                hub.offer(self.map_id, event)
        start = 0
        for group, future in batch:
            if not future.done():
                future.set_result(outcomes[start:start + len(group)])
            start += len(group)


class CommitThreads:
    """The threads this loop's committers run their transactions in, each with a
    database connection of its own (from the pool, between transactions)."""

    def __init__(self):
        self.executor = ThreadPoolExecutor(settings.COLLAB_COMMIT_THREADS,
                                           thread_name_prefix="commit")

    async def aclose(self) -> None:
        self.executor.shutdown(wait=False)  # a transaction under way finishes alone


def submit_and_close(**kwargs) -> list[actions.OpOutcome]:
    """`actions.ops_submit`, then this thread's connection back to the pool: a commit
    thread ends with its loop (each test's) and must not take a connection with it."""
    try:
        return actions.ops_submit(**kwargs)
    finally:
        connections.close_all()


def commit_threads() -> ThreadPoolExecutor | None:
    """The executor of this loop's commits; None (the shared database thread) on a
    database that takes one writer at a time (SQLite, the embedded default)."""
    if connection.vendor != "postgresql" or settings.COLLAB_COMMIT_THREADS < 2:
        return None
    return runtime.current().part("collab.commit_threads", CommitThreads).executor


def _committers() -> dict[tuple[int, int], MapCommitter]:
    """This loop's committers of maps with ops queued or committing (a runtime part)."""
    return runtime.current().part("collab.committers", dict)


def get_committer(team_id: int, map_id: int) -> MapCommitter:
    """The map's committer on this loop: submit to it at once (an idle one is
    forgotten, so a reference kept across awaits may be a retired one)."""
    committers = _committers()
    committer = committers.get((team_id, map_id))
    if committer is None:
        committer = committers[(team_id, map_id)] = MapCommitter(team_id, map_id)
    return committer
