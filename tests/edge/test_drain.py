"""SIGTERM to a web instance (Moa's entry point, project/web_server.py): readiness 503
at once, served for DRAIN_SECONDS, then every WebSocket is told to reconnect and
closed with 1012 within the jitter window, then exit 0. Behind nginx with a second
instance, under steady HTTP and WebSocket load: no request fails, no op is lost."""

import asyncio
import json
import os
import random
import re
import signal
import subprocess
import time

import httpx
import pytest
import websockets
from channels.db import database_sync_to_async

from tests import services
from tests.edge.load import (
    HttpLoad,
    ReconnectingClient,
    random_create,
    settle_and_close,
)
from tests.helpers import ROOT, clean_env
from tests.processes import daphne, free_port, serving, shared_database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

DRAIN = {"DRAIN_SECONDS": "2", "DRAIN_JITTER_SECONDS": "2"}


async def open_ping(url: str) -> tuple[websockets.ClientConnection, list]:
    ws = await websockets.connect(url, open_timeout=10)
    frames: list = [json.loads(await ws.recv())]
    return ws, frames


async def read_until_closed(ws, frames: list, started: float) -> float:
    try:
        async for raw in ws:
            frames.append(json.loads(raw))
    except websockets.ConnectionClosedError:
        pass  # 1012 is not a "normal" closure to the client library; the code is checked
    return time.monotonic() - started


async def test_sigterm_drains_in_order(alice, token_for):
    token = await database_sync_to_async(token_for)(alice)
    port = free_port()
    env = {"DATABASE_URL": shared_database_url(), **DRAIN}
    with serving(daphne(port), port, env) as server:
        url = f"ws://127.0.0.1:{port}/ws/ping/?token={token}"
        sockets = [await open_ping(url) for _ in range(6)]
        started = time.monotonic()
        os.kill(server.process.pid, signal.SIGTERM)
        closing = [asyncio.ensure_future(read_until_closed(ws, frames, started))
                   for ws, frames in sockets]
        async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:
            await asyncio.sleep(0.3)
            ready = await http.get("/health/ready/")
            assert (ready.status_code, ready.json()) == (503, {"status": "draining"})
            live = await http.get("/health/")
            assert live.status_code == 200 and live.headers["connection"] == "close"
            await asyncio.sleep(1)  # still inside DRAIN_SECONDS: WebSockets still served
            ws, frames = sockets[0]
            await ws.send(json.dumps({"type": "ping", "echo": "draining"}))
            await asyncio.sleep(0.2)
            assert {"type": "pong", "echo": "draining"} in frames
        closed_after = await asyncio.wait_for(asyncio.gather(*closing), 10)
        assert server.process.wait(timeout=10) == 0
        log = server.output()
    for (ws, frames), after in zip(sockets, closed_after, strict=True):
        assert ws.close_code == 1012
        reconnect = frames[-1]
        assert reconnect["type"] == "reconnect" and 0 <= reconnect["after_ms"] <= 1000
        assert 2 <= after <= 2 + 2 + 1  # DRAIN_SECONDS, then within the jitter window
    assert max(closed_after) - min(closed_after) > 0.2  # spread, not all at once
    assert "drain: 6 WebSocket(s) told to reconnect elsewhere" in log


@pytest.mark.redis
async def test_sigterm_behind_nginx_under_load_fails_nothing_and_loses_no_op(
        edge, alice, bob, team, mindmap, token_for):
    tokens = [await database_sync_to_async(token_for)(user) for user in (alice, bob)]
    env = {"REDIS_URL": services.REDIS_URL, **DRAIN}
    with edge(instances=2, env=env) as (proxy, servers):
        draining, staying = servers
        rng = random.Random(5)
        stop = asyncio.Event()
        clients = [ReconnectingClient(proxy.http_url, team.pk, mindmap.pk, tokens[i % 2])
                   for i in range(6)]
        for client in clients:
            await client.connect()
        loads = [HttpLoad(proxy.http_url, tokens[i % 2], team.pk) for i in range(3)]
        tasks = [asyncio.ensure_future(load.run(stop, random.Random(i)))
                 for i, load in enumerate(loads)]
        tasks += [asyncio.ensure_future(client.stay_connected(stop)) for client in clients]

        async def edit_until_stopped(client):
            while not stop.is_set():
                await client.op(random_create(rng, client))
                await asyncio.sleep(rng.uniform(0.05, 0.15))
        tasks += [asyncio.ensure_future(edit_until_stopped(client)) for client in clients]

        await asyncio.sleep(1.5)
        os.kill(draining.process.pid, signal.SIGTERM)
        exited = await asyncio.to_thread(draining.process.wait, 15)
        await asyncio.sleep(1.5)  # load goes on against the instance that stayed
        stop.set()
        await asyncio.gather(*tasks)
        nodes, logged = await settle_and_close(clients, mindmap.pk)
        assert staying.process.poll() is None
        drain_log = draining.output()
    assert exited == 0
    assert sum(load.ok for load in loads) > 100
    assert [failure for load in loads for failure in load.failures] == []
    sent_away = [client for client in clients if 1012 in client.closes]
    assert sent_away, "no client was on the draining instance: proves nothing"
    for client in sent_away:
        assert client.connects >= 2  # came back, to the instance that stayed
    for client in clients:
        assert client.replica.nodes == nodes  # every client ends with the same tree
        assert set(client.sent) <= logged  # every op it sent was applied exactly once
        assert not client.replica.rejects
    assert re.search(r"drain: [1-9]\d* WebSocket\(s\) told to reconnect", drain_log)


@pytest.mark.parametrize("timeout", ["-1", "90000"])
def test_a_websocket_timeout_beyond_group_expiry_refuses_to_start(timeout):
    result = subprocess.run(
        daphne(free_port(), "--websocket_timeout", timeout), cwd=ROOT, env=clean_env(),
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "must be between 0 and the channel layer's group_expiry (86400 s)" in result.stderr
