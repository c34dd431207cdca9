"""Group commit: the ops a process receives for one map go to the database in batches.

While a batch commits, the ops that arrive queue up and form the next batch, so an
idle map commits each op at once and a busy one pays the transaction's fixed cost
(lock, membership, tree, seq) once per batch instead of once per op. One batch runs
at a time per map and process; across processes the map row's lock orders them.
"""

from __future__ import annotations

import asyncio
import logging

from django.conf import settings

from collab import actions
from collab.hub import get_hub
from project import runtime
from project.realtime import run_action

logger = logging.getLogger(__name__)

MAX_BATCH = 200


class MapCommitter:
    def __init__(self, team_id: int, map_id: int):
        self.team_id, self.map_id = team_id, map_id
        # Groups of submissions, each answered by one future: a client's batch frame is
        # one group, so it is never split across transactions.
        self.queue: list[tuple[list[actions.Submission], asyncio.Future]] = []
        self.draining: asyncio.Task | None = None

    async def submit(self, submission: actions.Submission) -> actions.OpOutcome:
        (outcome,) = await self.submit_many([submission])
        return outcome

    async def submit_many(self, submissions: list[actions.Submission]
                          ) -> list[actions.OpOutcome]:
        """Commit `submissions` in order, in one transaction (with whatever else is
        queued for the map); DatabaseError when it failed, nothing applied."""
        future = asyncio.get_running_loop().create_future()
        self.queue.append((submissions, future))
        if self.draining is None or self.draining.done():
            self.draining = asyncio.create_task(self._drain())
        return await future

    def _next_batch(self) -> list[tuple[list[actions.Submission], asyncio.Future]]:
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
            submissions = [submission for group, _ in batch for submission in group]
            try:
                outcomes = await run_action(
                    actions.ops_submit, map_id=self.map_id, team_id=self.team_id,
                    submissions=submissions,
                    max_restore_bytes=settings.COLLAB_RESTORE_BYTES_PER_COMMIT)
            except Exception as error:  # the database failed: every op of the batch says so
                logger.exception("map %s: committing %d op(s) failed", self.map_id,
                                 len(submissions))
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            for outcome in outcomes:  # the local hub first: no wait for the channel layer
                for event in outcome.events:
                    hub.offer(self.map_id, event)
            start = 0
            for group, future in batch:
                if not future.done():
                    future.set_result(outcomes[start:start + len(group)])
                start += len(group)


def get_committer(team_id: int, map_id: int) -> MapCommitter:
    """The map's committer on this loop (a part of the process's runtime)."""
    committers: dict = runtime.current().part("collab.committers", dict)
    committer = committers.get((team_id, map_id))
    if committer is None:
        committer = committers[(team_id, map_id)] = MapCommitter(team_id, map_id)
    return committer
