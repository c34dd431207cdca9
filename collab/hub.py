"""Per-process fan-out of op events and presence to this process's sockets.

A stock Channels design makes every socket a group member, so the channel layer
carries one message per socket and a core saturates at a few thousand deliveries a
second. Here each process joins a map's group once, receives each event once,
encodes it once and writes the same frame to its local sockets of that map, batching
events that arrive within a few milliseconds into `ops` frames (as many as the frame
budget needs: collab/framing.py). Snapshots for hellos are read once and shared
(collab/snapshots.py). The hub holds its parts: each room's event order
(collab/room_order.py) and presence (collab/room_presence.py, sent by
collab/hub_presence.py), and who holds sockets here (collab/hub_users.py).

The hub also makes delivery gapless and ordered per map: events are released in seq
order; an out-of-order event waits briefly for the missing ones, then they are read
from the op log (channel layers drop messages when a queue is full, and two commits'
broadcasts can overtake each other). A once-a-second reconcile compares each room
with the database, so even the last event of a burst cannot be lost for long.

Presence is conflated per tick: the latest state of each peer that changed, local
and remote, goes out once per tick; never a backlog, never the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from collab import queries
from collab.framing import Snapshot
from collab.hub_presence import PRESENCE_REANNOUNCE, PresenceFanout
from collab.hub_users import Socket, UserSockets
from collab.metrics import EVENTS_HEALED, RECONCILE_CORRECTIONS
from collab.room import Room
from collab.snapshots import SnapshotCache
from project import runtime
from project.realtime import group_name

logger = logging.getLogger(__name__)

GAP_WAIT = 0.1  # how long an out-of-order event waits before the log is read
RECONCILE_EVERY = 1.0
ROOM_LINGER = 10.0  # a room stays subscribed this long after its last socket leaves
GROUP_REFRESH = settings.CHANNEL_LAYER_GROUP_EXPIRY / 2


class Hub:
    def __init__(self):
        self.id = uuid.uuid4().hex
        self.layer = get_channel_layer()
        self.channel: str | None = None
        self.rooms: dict[int, Room] = {}
        self.users = UserSockets(self.layer)
        self.presence = PresenceFanout(self.layer, self.id)
        self.snapshots = SnapshotCache(
            database_sync_to_async(lambda map_id: queries.map_snapshot(map_id=map_id)),
            reads=settings.COLLAB_SNAPSHOT_READS,
            max_bytes=settings.COLLAB_SNAPSHOT_CACHE_BYTES,
            keep=settings.COLLAB_SNAPSHOT_KEEP_SECONDS)
        self.tasks: list[asyncio.Task] = []
        self.starting: asyncio.Future | None = None
        self.last_group_refresh = time.monotonic()

    async def start(self) -> None:
        # The default prefix: channels-redis pops every process-local channel of one
        # prefix in one loop; a second prefix would wait for the first one's lock.
        self.channel = self.users.channel = await self.layer.new_channel()
        self.tasks = [asyncio.create_task(self._read(), name="hub-read"),
                      asyncio.create_task(self._tick(), name="hub-tick"),
                      asyncio.create_task(self._reconcile(), name="hub-reconcile")]

    async def aclose(self) -> None:
        """Cancel the hub's loops (the runtime closes its loop's parts: tests, a stop)."""
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # --- sockets --------------------------------------------------------------------

    async def join(self, map_id: int) -> Room:
        """Subscribe this process to a map (once) before a socket reads its snapshot."""
        room = self.rooms.get(map_id)
        if room is None:
            room = self.rooms[map_id] = Room(map_id)
            room.subscribing = asyncio.ensure_future(self._subscribe(room))
        try:
            await asyncio.shield(room.subscribing)
        except Exception:
            if self.rooms.get(map_id) is room:
                del self.rooms[map_id]  # the next socket tries again
            raise
        if room.release_handle:
            room.release_handle.cancel()
            room.release_handle = None
        return room

    async def _subscribe(self, room: Room) -> None:
        # Group first, then the seq: an event committed in between is either counted
        # in the seq or received; no socket's snapshot can fall between the two.
        await self.layer.group_add(group_name("map", room.map_id), self.channel)
        try:  # the answers reach this process: it is in the group now
            await self.presence.ask(room.map_id)
        except Exception:  # presence only: the others' next re-announce brings it
            logger.exception("map %s: asking the other instances for presence failed",
                             room.map_id)
        seqs = await database_sync_to_async(queries.map_seqs)([room.map_id])
        self._released(room, room.order.start(seqs.get(room.map_id, 0)))

    async def snapshot(self, map_id: int) -> Snapshot:
        """The map's snapshot for a socket of a joined room, shared (collab/snapshots.py)."""
        return await self.snapshots.get(map_id, self.rooms[map_id].order.delivered)

    async def attach(self, socket: Socket, map_id: int, seq: int, presence_mark: int) -> None:
        """Start sending `socket` the events after `seq` (its welcome's seq), and the
        peers' news after `presence_mark` (taken before its welcome listed the peers)."""
        room = self.rooms[map_id]
        await room.attach(socket, seq)
        await self.presence.catch_up(socket, room.presence, presence_mark)

    async def detach(self, socket: Socket, map_id: int) -> None:
        room = self.rooms.get(map_id)
        if room is not None and room.sockets.pop(socket, None) is not None:
            if socket.client_id not in {s.client_id for s in room.sockets}:
                room.presence.local.discard(socket.client_id)
                room.presence.peer_left(socket.client_id, announce=True)
            self.linger(map_id)

    def linger(self, map_id: int) -> None:
        """A room no local socket uses any more is released after ROOM_LINGER (a
        reconnecting client finds it still subscribed)."""
        room = self.rooms.get(map_id)
        if room is not None and not room.sockets and room.release_handle is None:
            room.release_handle = asyncio.get_running_loop().call_later(
                ROOM_LINGER, lambda: asyncio.ensure_future(self._release(room)))

    # --- presence ---------------------------------------------------------------------

    def presence_mark(self, map_id: int) -> int:
        """Where the map's presence news stands, for `attach` (the map is joined)."""
        return self.rooms[map_id].presence.sent

    def peers(self, map_id: int, exclude: str | None = None) -> list[dict]:
        room = self.rooms.get(map_id)
        return [] if room is None else room.presence.states(exclude)

    def update_presence(self, socket: Socket, map_id: int, state: dict) -> None:
        room = self.rooms.get(map_id)
        if room is not None:
            room.presence.update_local(socket.client_id, state)

    # --- op events --------------------------------------------------------------------

    def offer(self, map_id: int, event: dict) -> None:
        """Take an op event (from a local commit or the channel layer); duplicates are ignored."""
        room = self.rooms.get(map_id)
        if room is not None:
            self._released(room, room.order.offer(event))

    def _released(self, room: Room, events: list[dict]) -> None:
        """Batch the events now in order for the sockets; wait for a gap to fill."""
        room.batch.extend(events)
        loop = asyncio.get_running_loop()
        if room.batch and not room.flushing and room.flush_handle is None:
            room.flush_handle = loop.call_later(
                settings.COLLAB_BATCH_WINDOW, lambda: asyncio.ensure_future(self._flush(room)))
        if room.order.pending and room.gap_handle is None and not room.filling:
            room.gap_handle = loop.call_later(
                GAP_WAIT, lambda: asyncio.ensure_future(self._fill(room)))

    async def _flush(self, room: Room) -> None:
        room.flush_handle = None
        if room.flushing:
            return
        room.flushing = True
        try:
            while room.batch:
                events, room.batch = room.batch, []
                await room.deliver(events)
        finally:
            room.flushing = False

    async def _fill(self, room: Room, upto: int | None = None) -> None:
        """Read the events the channel layer did not bring from the op log."""
        room.gap_handle = None
        if room.filling or room.map_id not in self.rooms:
            return
        upto = room.order.gap_end() if upto is None else upto
        if upto is None:
            return
        room.filling = True
        released = []
        try:
            events = await database_sync_to_async(queries.op_events)(
                map_id=room.map_id, after=room.order.delivered, upto=upto)
            if events:
                EVENTS_HEALED.inc(len(events))
                logger.info("map %s: %d op event(s) refilled from the log (seq %s-%s)",
                            room.map_id, len(events), events[0]["seq"], events[-1]["seq"])
            for event in events:
                released += room.order.offer(event)
        except Exception:
            logger.exception("map %s: refilling from the op log failed", room.map_id)
        finally:
            room.filling = False
        self._released(room, released)

    async def _release(self, room: Room) -> None:
        room.release_handle = None
        if room.sockets or self.rooms.get(room.map_id) is not room:
            return
        del self.rooms[room.map_id]
        self.snapshots.forget(room.map_id)
        for handle in (room.flush_handle, room.gap_handle):
            if handle:
                handle.cancel()
        await self.layer.group_discard(group_name("map", room.map_id), self.channel)

    # --- the loops ---------------------------------------------------------------------

    async def _read(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)
                await self._dispatch(message)
            except asyncio.CancelledError:
                raise
            except Exception:  # the reader must outlive a bad message or a Redis blip
                logger.exception("hub: channel layer receive failed; retrying")
                await asyncio.sleep(1)

    async def _dispatch(self, message: dict) -> None:
        kind = message.get("type")
        if kind == "map.ops":
            for event in message["events"]:
                self.offer(message["map"], event)
        elif kind == "map.presence":
            room = self.rooms.get(message.get("map"))
            if room is not None:
                self.presence.merge(room.presence, message)
        elif kind == "map.presence.ask":
            room = self.rooms.get(message.get("map"))
            if room is not None:
                self.presence.asked(room.presence, message)
        elif kind == "map.closed":  # the map was deleted (collab.team_actions.maps_close)
            self.snapshots.forget(message["map"])
            await self.users.close_map(message["map"], message["code"])
        elif kind == "user.revoke":
            await self.users.revoke(message)
        elif kind == "user.teams":
            pass  # for /ws/jobs/ (the teams whose jobs a user sees); maps check per op
        else:
            logger.warning("hub: unknown message type %r", kind)

    async def _tick(self) -> None:
        last_announce = time.monotonic()
        while True:
            await asyncio.sleep(settings.COLLAB_PRESENCE_TICK)
            now = time.monotonic()
            reannounce = now - last_announce >= PRESENCE_REANNOUNCE
            if reannounce:
                last_announce = now
                self.users.forget_full_buckets(now)
            for room in list(self.rooms.values()):
                try:
                    await self.presence.tick(room.map_id, room.presence, list(room.sockets),
                                             now, reannounce)
                except Exception:
                    logger.exception("map %s: presence tick failed", room.map_id)
            if now - self.last_group_refresh >= GROUP_REFRESH:
                self.last_group_refresh = now
                await self._refresh_groups()

    async def _reconcile(self) -> None:
        while True:
            await asyncio.sleep(RECONCILE_EVERY)
            rooms = [room for room in self.rooms.values()
                     if room.sockets and room.order.started]
            if not rooms:
                continue
            try:
                seqs = await database_sync_to_async(queries.map_seqs)(
                    [room.map_id for room in rooms])
            except Exception:
                logger.exception("hub: reconcile query failed")
                continue
            for room in rooms:
                if seqs.get(room.map_id, 0) > room.order.delivered and not room.filling:
                    RECONCILE_CORRECTIONS.inc()
                    await self._fill(room, upto=seqs[room.map_id])

    async def _refresh_groups(self) -> None:
        """Group memberships expire in channels-redis; long-lived rooms renew theirs."""
        for map_id in list(self.rooms):
            await self.layer.group_add(group_name("map", map_id), self.channel)
        for user_id in list(self.users.users):
            await self.layer.group_add(group_name("user", user_id), self.channel)

async def get_hub() -> Hub:
    """This process's hub, started (one per event loop, a part of the process's runtime:
    Daphne has one loop; tests make many)."""
    hub = runtime.current().part("collab.hub", Hub)
    if hub.starting is None:
        hub.starting = asyncio.ensure_future(hub.start())
    try:
        await asyncio.shield(hub.starting)
    except Exception:
        hub.starting = None  # the next caller tries again
        raise
    return hub
