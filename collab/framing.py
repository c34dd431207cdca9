"""What a map sends, cut into frames within the budget (pure: no database, no I/O).

Every frame Moa sends for a map stays within ws_frames.MAX_SEND_BYTES, whatever the map
holds: a batch of op events becomes as many `ops` frames as it needs; a welcome whose
snapshot does not fit carries the snapshot's first part, and `snapshot` frames bring
the rest (to a client that said it takes them: `"snapshot_parts": true` in its hello).
A replay of ops is read only as far as it fits in its welcome (queries.replay_events):
past that, the client gets a snapshot. What fits in one frame is sent exactly as
before.

Parts are JSON arrays of node texts encoded once, kept as UTF-8 bytes (the wire size;
a Python str of mixed text can take four times that) and shared by every socket.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from project.ws_frames import MAX_MESSAGE_BYTES, MAX_SEND_BYTES, Raw, encode, utf8_size

# Everything in a welcome but its snapshot's nodes: map, seq, you and at most
# presence.MAX_PEERS peers. tests/collab/test_framing.py builds the largest possible one.
WELCOME_HEAD_BYTES = 160 * 1024
FIRST_PART_BYTES = MAX_SEND_BYTES - WELCOME_HEAD_BYTES
# {"type":"snapshot","seq":N,"part":N,"parts":N,"nodes":} and {"type":"ops","events":}
ENVELOPE_BYTES = 256
PART_BYTES = MAX_SEND_BYTES - ENVELOPE_BYTES


class ArrayParts:
    """JSON arrays of encoded items, cut in order so that the first array's text takes
    at most `first` bytes and every other at most `rest`. The first array may stay
    empty (an item too large for it opens the second); an item larger than `rest`
    (none is: the op rules bound a node) gets an array of its own."""

    def __init__(self, first: int = FIRST_PART_BYTES, rest: int = PART_BYTES):
        self.budget, self.rest = first, rest
        self.parts: list[bytes] = []
        self.items: list[bytes] = []
        self.used = 2  # the current array's text: its brackets, items and commas
        self.count = 0
        self.size = 0  # of every item, with the commas between them

    def add(self, text: str) -> None:
        item = text.encode()
        over = self.used + len(item) + (1 if self.items else 0) > self.budget
        if over and (self.items or (not self.parts and self.budget < self.rest)):
            self._close()
        self.used += len(item) + (1 if self.items else 0)
        self.size += len(item) + (1 if self.count else 0)
        self.items.append(item)
        self.count += 1

    def _close(self) -> None:
        self.parts.append(b"[" + b",".join(self.items) + b"]")
        self.items, self.used, self.budget = [], 2, self.rest

    def finish(self) -> list[bytes]:
        if self.items or not self.parts:
            self._close()
        return self.parts


@dataclass(frozen=True)
class Snapshot:
    """A map's live nodes at `seq`, in parts (ArrayParts' defaults); `size` is the
    bytes of all node texts with the commas between them."""

    map: dict
    seq: int
    parts: list[bytes]
    size: int

    def array(self) -> bytes:
        """Every node in one JSON array, UTF-8."""
        return b"[" + b",".join(part[1:-1] for part in self.parts if len(part) > 2) + b"]"

    def whole(self) -> str:
        return self.array().decode()


def welcome_head(header: dict, seq: int, you: dict, peers: list[dict]) -> dict:
    """A welcome without its snapshot or ops, keys in v1's order."""
    return {"type": "welcome", "map": header, "seq": seq, "snapshot": None, "ops": None,
            "you": you, "peers": peers}


def replay_budget(*, parts_ok: bool) -> int:
    """The most op events (bytes) a welcome replays: what fits in its frame beside the
    largest head. Past it the client gets a snapshot, so a welcome with ops is always
    one frame, as v1 promises (every op after `since`)."""
    return FIRST_PART_BYTES if parts_ok else MAX_MESSAGE_BYTES - WELCOME_HEAD_BYTES


def replay_welcome(head: dict, events: list[str]) -> str:
    """The welcome with the op events after the client's seq (encoded texts)."""
    return encode({**head, "ops": Raw("[" + ",".join(events) + "]")})


def welcome_frames(head: dict, snapshot: Snapshot, *, parts_ok: bool
                   ) -> Iterator[str] | None:
    """The welcome (`head` with its snapshot): one frame when it fits, byte for byte
    PROTOCOL v1's; else, for a client that takes parts, the welcome with part 1 of N
    and N-1 `snapshot` frames (made one at a time, as they are sent). None when the
    client can take neither (an old client and a map past one message)."""
    limit = MAX_SEND_BYTES if parts_ok else MAX_MESSAGE_BYTES
    if snapshot.size + 2 <= limit:
        single = encode({**head, "snapshot": Raw('{"nodes":' + snapshot.whole() + "}")})
        if utf8_size(single) <= limit:
            return iter([single])
    if not parts_ok:
        return None
    return _in_parts(head, snapshot)


def _in_parts(head: dict, snapshot: Snapshot) -> Iterator[str]:
    count = len(snapshot.parts)
    first = snapshot.parts[0].decode()
    yield encode({**head, "snapshot": Raw(f'{{"nodes":{first},"parts":{count}}}')})
    for number, part in enumerate(snapshot.parts[1:], start=2):
        yield encode({"type": "snapshot", "seq": snapshot.seq, "part": number,
                      "parts": count, "nodes": Raw(part.decode())})


def event_frames(events: list[str]) -> list[str]:
    """Op events (encoded texts, in seq order) as frames: one event as its own `op`
    frame, several as `ops` frames of at most the budget each."""
    if len(events) == 1:
        return events
    parts = ArrayParts(PART_BYTES, PART_BYTES)
    for text in events:
        parts.add(text)
    return [encode({"type": "ops", "events": Raw(part.decode())}) for part in parts.finish()]
