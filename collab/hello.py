"""What a socket's hello reads after its access check (access.member_roles, batched:
collab/consumers.py): the op events to replay after the client's seq, or None for a
snapshot."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from collab import framing, queries


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
