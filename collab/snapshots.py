"""One snapshot read per map and moment, shared by the hellos of this process.

A hello that needs a snapshot gets the one another hello of the same map is reading,
or the last one read while no op has been released since (its seq is the room's);
otherwise it starts a read. At most COLLAB_SNAPSHOT_READS reads run at once in a
process (each holds a whole map while it encodes it), and the snapshots kept take at
most COLLAB_SNAPSHOT_CACHE_BYTES, none for longer than COLLAB_SNAPSHOT_KEEP_SECONDS:
a reconnect storm after a deploy costs one read and one encoding per map, not one per
client, and concurrent hellos share one copy instead of holding one each.

A snapshot read after the room subscribed is good for any socket of that room: the
hub catches a socket up from its welcome's seq (collab.hub.Hub.attach), so a shared
read that is a few ops behind costs those ops, never a gap.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from collab.framing import Snapshot


@dataclass
class _Entry:
    reading: asyncio.Future
    read_at: float = 0.0
    size: int = 0


class SnapshotCache:
    def __init__(self, read: Callable, *, reads: int, max_bytes: int, keep: float):
        """`read(map_id)` is an awaitable function returning the map's Snapshot."""
        self.read = read
        self.reads = asyncio.Semaphore(reads)
        self.max_bytes, self.keep = max_bytes, keep
        self.entries: OrderedDict[int, _Entry] = OrderedDict()

    async def get(self, map_id: int, latest_seq: int) -> Snapshot:
        """A snapshot of the map no older than the room's subscription: a read under
        way, or one at `latest_seq` (the last seq the room released), or a new read.
        Raises what the read raised (to every hello that waited for it)."""
        entry = self.entries.get(map_id)
        if entry is None or not self._usable(entry, latest_seq):
            entry = self.entries[map_id] = _Entry(asyncio.ensure_future(self._read(map_id)))
        self.entries.move_to_end(map_id)
        return await asyncio.shield(entry.reading)

    def _usable(self, entry: _Entry, latest_seq: int) -> bool:
        """A read under way, or a fresh one at the room's seq (failed reads are gone)."""
        if not entry.reading.done():
            return True
        return (entry.reading.result().seq == latest_seq
                and time.monotonic() - entry.read_at < self.keep)

    async def _read(self, map_id: int) -> Snapshot:
        this = asyncio.current_task()
        try:
            async with self.reads:
                snapshot = await self.read(map_id)
        except BaseException:
            if (entry := self.entries.get(map_id)) is not None and entry.reading is this:
                del self.entries[map_id]  # the next hello reads again
            raise
        entry = self.entries.get(map_id)
        if entry is not None and entry.reading is this:
            entry.read_at, entry.size = time.monotonic(), sum(map(len, snapshot.parts))
            asyncio.get_running_loop().call_later(self.keep, self._expire, map_id, entry)
        self._shrink()
        return snapshot

    def _expire(self, map_id: int, entry: _Entry) -> None:
        if self.entries.get(map_id) is entry:
            del self.entries[map_id]

    def _shrink(self) -> None:
        """Drop the least recently used snapshots past max_bytes (reads under way stay:
        their hellos hold them anyway)."""
        total = sum(entry.size for entry in self.entries.values())
        for map_id, entry in list(self.entries.items()):
            if total <= self.max_bytes:
                return
            if entry.reading.done():
                del self.entries[map_id]
                total -= entry.size

    def forget(self, map_id: int) -> None:
        self.entries.pop(map_id, None)
