"""Presence fan-out: each map's who-is-here, conflated per tick (collab/room_presence.py
holds the state; this sends it).

Local sockets' changes go to the other instances once per tick (and are re-announced
every PRESENCE_REANNOUNCE seconds, or soon after an instance new to the map asks);
each local socket gets at most one presence frame per tick with the peers that changed,
never its own state. A socket welcomed while a tick went out gets the whole list once
it is attached (catch_up), so no peer heard of in between is missed.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from collab.hub_users import send_safely
from collab.metrics import PRESENCE_FRAMES
from project.realtime import group_name
from project.ws_frames import SharedFrame, encode

if TYPE_CHECKING:
    from channels.layers import BaseChannelLayer

    from collab.hub_users import Socket
    from collab.room_presence import RoomPresence

PRESENCE_REANNOUNCE = 10.0


class PresenceFanout:
    def __init__(self, layer: BaseChannelLayer, origin: str):
        self.layer, self.origin = layer, origin  # origin: this hub, so its own echo is skipped

    async def tick(self, map_id: int, presence: RoomPresence, sockets: list[Socket],
                   now: float, reannounce: bool) -> None:
        news = presence.tick(now, reannounce)
        if news.announce or news.announce_left:
            await self.layer.group_send(group_name("map", map_id), {
                "type": "map.presence", "map": map_id, "origin": self.origin,
                "peers": news.announce, "left": news.announce_left})
        for client in news.left:
            frame = SharedFrame(encode({"type": "peer.leave", "client_id": client}))
            for socket in sockets:
                await send_safely(socket, frame)
        if news.changed:
            await self._send_presence(sockets, news.changed)

    async def ask(self, map_id: int) -> None:
        """This process starts following the map: the others announce their peers now
        (answered by `asked`), not at their next re-announce."""
        await self.layer.group_send(group_name("map", map_id), {
            "type": "map.presence.ask", "map": map_id, "origin": self.origin})

    def asked(self, presence: RoomPresence, message: dict) -> None:
        if message.get("origin") != self.origin:
            presence.asked = True

    async def catch_up(self, socket: Socket, presence: RoomPresence, mark: int) -> None:
        """`socket` was just attached; its welcome listed the peers as of `mark`
        (presence.sent then): if a tick sent news since, the socket missed it, so it
        gets every peer's current state in one frame."""
        if presence.sent == mark:
            return
        states = presence.states(exclude=socket.client_id)
        if states:
            await send_safely(socket, SharedFrame(encode({"type": "presence", "peers": states})))
            PRESENCE_FRAMES.labels("out").inc()

    def merge(self, presence: RoomPresence, message: dict) -> None:
        """Another instance's announcement (this hub's own echo is ignored)."""
        if message.get("origin") != self.origin:
            presence.merge_remote(message.get("peers", ()), message.get("left", ()),
                                  time.monotonic())

    async def _send_presence(self, sockets: list[Socket], states: list[dict]) -> None:
        shared = SharedFrame(encode({"type": "presence", "peers": states}))
        own = {state["client_id"] for state in states}
        sent = 0
        for socket in sockets:
            if socket.client_id not in own:
                await send_safely(socket, shared)
                sent += 1
            elif len(states) > 1:  # never echo a client's own presence back to it
                await send_safely(socket, SharedFrame(encode({"type": "presence", "peers": [
                    state for state in states if state["client_id"] != socket.client_id]})))
                sent += 1
        PRESENCE_FRAMES.labels("out").inc(sent)
