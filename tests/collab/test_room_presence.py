"""Who is here across instances, without a server: an instance new to a map asks, the
others answer with their peers (at most once per ANSWER_EVERY), and a socket welcomed
while a tick went out gets the whole list once attached."""

import json

from collab.hub_presence import PresenceFanout
from collab.room_presence import ANSWER_EVERY, RoomPresence


def state(client: str, x: float = 0.0) -> dict:
    return {"client_id": client, "user": {"id": 1, "name": "A"}, "cursor": {"x": x, "y": 0},
            "selection": [], "drag": None}


def idle_instance() -> RoomPresence:
    """One local peer whose presence was announced long ago."""
    presence = RoomPresence()
    presence.local.add("a")
    presence.update_local("a", state("a"))
    assert presence.tick(0.0, reannounce=False).announce == [state("a")]
    return presence


class Layer:
    def __init__(self):
        self.sent: list[tuple[str, dict]] = []

    async def group_send(self, group: str, message: dict) -> None:
        self.sent.append((group, message))


class Socket:
    def __init__(self, client_id: str):
        self.client_id = client_id
        self.frames: list[dict] = []

    async def send_shared(self, frame) -> None:
        self.frames.append(json.loads(frame.text))


def test_an_idle_peer_is_announced_at_the_first_tick_after_an_ask():
    presence = idle_instance()
    assert presence.tick(1.0, reannounce=False).announce == []  # idle: nothing to say
    presence.asked = True
    assert presence.tick(1.05, reannounce=False).announce == [state("a")]
    assert presence.tick(1.10, reannounce=False).announce == []  # answered once


def test_a_storm_of_asks_is_answered_once_per_interval_and_none_is_lost():
    presence = idle_instance()
    presence.asked = True
    assert presence.tick(1.0, reannounce=False).announce == [state("a")]
    ticks = [1.0 + 0.05 * step for step in range(1, 21)]  # one second of ticks
    answers = []
    for now in ticks:
        presence.asked = True  # another instance joins at every tick
        answers += [now] * len(presence.tick(now, reannounce=False).announce)
    assert 1 <= len(answers) <= 2  # not one per ask
    assert all(later - earlier >= ANSWER_EVERY for earlier, later in zip(
        [1.0, *answers], answers, strict=False))
    now = ticks[-1]
    presence.asked = True  # the last ask, inside the interval, is answered when it ends
    ticks = [now + 0.05 * step for step in range(1, 12)]
    assert any(presence.tick(t, reannounce=False).announce for t in ticks)


def test_an_answer_or_a_reannounce_reaches_an_instance_that_asked():
    asker, fanout = RoomPresence(), PresenceFanout(Layer(), origin="2")
    fanout.asked(asker, {"type": "map.presence.ask", "map": 7, "origin": "2"})
    assert not asker.asked  # its own ask, come back from the group
    answering = idle_instance()
    PresenceFanout(Layer(), origin="1").asked(
        answering, {"type": "map.presence.ask", "map": 7, "origin": "2"})
    news = answering.tick(2.0, reannounce=False)
    fanout.merge(asker, {"type": "map.presence", "map": 7, "origin": "1",
                         "peers": news.announce, "left": []})
    assert asker.tick(2.05, reannounce=False).changed == [state("a")]


async def test_a_socket_welcomed_while_a_tick_went_out_gets_every_peer_once_attached():
    presence, fanout = RoomPresence(), PresenceFanout(Layer(), origin="2")
    late = Socket("b")
    mark = presence.sent  # its welcome lists no one
    fanout.merge(presence, {"origin": "1", "peers": [state("a")], "left": []})
    await fanout.tick(7, presence, [], 1.0, reannounce=False)  # b not attached yet
    presence.local.add("b")
    await fanout.catch_up(late, presence, mark)
    assert late.frames == [{"type": "presence", "peers": [state("a")]}]
    on_time = Socket("c")
    await fanout.catch_up(on_time, presence, presence.sent)  # no tick in between
    assert on_time.frames == []
