import json
import uuid

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from project.asgi import application


class MapSocket:
    """A test client of /ws/mindmap/ through the real ASGI application."""

    def __init__(self, communicator: WebsocketCommunicator):
        self.ws = communicator
        self.client_id = str(uuid.uuid4())
        self.peer_id: str | None = None  # what peers know it by (the welcome's you)

    async def hello(self, since=None, parts: bool = False) -> dict:
        """The welcome; with `parts` (the extension), its snapshot complete: the nodes
        of its `snapshot` frames added, and `frames` the sizes of every frame it took."""
        frame = {"type": "hello", "client_id": self.client_id, "since": since}
        if parts:
            frame["snapshot_parts"] = True
        await self.ws.send_json_to(frame)
        text = await self.recv_text("welcome")
        welcome = json.loads(text)
        self.peer_id = welcome["you"]["client_id"]
        welcome["frames"] = [len(text.encode())]
        count = (welcome["snapshot"] or {}).get("parts", 1)
        for number in range(2, count + 1):
            text = await self.recv_text("snapshot")
            part = json.loads(text)
            assert (part["seq"], part["part"], part["parts"]) == (welcome["seq"], number, count)
            welcome["snapshot"]["nodes"].extend(part["nodes"])
            welcome["frames"].append(len(text.encode()))
        return welcome

    async def recv_text(self, kind: str, timeout: float = 3) -> str:
        """The next frame of `kind` as the text that came, skipping presence traffic."""
        while True:
            text = await self.ws.receive_from(timeout=timeout)
            frame = json.loads(text)
            if frame["type"] == kind:
                return text
            if frame["type"] not in ("presence", "peer.leave"):
                raise AssertionError(f"expected {kind}, got {text[:300]}")

    async def op(self, op: dict, op_id: str | None = None) -> str:
        op_id = op_id or str(uuid.uuid4())
        await self.ws.send_json_to({"type": "op", "op_id": op_id, "op": op})
        return op_id

    async def recv(self, timeout: float = 3) -> dict:
        return await self.ws.receive_json_from(timeout=timeout)

    async def expect(self, kind: str, timeout: float = 3) -> dict:
        """The next frame of `kind`, skipping presence traffic."""
        while True:
            frame = await self.recv(timeout)
            if frame["type"] == kind:
                return frame
            if frame["type"] not in ("presence", "peer.leave"):
                raise AssertionError(f"expected {kind}, got {frame}")

    async def events(self, count: int, timeout: float = 3) -> list[dict]:
        """The next `count` op events, whether they came as op or ops frames."""
        events: list[dict] = []
        while len(events) < count:
            frame = await self.recv(timeout)
            if frame["type"] == "op":
                events.append(frame)
            elif frame["type"] == "ops":
                events.extend(frame["events"])
            elif frame["type"] not in ("presence", "peer.leave"):
                raise AssertionError(f"expected op events, got {frame}")
        return events

    async def close(self):
        await self.ws.disconnect()


@pytest.fixture
def open_map(token_for):
    tokens: dict[int, str] = {}

    async def open_(user, team_id: int, map_id: int, expect_close: int | None = None,
                    address: str | None = None):
        if user.pk not in tokens:
            tokens[user.pk] = await database_sync_to_async(token_for)(user)
        communicator = WebsocketCommunicator(
            application, f"/ws/mindmap/{team_id}/{map_id}/?token={tokens[user.pk]}")
        if address is not None:  # as Daphne sets it (read once the application runs)
            communicator.scope["client"] = [address, 40000]
        connected, _ = await communicator.connect()
        assert connected
        if expect_close is not None:
            output = await communicator.receive_output(timeout=3)
            assert output == {"type": "websocket.close", "code": expect_close}, output
            return None
        return MapSocket(communicator)

    return open_


@pytest.fixture
def url(server, team, mindmap, alice, bob, token_for):
    """The map's socket URL on the test module's live `server`, by user (alice or bob)."""
    tokens = {user: token_for(user) for user in (alice, bob)}
    base = server.url.replace("http", "ws", 1) + f"/ws/mindmap/{team.pk}/{mindmap.pk}/"
    return lambda user: f"{base}?token={tokens[user]}"

