"""One map as this process's hub sees it, and the sending of its events to its sockets.

The hub (collab/hub.py) drives the timers and the channel layer; a room holds the
state they act on: its sockets with the last seq each was sent, its events in order
(collab/room_order.py), the batch being gathered, and who is here
(collab/room_presence.py).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from collab.framing import event_frames
from collab.hub_users import Socket, send_safely
from collab.room_order import EventOrder
from collab.room_presence import RoomPresence
from project.ws_frames import SharedFrame, encode


@dataclass(eq=False)
class Room:
    """One map as this process sees it: its subscription and sockets, its events in
    order, the batch being gathered for the sockets (with the timers that drive them),
    and who is here."""

    map_id: int
    subscribing: asyncio.Future | None = None
    release_handle: asyncio.TimerHandle | None = None
    sockets: dict[Socket, int] = field(default_factory=dict)  # socket -> last seq sent
    order: EventOrder = field(default_factory=EventOrder)
    filling: bool = False  # reading missing events from the op log
    gap_handle: asyncio.TimerHandle | None = None
    batch: list[dict] = field(default_factory=list)  # released, not yet sent
    flush_handle: asyncio.TimerHandle | None = None
    flushing: bool = False
    presence: RoomPresence = field(default_factory=RoomPresence)

    async def attach(self, socket: Socket, seq: int) -> None:
        """Start sending `socket` the events after `seq` (its welcome's seq)."""
        cursor = seq
        while cursor < self.order.delivered:
            missing = self.order.since(cursor)
            if not missing:
                break  # older than we keep: the client sees a gap and resyncs
            for text in event_frames([encode(event) for event in missing]):
                await socket.send_shared(SharedFrame(text))
            cursor = missing[-1]["seq"]
        self.sockets[socket] = cursor
        self.presence.local.add(socket.client_id)

    async def deliver(self, events: list[dict]) -> None:
        """Send events (in order, after every socket's cursor) to each socket that lacks
        them: each event encoded once, one shared set of frames for sockets in step
        (their bytes on the wire made once too: ws_frames.SharedFrame)."""
        first, last = events[0]["seq"], events[-1]["seq"]
        texts = [encode(event) for event in events]
        shared = [SharedFrame(text) for text in event_frames(texts)]
        for socket, cursor in list(self.sockets.items()):
            if cursor >= last or socket not in self.sockets:
                continue
            frames = shared if cursor == first - 1 else [
                SharedFrame(text) for text in event_frames(
                    [text for event, text in zip(events, texts, strict=True)
                     if event["seq"] > cursor])]
            self.sockets[socket] = last
            for frame in frames:
                await send_safely(socket, frame)
