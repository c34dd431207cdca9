"""The incident 'WebSockets 404 because the server was not ASGI', ruled out for real:
both Daphne (deployments) and `manage.py runserver` (development) upgrade /ws/."""

import asyncio
import json
import sys

import pytest
import websockets

from tests.processes import daphne, free_port, serving, shared_database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


async def ping(base_url: str, token: str) -> dict:
    url = base_url.replace("http", "ws", 1) + f"/ws/ping/?token={token}"
    async with websockets.connect(url, open_timeout=10) as ws:
        welcome = json.loads(await asyncio.wait_for(ws.recv(), 10))
        await ws.send(json.dumps({"type": "ping", "echo": "hi"}))
        pong = json.loads(await asyncio.wait_for(ws.recv(), 10))
    return {"welcome": welcome, "pong": pong}


@pytest.mark.parametrize("server", ["daphne", "runserver"])
def test_real_server_upgrades_websockets(server, alice, token_for):
    token = token_for(alice)
    port = free_port()
    command = daphne(port) if server == "daphne" else [
        sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
    with serving(command, port, env={"DATABASE_URL": shared_database_url()}) as server:
        answer = asyncio.run(ping(server.url, token))
    assert answer["welcome"]["user_id"] == alice.pk
    assert answer["pong"] == {"type": "pong", "echo": "hi"}
