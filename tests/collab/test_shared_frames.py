"""The hub's frames through the server's `moa.direct_send` extension (one process, the
real ASGI application with a stand-in for the server's DirectSend): op events and
presence take it, the socket's own frames do not, and a socket the server says is too
far behind is closed 1013 and counted while the others go on."""

import json
import uuid

import prometheus_client
import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from project.asgi import application
from project.ws_frames import DIRECT_SEND
from tests.collab.conftest import MapSocket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.sqlite,
              pytest.mark.usefixtures("hub_cleanup")]


class ServerStandIn:
    """Records what the hub hands the server; refuses (too much unsent) when told to."""

    def __init__(self):
        self.texts: list[str] = []
        self.refusing = False

    def send(self, frame) -> bool:
        self.texts.append(frame.text)
        return not self.refusing


async def sample(name: str, **labels) -> float:
    """A metric's value (a scrape runs every collector, some of which read the database)."""
    return await database_sync_to_async(prometheus_client.REGISTRY.get_sample_value)(
        name, labels) or 0


@pytest.fixture
def open_direct(token_for):
    async def open_(user, team_id: int, map_id: int) -> tuple[MapSocket, ServerStandIn]:
        token = await database_sync_to_async(token_for)(user)
        communicator = WebsocketCommunicator(
            application, f"/ws/mindmap/{team_id}/{map_id}/?token={token}")
        server = ServerStandIn()
        communicator.scope["extensions"] = {DIRECT_SEND: {"send": server.send}}
        connected, _ = await communicator.connect()
        assert connected
        return MapSocket(communicator), server
    return open_


def op_events(texts: list[str]) -> list[dict]:
    events = []
    for text in texts:
        frame = json.loads(text)
        events += [frame] if frame["type"] == "op" else frame.get("events", [])
    return events


async def test_op_events_take_the_direct_path_and_the_sockets_own_frames_do_not(
        open_direct, open_map, alice, bob, team, mindmap):
    watcher, server = await open_direct(alice, team.pk, mindmap.pk)
    welcome = await watcher.hello()  # its own frame: through ASGI as before
    root = next(n["id"] for n in welcome["snapshot"]["nodes"] if n["parent"] is None)
    editor = await open_map(bob, team.pk, mindmap.pk)
    await editor.hello()
    op_ids = [await editor.op({"kind": "node.create", "node": {
        "id": str(uuid.uuid4()), "parent": root, "title": f"n{i}"}}) for i in range(5)]
    await editor.events(5)
    await watcher.op({"kind": "node.update", "id": str(uuid.uuid4()), "set": {"title": "x"}})
    rejected = await watcher.expect("reject")  # its own answer: through ASGI
    assert rejected["code"] == "gone"
    events = op_events(server.texts)
    assert [event["op_id"] for event in events] == op_ids
    assert [event["seq"] for event in events] == list(range(1, 6))
    assert await watcher.ws.receive_nothing(timeout=0.2)  # no event came through ASGI too
    await watcher.close()
    await editor.close()


async def test_a_socket_too_far_behind_is_closed_1013_and_the_others_go_on(
        open_direct, open_map, alice, bob, team, mindmap):
    slow, server = await open_direct(alice, team.pk, mindmap.pk)
    welcome = await slow.hello()
    root = next(n["id"] for n in welcome["snapshot"]["nodes"] if n["parent"] is None)
    editor = await open_map(bob, team.pk, mindmap.pk)
    await editor.hello()
    closed_before = await sample("moa_ws_slow_readers_closed_total", endpoint="mindmap")
    disconnects_before = await sample("moa_ws_disconnects_total", endpoint="mindmap",
                                      code="1013")
    server.refusing = True
    await editor.op({"kind": "node.create", "node": {"id": str(uuid.uuid4()),
                                                     "parent": root}})
    await editor.events(1)
    closing = await slow.ws.receive_output(timeout=3)
    assert closing == {"type": "websocket.close", "code": 1013}, closing
    await slow.ws.send_input({"type": "websocket.disconnect", "code": 1013})
    await slow.ws.wait(timeout=3)
    assert await sample("moa_ws_slow_readers_closed_total",
                        endpoint="mindmap") == closed_before + 1
    assert await sample("moa_ws_disconnects_total", endpoint="mindmap",
                        code="1013") == disconnects_before + 1
    sent = len(server.texts)
    await editor.op({"kind": "node.create", "node": {"id": str(uuid.uuid4()),
                                                     "parent": root}})
    (event,) = await editor.events(1)
    assert event["seq"] == 2
    assert len(server.texts) == sent  # the closed socket left the room
    await editor.close()
