"""What a socket's connect and hello read: the access check, then the op events to
replay after the client's seq, or None for a snapshot (collab/consumers.py). A storm's
checks are batched (access.member_roles through the hub's ReadBatch)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from collab import access, framing, queries
from project.refusals import Refusal


def check_access(user_id: int, team_id: int, map_id: int) -> str:
    """The user's role in the team that holds the map; NotAMember or MapNotFound."""
    role = access.member_roles([(user_id, team_id, map_id)])[user_id, team_id, map_id]
    if isinstance(role, Exception):
        raise role
    return role


def check_each(checks: list[access.MapAccess]) -> dict[access.MapAccess, str | Refusal]:
    """check_access of each socket's connect, many in one database hop: the role, or
    the refusal."""
    found: dict[access.MapAccess, str | Refusal] = {}
    for check in checks:
        try:
            found[check] = check_access(*check)
        except Refusal as refusal:
            found[check] = refusal
    return found


@dataclass(frozen=True)
class Replay:
    """What a hello reads first: the op events to replay, or (None) a snapshot to send."""

    events: list[str] | None = None
    map: dict | None = None
    seq: int = 0


def hello_replay(*, map_id: int, since: int | None, parts_ok: bool) -> Replay:
    """The op events after `since` if they can be replayed in one welcome frame (read
    after the hello's access check: a member removed since the socket connected gets
    nothing, collab/consumers.py)."""
    if since is None:
        return Replay()
    found = queries.replay_events(map_id=map_id, since=since,
                                  max_replay=settings.COLLAB_MAX_REPLAY,
                                  max_bytes=framing.replay_budget(parts_ok=parts_ok))
    if found is None:
        return Replay()
    header, seq, events = found
    return Replay(events, header, seq)
