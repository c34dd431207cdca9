"""Steady load for the edge tests: HTTP requests that must all succeed and mindmap
clients that reconnect as a browser does (after a close, to the same proxy URL)."""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass, field

import httpx

from collab.models import Op
from tests.collab.live import LiveClient, database_nodes


@dataclass
class HttpLoad:
    """GETs and POSTs in a loop; every answer but the expected status is a failure."""

    base_url: str
    token: str
    team_id: int
    ok: int = 0
    failures: list[str] = field(default_factory=list)

    async def run(self, stop: asyncio.Event, rng: random.Random) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        async with httpx.AsyncClient(base_url=self.base_url, headers=headers,
                                     timeout=10) as http:
            while not stop.is_set():
                if rng.random() < 0.2:
                    request = http.post(f"/api/v1/teams/{self.team_id}/maps/",
                                        json={"title": f"load {uuid.uuid4().hex[:6]}"})
                    expected = 201
                else:
                    request = http.get(rng.choice(["/api/v1/me/", "/api/v1/teams/",
                                                   f"/api/v1/teams/{self.team_id}/maps/"]))
                    expected = 200
                try:
                    answer = await request
                except httpx.HTTPError as error:
                    self.failures.append(f"{type(error).__name__}: {error}")
                else:
                    if answer.status_code == expected:
                        self.ok += 1
                    else:
                        self.failures.append(f"{answer.status_code} {answer.text[:200]}")
                await asyncio.sleep(rng.uniform(0.005, 0.02))


class ReconnectingClient(LiveClient):
    """A LiveClient that comes back after every close, as board.js does."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.connects = 0
        self.sent: list[str] = []

    async def connect(self) -> None:
        for attempt in range(50):
            try:
                await super().connect()
            except Exception as error:  # refused, 502 while restarting, handshake timeout
                if attempt == 49:
                    raise RuntimeError(f"client {self.client_id} cannot reconnect") from error
                await asyncio.sleep(0.1)
            else:
                self.connects += 1
                return

    async def op(self, op: dict) -> str:
        op_id = await super().op(op)
        self.sent.append(op_id)
        return op_id

    async def stay_connected(self, stop: asyncio.Event) -> None:
        stopping = asyncio.ensure_future(stop.wait())
        while True:
            await asyncio.wait([self.reader, stopping], return_when=asyncio.FIRST_COMPLETED)
            if stop.is_set():
                return
            await asyncio.sleep(random.uniform(0, 0.3))
            await self.connect()


def random_create(rng: random.Random, client: ReconnectingClient) -> dict:
    parent = rng.choice(sorted(client.replica.nodes))
    return {"kind": "node.create", "node": {"id": str(random_uuid(rng)), "parent": parent,
                                            "title": "under load"}}


def random_uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def ops_in_log(map_id: int) -> set[str]:
    return {str(op_id) for op_id in Op.objects.filter(map_id=map_id)
            .values_list("op_id", flat=True)}


async def settle_and_close(clients: list[ReconnectingClient], map_id: int
                           ) -> tuple[dict, set[str]]:
    """Wait until every op is acknowledged and every client is at the database's seq;
    then the database's nodes and the op_ids in its log."""
    from channels.db import database_sync_to_async

    for client in clients:
        await client.wait_for(lambda c=client: not c.unacked)
    seq, nodes = await database_sync_to_async(database_nodes)(map_id)
    for client in clients:
        await client.wait_for(lambda c=client, s=seq: c.replica.seq == s)
    logged = await database_sync_to_async(ops_in_log)(map_id)
    for client in clients:
        await client.close()
    return nodes, logged
