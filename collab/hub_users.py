"""The hub's view of who holds sockets here: revocations, caps and hello buckets.

Every /ws/mindmap/ socket of this process is watched from its connect: its user's
revocations reach it (a removal, a sign-out, a password change), so does its map's
deletion (once the hub holds the map's room, which a hello joins before its access
check: a deletion committed after that check reaches the socket), and it counts against
its user's and its address's caps. Caps and the per-user hello bucket are per process:
what they protect (memory, snapshot reads, fan-out) is this process's, they cost no
round trip, and nothing is left counting when an instance dies; a user spread over N
instances gets N times the allowance, still bounded.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from django.conf import settings

from collab.limits import TokenBucket
from project.realtime import group_name, revocation_applies
from project.ws_frames import SharedFrame

if TYPE_CHECKING:
    from channels.layers import BaseChannelLayer

logger = logging.getLogger("collab.hub")


class Socket(Protocol):
    """What the hub needs of a consumer."""

    client_id: str
    user_id: int
    team_id: int
    map_id: int
    session_key: str | None
    token_id: int | None
    address: str | None  # as rate limits count it (project.rate_limits.client_address)

    async def send_shared(self, frame: SharedFrame) -> None: ...

    async def revoke(self, code: int) -> None: ...


async def send_safely(socket: Socket, frame: SharedFrame) -> None:
    """Send one frame; a broken socket is logged, never stops the others' delivery."""
    try:
        await socket.send_shared(frame)
    except Exception:  # whatever a dying transport raises: the next socket still gets it
        logger.exception("send to client %s failed", socket.client_id)


class UserSockets:
    """The hub's sockets by user and address, on the hub's channel (`channel` is known
    once the hub started)."""

    def __init__(self, layer: BaseChannelLayer):
        self.layer = layer
        self.channel: str | None = None
        self.users: dict[int, set[Socket]] = {}
        self.addresses: dict[str, set[Socket]] = {}
        self.user_hellos: dict[int, TokenBucket] = {}

    def refusal(self, socket: Socket) -> str | None:
        """Why this process takes no more sockets of the socket's user or address
        (COLLAB_SOCKETS_PER_USER, COLLAB_SOCKETS_PER_ADDRESS; 0 is no cap), or None."""
        per_user, per_address = (settings.COLLAB_SOCKETS_PER_USER,
                                 settings.COLLAB_SOCKETS_PER_ADDRESS)
        if per_user and len(self.users.get(socket.user_id, ())) >= per_user:
            return (f"You have {per_user} map connections open on this server already; "
                    f"close some tabs, then reconnect.")
        if (per_address and socket.address is not None
                and len(self.addresses.get(socket.address, ())) >= per_address):
            return (f"Your network address has {per_address} map connections open on this "
                    f"server already; reconnect later.")
        return None

    async def watch(self, socket: Socket) -> None:
        """Deliver the user's revocations to `socket` from now on (and count it against
        its user's and address's caps). Called at connect, before its access is
        checked: a revocation committed after that check cannot fall between the two."""
        if socket.address is not None:
            self.addresses.setdefault(socket.address, set()).add(socket)
        sockets = self.users.setdefault(socket.user_id, set())
        sockets.add(socket)
        if len(sockets) == 1:
            await self.layer.group_add(group_name("user", socket.user_id), self.channel)

    async def unwatch(self, socket: Socket) -> None:
        by_address = self.addresses.get(socket.address)
        if by_address is not None:
            by_address.discard(socket)
            if not by_address:
                del self.addresses[socket.address]
        sockets = self.users.get(socket.user_id)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self.users[socket.user_id]
                await self.layer.group_discard(group_name("user", socket.user_id),
                                               self.channel)

    def hello_bucket(self, user_id: int) -> TokenBucket | None:
        """The user's hellos on this process, over all their sockets, so reconnecting
        refills nothing: a burst of COLLAB_SOCKETS_PER_USER, then
        COLLAB_USER_HELLOS_PER_SECOND. None when sockets per user are not capped."""
        if not settings.COLLAB_SOCKETS_PER_USER:
            return None
        bucket = self.user_hellos.get(user_id)
        if bucket is None:
            bucket = self.user_hellos[user_id] = TokenBucket(
                rate=settings.COLLAB_USER_HELLOS_PER_SECOND,
                burst=settings.COLLAB_SOCKETS_PER_USER)
        return bucket

    def forget_full_buckets(self, now: float) -> None:
        """Hello buckets back to full change nothing: drop them (called now and then)."""
        self.user_hellos = {user: bucket for user, bucket in self.user_hellos.items()
                            if not bucket.full(now)}

    async def close_map(self, map_id: int, code: int) -> None:
        """Close this process's sockets of a map (deleted, or its team): every one,
        attached or still between its hello's access check and its welcome."""
        for sockets in list(self.users.values()):
            for socket in list(sockets):
                if socket.map_id == map_id:
                    await socket.revoke(code)

    async def revoke(self, message: dict) -> None:
        """Close a user's sockets: all, one team's, one session's (logout), or all but
        one session's (a password change keeps the session that made it)."""
        for socket in list(self.users.get(message["user"], ())):
            if revocation_applies(message, team_id=socket.team_id,
                                  session_key=socket.session_key, token_id=socket.token_id):
                await socket.revoke(message["code"])
