"""Group commit: the ops a process receives for one map go to the database in batches.

While a batch commits, the ops that arrive queue up and form the next batch, so an
idle map commits each op at once and a busy one pays the transaction's fixed cost
(lock, membership, tree, seq) once per batch instead of once per op. One batch runs
at a time per map and process; across processes the map row's lock orders them.
"""

from __future__ import annotations

import asyncio
import logging
import weakref

from collab import actions
from collab.hub import get_hub
from project.realtime import run_action

logger = logging.getLogger(__name__)

MAX_BATCH = 200


class MapCommitter:
    def __init__(self, team_id: int, map_id: int):
        self.team_id, self.map_id = team_id, map_id
        self.queue: list[tuple[actions.Submission, asyncio.Future]] = []
        self.draining: asyncio.Task | None = None

    async def submit(self, submission: actions.Submission) -> actions.OpOutcome:
        future = asyncio.get_running_loop().create_future()
        self.queue.append((submission, future))
        if self.draining is None or self.draining.done():
            self.draining = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        hub = await get_hub()
        while self.queue:
            batch, self.queue = self.queue[:MAX_BATCH], self.queue[MAX_BATCH:]
            try:
                outcomes = await run_action(
                    actions.ops_submit, map_id=self.map_id, team_id=self.team_id,
                    submissions=[submission for submission, _ in batch])
            except Exception as error:  # the database failed: every op of the batch says so
                logger.exception("map %s: committing %d op(s) failed", self.map_id,
                                 len(batch))
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            for outcome in outcomes:  # the local hub first: no wait for the channel layer
                if outcome.new:
                    hub.offer(self.map_id, outcome.event)
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if not future.done():
                    future.set_result(outcome)


_committers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict] = \
    weakref.WeakKeyDictionary()


def get_committer(team_id: int, map_id: int) -> MapCommitter:
    loop = asyncio.get_running_loop()
    committers = _committers.setdefault(loop, {})
    committer = committers.get((team_id, map_id))
    if committer is None:
        committer = committers[(team_id, map_id)] = MapCommitter(team_id, map_id)
    return committer
