"""Presence for the hub: the latest state of each peer, conflated per tick.

Local sockets' changes go to the other instances once per tick (and are re-announced
every PRESENCE_REANNOUNCE seconds); each local socket gets at most one presence frame
per tick with the peers that changed, never its own state. A remote peer not heard of
for PRESENCE_TTL seconds has left (its instance died). A map lists at most MAX_PEERS
peers (the first this instance heard of): the others see everyone listed, and are
listed themselves once a place frees and they send presence again.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from collab.presence import MAX_PEERS
from project.realtime import group_name
from project.ws_frames import encode

if TYPE_CHECKING:
    from collab.hub import Room
    from collab.hub_users import Socket

logger = logging.getLogger("collab.hub")

PRESENCE_REANNOUNCE = 10.0
PRESENCE_TTL = 35.0  # a remote peer not heard of for this long has left


class PresenceFanout:
    """Mixed into collab.hub.Hub: uses its layer, id and rooms."""

    def peers(self, map_id: int, exclude: str | None = None) -> list[dict]:
        room = self.rooms.get(map_id)
        if room is None:
            return []
        return [state for client, state in room.peers.items() if client != exclude]

    def presence(self, socket: Socket, map_id: int, state: dict) -> None:
        room = self.rooms.get(map_id)
        if room is None or room.peers.get(socket.client_id) == state:
            return
        if socket.client_id not in room.peers and len(room.peers) >= MAX_PEERS:
            return  # not listed while the map shows MAX_PEERS; its next frame tries again
        room.peers[socket.client_id] = state
        room.changed.add(socket.client_id)
        room.announce.add(socket.client_id)

    async def _presence_tick(self, room: Room, now: float, reannounce: bool) -> None:
        for client, seen in list(room.remote_seen.items()):
            if now - seen > PRESENCE_TTL:
                self._peer_left(room, client, announce=False)
        announce = room.local if reannounce else room.announce
        if announce or room.announce_left:
            message = {"type": "map.presence", "map": room.map_id, "origin": self.id,
                       "peers": [room.peers[c] for c in announce if c in room.peers],
                       "left": sorted(room.announce_left)}
            room.announce, room.announce_left = set(), set()
            await self.layer.group_send(group_name("map", room.map_id), message)
        if room.left:
            left, room.left = room.left, set()
            for client in left:
                await self._send_all(room, encode({"type": "peer.leave", "client_id": client}))
        if room.changed:
            changed, room.changed = room.changed, set()
            states = [room.peers[c] for c in changed if c in room.peers]
            if states:
                await self._send_presence(room, states)

    async def _send_presence(self, room: Room, states: list[dict]) -> None:
        shared = encode({"type": "presence", "peers": states})
        own = {state["client_id"] for state in states}
        for socket in list(room.sockets):
            if socket.client_id not in own:
                await self._send_one(socket, shared)
            elif len(states) > 1:  # never echo a client's own presence back to it
                await self._send_one(socket, encode({"type": "presence", "peers": [
                    state for state in states if state["client_id"] != socket.client_id]}))

    async def _send_all(self, room: Room, text: str) -> None:
        for socket in list(room.sockets):
            await self._send_one(socket, text)

    async def _send_one(self, socket: Socket, text: str) -> None:
        try:
            await socket.send_text(text)
        except Exception:  # one broken socket must not stop the others' delivery
            logger.exception("send to client %s failed", socket.client_id)

    def _merge_presence(self, message: dict) -> None:
        room = self.rooms.get(message.get("map"))
        if room is None:
            return
        now = time.monotonic()
        for state in message.get("peers", ()):
            client = state["client_id"]
            if client in room.local:
                continue
            if client not in room.peers and len(room.peers) >= MAX_PEERS:
                continue  # listed here once a place frees (re-announced every 10 s)
            room.remote_seen[client] = now
            if room.peers.get(client) != state:
                room.peers[client] = state
                room.changed.add(client)
        for client in message.get("left", ()):
            if client not in room.local:
                self._peer_left(room, client, announce=False)

    def _peer_left(self, room: Room, client: str, announce: bool) -> None:
        room.remote_seen.pop(client, None)
        room.changed.discard(client)
        room.announce.discard(client)
        if room.peers.pop(client, None) is not None or announce:
            room.left.add(client)
        if announce:
            room.announce_left.add(client)
