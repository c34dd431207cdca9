"""Frames within the budget, built without a database: the largest possible map, welcome
and presence frame at the limits, and what fits in one frame sent as v1 sent it."""

import json
import uuid

import pytest
from django.conf import settings

from collab import framing, op_fields, presence
from collab.framing import ArrayParts, Snapshot, event_frames, welcome_frames
from project.ws_frames import MAX_MESSAGE_BYTES, MAX_SEND_BYTES, encode

WORST_FLOAT = -1.2345678901234567e-308  # the longest repr within ±10⁷: 24 characters
WORST_CHAR = "\x01"  # a control character: six bytes as JSON ("\u0001")
EMOJI = "\U0001f600"


def node(title: str = "", body: str = "", worst: bool = False) -> dict:
    return {"id": str(uuid.uuid4()), "parent": str(uuid.uuid4()), "title": title,
            "body": body, "x": WORST_FLOAT if worst else 0.0,
            "y": WORST_FLOAT if worst else 0.0, "color": "#ffffff", "collapsed": False}


def snapshot_of(nodes: list[dict], seq: int = 7) -> Snapshot:
    parts = ArrayParts()
    for item in nodes:
        parts.add(encode(item))
    return Snapshot({"id": 1, "title": "Plan", "team": 2}, seq, parts.finish(), parts.size)


def head(seq: int = 7, peers: list | None = None, title: str = "Plan") -> dict:
    return {"type": "welcome", "map": {"id": 1, "title": title, "team": 2}, "seq": seq,
            "snapshot": None, "ops": None,
            "you": {"user_id": 3, "client_id": str(uuid.uuid4())}, "peers": peers or []}


def v1_welcome(welcome_head: dict, nodes: list[dict]) -> str:
    """The welcome as v1 encoded it (json.dumps, ASCII escapes)."""
    return json.dumps({**welcome_head, "snapshot": {"nodes": nodes}}, separators=(",", ":"))


def reassemble(frames: list[str]) -> tuple[dict, list[dict]]:
    """What a client that takes parts ends with: the welcome and every node."""
    welcome = json.loads(frames[0])
    nodes = list(welcome["snapshot"]["nodes"])
    count = welcome["snapshot"].get("parts", 1)
    for number, frame in enumerate(frames[1:], start=2):
        part = json.loads(frame)
        assert (part["type"], part["seq"], part["part"], part["parts"]) == (
            "snapshot", welcome["seq"], number, count)
        nodes.extend(part["nodes"])
    assert len(frames) == count
    return welcome, nodes


def sizes(frames: list[str]) -> list[int]:
    return [len(frame.encode()) for frame in frames]


def test_a_small_map_is_one_welcome_byte_for_byte_as_v1_sent_it():
    nodes, welcome_head = [node("Central topic"), node("idea", "notes")], head()
    frames = list(welcome_frames(welcome_head, snapshot_of(nodes), parts_ok=True))
    assert frames == [v1_welcome(welcome_head, nodes)]
    assert list(welcome_frames(welcome_head, snapshot_of(nodes), parts_ok=False)) == frames


def test_emoji_take_four_bytes_not_twelve():
    body = EMOJI * op_fields.MAX_BODY
    assert op_fields.text_size(body) == 4 * op_fields.MAX_BODY
    assert len(json.dumps(body)) - 2 == 12 * op_fields.MAX_BODY  # what v1's escaping cost
    assert op_fields.text_size(WORST_CHAR * 3) == 18 and op_fields.text_size("a\n\"") == 5


def test_a_map_past_the_budget_comes_in_parts_each_within_it():
    nodes = [node(f"n{index}", EMOJI * op_fields.MAX_BODY) for index in range(9)]  # ~360 KB
    frames = list(welcome_frames(head(), snapshot_of(nodes), parts_ok=True))
    assert len(frames) > 1 and max(sizes(frames)) <= MAX_SEND_BYTES
    welcome, received = reassemble(frames)
    assert received == nodes and welcome["ops"] is None
    # An old client takes it in one frame: unescaped, it fits the server's message limit.
    (single,) = welcome_frames(head(), snapshot_of(nodes), parts_ok=False)
    assert json.loads(single)["snapshot"]["nodes"] == nodes
    assert MAX_SEND_BYTES < len(single.encode()) <= MAX_MESSAGE_BYTES


