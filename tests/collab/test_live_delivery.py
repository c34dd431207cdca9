"""The hub's direct writes (project/web_server_parts.DirectSend) against a real Daphne
process: a welcome in parts to a reader on a slow link comes whole, then the op events
in order (that a direct write never overtakes bytes Twisted still holds is shown
deterministically in tests/unit/test_direct_send.py), a reader that falls too far
behind is closed 1013 while the others get everything, and a socket that drops
mid-broadcast stops nobody."""

import asyncio
import contextlib
import json
import socket
import uuid

import pytest
import websockets

from tests.collab.test_live_bounds import fill
from tests.processes import daphne, free_port, serving, shared_database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis, pytest.mark.slow]

BODY = "b" * 9_990  # about the largest body an op may set: 10 KB per event


@pytest.fixture
def server():
    port = free_port()
    env = {"DATABASE_URL": shared_database_url(), "COLLAB_UNSENT_MAX_BYTES": str(2**20)}
    with serving(daphne(port), port, env) as running:
        yield running


async def connect(url: str, receive_buffer: int | None = None):
    """A client; with `receive_buffer`, its kernel buffer that small (a slow link)."""
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    sock = socket.socket()
    if receive_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    return await websockets.connect(url, sock=sock, open_timeout=10, max_size=2**22,
                                    ping_interval=None)


async def hello(ws, since=None) -> None:
    await ws.send(json.dumps({"type": "hello", "client_id": str(uuid.uuid4()),
                              "since": since, "snapshot_parts": True}))


async def welcome_of(ws) -> dict:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 20))
        if frame["type"] == "welcome":
            return frame


def root_of(welcome: dict) -> str:
    return next(n["id"] for n in welcome["snapshot"]["nodes"] if n["parent"] is None)


async def edit(ws, node: str, count: int) -> None:
    """`count` updates of one node's body, in batches that fit a client frame."""
    for start in range(0, count, 5):
        await ws.send(json.dumps({"type": "ops", "batch_id": str(uuid.uuid4()), "ops": [
            {"op_id": str(uuid.uuid4()), "op": {"kind": "node.update", "id": node,
                                                "set": {"body": f"{i}{BODY}"}}}
            for i in range(start, min(count, start + 5))]}))


async def read_events(ws, until_seq: int, timeout: float = 30) -> list[dict]:
    """Every frame up to the op event `until_seq` (op events flattened), in order."""
    frames = []
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await ws.recv())
            assert frame["type"] != "batch" or all(
                "seq" in result for result in frame["results"]), frame
            frames += frame["events"] if frame["type"] == "ops" else [frame]
            if frames[-1].get("seq") == until_seq and frames[-1]["type"] == "op":
                return frames


async def test_a_slow_link_gets_its_welcome_in_parts_then_the_events_in_order(url, mindmap,
                                                                             alice, bob):
    await asyncio.to_thread(fill, mindmap, alice, 300, BODY)  # about 3 MB: 12 parts
    editor = await connect(url(bob))
    await hello(editor)
    node = root_of(await asyncio.wait_for(welcome_of(editor), 20))
    slow = await connect(url(alice), receive_buffer=4096)
    await hello(slow)
    await asyncio.sleep(0.5)  # its welcome's parts fill its buffers: it reads nothing yet
    await edit(editor, node, 60)
    frames = await read_events(slow, until_seq=360)
    welcome, rest = frames[0], frames[1:]
    assert welcome["type"] == "welcome" and welcome["seq"] == 300
    parts = welcome["snapshot"]["parts"]
    assert parts > 4
    assert [f.get("part") for f in rest[:parts - 1]] == list(range(2, parts + 1))
    events = [f for f in rest[parts - 1:] if f["type"] == "op"]
    assert [e["seq"] for e in events] == list(range(301, 361))
    assert all(f["type"] in ("op", "presence", "peer.leave") for f in rest[parts - 1:])
    for ws in (editor, slow):
        await ws.close()


async def test_a_slow_reader_is_closed_and_the_others_get_everything(url, server, alice,
                                                                    bob):
    editor = await connect(url(bob))
    await hello(editor)
    node = root_of(await asyncio.wait_for(welcome_of(editor), 20))
    slow = await connect(url(alice), receive_buffer=4096)
    await hello(slow)
    await welcome_of(slow)
    dropping = await connect(url(alice))
    await hello(dropping)
    await welcome_of(dropping)
    # 5 MB of events for each socket: far past the 1 MiB bound of the slow one.
    reading = asyncio.create_task(read_events(editor, until_seq=500, timeout=60))
    await edit(editor, node, 20)
    dropping.transport.abort()  # gone mid-broadcast, without a close frame
    await edit(editor, node, 480)
    frames = await reading
    assert [f["seq"] for f in frames if f["type"] == "op"] == list(range(1, 501))
    with contextlib.suppress(websockets.ConnectionClosed):
        async with asyncio.timeout(30):
            async for _ in slow:  # what was written before the close, then the close
                pass
    assert slow.close_code in (1013, 1006)  # 1006: dropped after the close handshake's timeout
    output = server.output()
    assert "closing a slow reader" in output
    assert "Traceback" not in output and "failed" not in output
    await editor.close()
