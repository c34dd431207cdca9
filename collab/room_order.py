"""A map's op events put back in seq order, once each (pure: no I/O, no timers).

Events reach a process from its own commits and from the channel layer, which may drop
or reorder them; this releases each seq exactly once, in order, and says which seqs
are missing so the hub can read them from the op log.
"""

from __future__ import annotations

from collections import deque

RECENT_EVENTS = 1024  # kept to catch a newly attached socket up


class EventOrder:
    def __init__(self) -> None:
        self.delivered = -1  # highest seq released in order (-1: start not known yet)
        self.pending: dict[int, dict] = {}  # seq -> event waiting for its turn
        self.recent: deque[dict] = deque(maxlen=RECENT_EVENTS)

    @property
    def started(self) -> bool:
        return self.delivered >= 0

    def start(self, seq: int) -> list[dict]:
        """The map's seq when this process subscribed: release what followed it."""
        self.delivered = seq
        return self.release()

    def offer(self, event: dict) -> list[dict]:
        """Take one event (duplicates and old ones are ignored); the events now in order."""
        seq = event["seq"]
        if not self.started:
            self.pending[seq] = event
            return []
        if seq <= self.delivered:
            return []
        self.pending[seq] = event
        return self.release()

    def release(self) -> list[dict]:
        for seq in [seq for seq in self.pending if seq <= self.delivered]:
            del self.pending[seq]
        released = []
        while self.delivered + 1 in self.pending:
            event = self.pending.pop(self.delivered + 1)
            self.delivered += 1
            self.recent.append(event)
            released.append(event)
        return released

    def gap_end(self) -> int | None:
        """The last seq of the hole before the first waiting event, if one waits."""
        return min(self.pending) - 1 if self.pending else None

    def since(self, cursor: int) -> list[dict] | None:
        """The released events after `cursor`, or None when they are no longer all kept
        (the socket must resync)."""
        missing = [event for event in self.recent if event["seq"] > cursor]
        if missing and missing[0]["seq"] != cursor + 1:
            return None
        return missing