def test_an_old_client_gets_nothing_for_a_map_past_one_message():
    nodes = [node("n", EMOJI * op_fields.MAX_BODY) for _ in range(30)]  # ~1.2 MB
    assert welcome_frames(head(), snapshot_of(nodes), parts_ok=False) is None


def test_array_parts_keep_every_budget_and_the_order():
    parts = ArrayParts(first=100, rest=250)
    items = [json.dumps("x" * length) for length in (30, 30, 120, 5, 200, 1, 1)]
    for item in items:
        parts.add(item)
    cut = parts.finish()
    assert len(cut[0]) <= 100 and all(len(part) <= 250 for part in cut[1:])
    assert [item for part in cut for item in json.loads(part)] == [json.loads(i) for i in items]
    assert parts.size == len(",".join(items))


def test_an_item_too_large_for_the_first_part_leaves_it_empty():
    parts = ArrayParts(first=50, rest=500)
    parts.add(json.dumps("y" * 100))
    assert parts.finish() == [b"[]", ("[" + json.dumps("y" * 100) + "]").encode()]


def worst_peer(index: int) -> dict:
    state = presence.normalize_presence(
        {"cursor": {"x": WORST_FLOAT, "y": WORST_FLOAT},
         "selection": [str(uuid.uuid4()) for _ in range(presence.MAX_SELECTION)],
         "drag": {"node": str(uuid.uuid4()), "x": WORST_FLOAT, "y": WORST_FLOAT}},
        client_id=str(uuid.uuid4()), user={"id": 10**18 + index, "name": WORST_CHAR * 150})
    assert len(state["selection"]) == presence.SELECTION_SHOWN
    return state


def test_the_largest_welcome_head_and_presence_frame_fit_their_budgets():
    peers = [worst_peer(index) for index in range(presence.MAX_PEERS)]
    welcome_head = head(seq=2**62, peers=peers, title=WORST_CHAR * 200)
    welcome_head["you"]["user_id"] = 10**18
    empty_welcome = encode({**welcome_head, "snapshot": {"nodes": []}})
    assert len(empty_welcome.encode()) <= framing.WELCOME_HEAD_BYTES
    assert len(encode({"type": "presence", "peers": peers}).encode()) <= MAX_SEND_BYTES


def test_a_full_map_at_every_limit_stays_within_budget_in_every_frame():
    """10,000 live nodes, the longest coordinates, and titles and bodies of the worst
    characters filling the map's content limit: the worst welcome there can be."""
    limit, count = settings.COLLAB_MAX_CONTENT_BYTES_PER_MAP, settings.COLLAB_MAX_NODES_PER_MAP
    nodes, content = [], 0
    for _ in range(count):
        title = WORST_CHAR * min(op_fields.MAX_TITLE, (limit - content) // 6)
        body = WORST_CHAR * min(op_fields.MAX_BODY,
                                (limit - content - op_fields.text_size(title)) // 6)
        nodes.append(node(title, body, worst=True))
        content += op_fields.text_size(title) + op_fields.text_size(body)
    assert limit - 6 < content <= limit
    snapshot = snapshot_of(nodes, seq=2**62)
    peers = [worst_peer(index) for index in range(presence.MAX_PEERS)]
    frames = list(welcome_frames(head(seq=2**62, peers=peers, title=WORST_CHAR * 200),
                                 snapshot, parts_ok=True))
    assert max(sizes(frames)) <= MAX_SEND_BYTES
    total = sum(sizes(frames))
    assert total <= 6.5 * 2**20, total  # docs/protocol.md: "about 6.3 MB at most"
    assert reassemble(frames)[1] == nodes


@pytest.mark.parametrize("count, body", [(2, "small"), (40, "z" * 60_000)])
def test_op_events_come_in_frames_within_the_budget(count, body):
    events = [{"type": "op", "seq": seq, "op_id": str(uuid.uuid4()), "actor": 1,
               "op": {"kind": "node.update", "id": str(uuid.uuid4()), "set": {"body": body}},
               "at": "2026-01-01T00:00:00Z"} for seq in range(1, count + 1)]
    frames = event_frames([encode(event) for event in events])
    assert max(sizes(frames)) <= MAX_SEND_BYTES
    received = [event for frame in map(json.loads, frames) for event in frame["events"]]
    assert received == events
    if count == 2:  # what fits is one frame, as v1 sent it
        assert frames == [json.dumps({"type": "ops", "events": events}, separators=(",", ":"))]
    one = encode(events[0])
    assert event_frames([one]) == [one]
