"""Who is on one map, as this process knows it, and what changed since the last tick
(pure: the hub's presence fan-out does the sending, collab/hub_presence.py).

Local sockets' states are announced to the other instances; remote states arrive from
them and expire when not heard of for PRESENCE_TTL (their instance died). An instance
that starts following a map asks the others for their peers: each answers with a
re-announce of that map at its next tick, at most once per ANSWER_EVERY (a storm of
joins costs one answer per instance). A map lists
at most MAX_PEERS peers (the first heard of): the others see everyone listed, and are
listed themselves once a place frees and they send presence again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from collab.presence import MAX_PEERS

PRESENCE_TTL = 35.0  # a remote peer not heard of for this long has left
ANSWER_EVERY = 0.5  # a map's local peers re-announced to newcomers at most this often


@dataclass
class TickNews:
    """What one tick sends: to the other instances, and to this process's sockets."""

    announce: list[dict]  # local states for the other instances
    announce_left: list[str]
    left: list[str]  # client ids local sockets hear have left
    changed: list[dict]  # states local sockets hear have changed


@dataclass(eq=False)
class RoomPresence:
    peers: dict[str, dict] = field(default_factory=dict)  # client_id -> state
    local: set[str] = field(default_factory=set)  # client_ids of this process's sockets
    changed: set[str] = field(default_factory=set)  # to send to local sockets next tick
    announce: set[str] = field(default_factory=set)  # local peers to announce next tick
    left: set[str] = field(default_factory=set)
    announce_left: set[str] = field(default_factory=set)
    remote_seen: dict[str, float] = field(default_factory=dict)  # client_id -> monotonic
    asked: bool = False  # an instance new to the map wants the local peers
    answered: float = float("-inf")  # when the local peers were last re-announced
    sent: int = 0  # ticks that sent local sockets news (see collab/hub_presence.py catch_up)

    def states(self, exclude: str | None = None) -> list[dict]:
        return [state for client, state in self.peers.items() if client != exclude]

    def update_local(self, client: str, state: dict) -> None:
        """A local socket's new state (ignored while the map lists MAX_PEERS others:
        its next frame tries again)."""
        if self.peers.get(client) == state:
            return
        if client not in self.peers and len(self.peers) >= MAX_PEERS:
            return
        self.peers[client] = state
        self.changed.add(client)
        self.announce.add(client)

    def merge_remote(self, states: list[dict], left: list[str], now: float) -> None:
        """States and departures another instance announced."""
        for state in states:
            client = state["client_id"]
            if client in self.local:
                continue
            if client not in self.peers and len(self.peers) >= MAX_PEERS:
                continue  # listed here once a place frees (states are re-announced)
            self.remote_seen[client] = now
            if self.peers.get(client) != state:
                self.peers[client] = state
                self.changed.add(client)
        for client in left:
            if client not in self.local:
                self.peer_left(client, announce=False)

    def peer_left(self, client: str, announce: bool) -> None:
        """`client` left: local sockets hear of it, and with `announce` other instances."""
        self.remote_seen.pop(client, None)
        self.changed.discard(client)
        self.announce.discard(client)
        if self.peers.pop(client, None) is not None or announce:
            self.left.add(client)
        if announce:
            self.announce_left.add(client)

    def tick(self, now: float, reannounce: bool) -> TickNews:
        """Expire silent remote peers and collect what this tick sends (each local
        state is re-announced with `reannounce`, or when asked and ANSWER_EVERY has
        passed since the last time, so a new instance learns it)."""
        for client, seen in list(self.remote_seen.items()):
            if now - seen > PRESENCE_TTL:
                self.peer_left(client, announce=False)
        if reannounce or (self.asked and now - self.answered >= ANSWER_EVERY):
            self.asked, self.answered = False, now
            announced = self.local
        else:
            announced = self.announce
        news = TickNews(announce=[self.peers[c] for c in announced if c in self.peers],
                        announce_left=sorted(self.announce_left), left=sorted(self.left),
                        changed=[self.peers[c] for c in self.changed if c in self.peers])
        self.announce, self.announce_left, self.left, self.changed = set(), set(), set(), set()
        if news.left or news.changed:
            self.sent += 1
        return news
