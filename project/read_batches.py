"""Reads of many coroutines gathered into one database hop: a reconnect storm's token
lookups and access checks cost one query per batch, not one per socket.

Each read is made after its caller asked (a key never joins a hop already under way),
so a batched answer is as fresh as a read of its own: nothing is cached. While one hop
runs, the keys that arrive wait for the next, so batches grow with the load by
themselves; a lone key costs one hop, as an unbatched read does.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from channels.db import database_sync_to_async

Key = TypeVar("Key", bound=Hashable)
Value = TypeVar("Value")

_UNANSWERED = object()
MAX_KEYS = 500  # per hop: one query's IN list stays small


class ReadBatch(Generic[Key, Value]):
    def __init__(self, read_many: Callable[[list[Key]], dict[Key, Value | Exception]]):
        """`read_many(keys)` runs in the database thread and answers every key: its value,
        or the domain error (an Exception instance) that key's caller gets raised."""
        self.read_many = read_many
        self.pending: dict[Key, asyncio.Future] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.draining: asyncio.Task | None = None

    async def get(self, key: Key) -> Value:
        loop = asyncio.get_running_loop()
        if loop is not self.loop:  # a new event loop (tests): nothing of the old one holds
            self.loop, self.pending, self.draining = loop, {}, None
        future = self.pending.get(key)
        if future is None:
            future = self.pending[key] = loop.create_future()
            if self.draining is None:
                self.draining = loop.create_task(self._drain())
        return await asyncio.shield(future)  # a cancelled caller leaves the others' read

    async def _drain(self) -> None:
        try:
            while self.pending:
                batch = dict(itertools.islice(self.pending.items(), MAX_KEYS))
                for key in batch:
                    del self.pending[key]
                await self._read(batch)
        finally:  # done, or cancelled with its loop: no waiter is left hanging
            self.draining = None
            for future in self.pending.values():
                future.cancel()
            self.pending = {}

    async def _read(self, batch: dict[Key, asyncio.Future]) -> None:
        try:
            found = await database_sync_to_async(self.read_many)(list(batch))
        except Exception as error:  # noqa: BLE001 (not swallowed: each waiter raises it)
            found = dict.fromkeys(batch, error)
        except BaseException:  # cancelled with its loop (see _drain)
            for future in batch.values():
                future.cancel()
            raise
        for key, future in batch.items():
            outcome = found.get(key, _UNANSWERED)
            if outcome is _UNANSWERED:  # a bug in read_many: its caller must not hang
                outcome = LookupError(f"{self.read_many!r} gave no answer for {key!r}")
            if isinstance(outcome, Exception):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
