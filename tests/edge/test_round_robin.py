"""No stickiness anywhere: behind a round-robin proxy every reconnect may land on the
other instance, and the collaboration still converges (nothing in Moa depends on a
client returning to the instance that served it before)."""

import asyncio
import random
import re

import pytest
from channels.db import database_sync_to_async

from tests import services
from tests.edge.load import ReconnectingClient, random_create, settle_and_close

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.redis]


async def test_round_robin_reconnects_converge(edge, alice, bob, team, mindmap, token_for):
    tokens = [await database_sync_to_async(token_for)(user) for user in (alice, bob)]
    with edge(instances=2, env={"REDIS_URL": services.REDIS_URL}) as (proxy, servers):
        rng = random.Random(9)
        clients = [ReconnectingClient(proxy.http_url, team.pk, mindmap.pk, tokens[i % 2])
                   for i in range(4)]
        for client in clients:
            await client.connect()
        for _ in range(30):
            for client in clients:
                await client.op(random_create(rng, client))
                if rng.random() < 0.1:  # a network blip: back through the proxy
                    await client.drop()
                    await client.connect()
            await asyncio.sleep(0.02)
        nodes, logged = await settle_and_close(clients, mindmap.pk)
        connects = [len(re.findall(r'"WSCONNECT /ws/mindmap/', server.output()))
                    for server in servers]
    assert sum(connects) == sum(client.connects for client in clients) > len(clients)
    assert min(connects) >= 2, connects  # clients really moved between the instances
    for client in clients:
        assert client.replica.nodes == nodes
        assert set(client.sent) <= logged
