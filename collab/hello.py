"""What a socket's connect and hello read: the access check, then the op events to
replay after the client's seq, or None for a snapshot (collab/consumers.py)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from collab import access, framing, queries


def check_access(user_id: int, team_id: int, map_id: int) -> str:
    """The user's role in the team that holds the map; NotAMember or MapNotFound."""
    return access.member_map(user_id=user_id, map_id=map_id, team_id=team_id)[1]


@dataclass(frozen=True)
class Replay:
    """What a hello reads first: the op events to replay, or (None) a snapshot to send."""

    events: list[str] | None = None
    map: dict | None = None
    seq: int = 0


def hello_replay(*, user_id: int, team_id: int, map_id: int, since: int | None,
                 parts_ok: bool) -> Replay:
    """Access checked again (a member removed since the socket connected gets nothing),
    then the op events after `since` if they can be replayed in one welcome frame."""
    check_access(user_id, team_id, map_id)
    if since is None:
        return Replay()
    found = queries.replay_events(map_id=map_id, since=since,
                                  max_replay=settings.COLLAB_MAX_REPLAY,
                                  max_bytes=framing.replay_budget(parts_ok=parts_ok))
    if found is None:
        return Replay()
    header, seq, events = found
    return Replay(events, header, seq)
