"""Team management against real Daphne processes with real WebSocket clients: an owner
removes a member over REST and the member's open map socket, on another instance,
closes with 4403 at once (nothing sent by the member); a deleted map's socket closes
with 4404."""

import asyncio
import contextlib

import httpx
import pytest
import websockets

from tests.collab.live import LiveClient
from tests.processes import daphne, free_port, serving, shared_database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis, pytest.mark.slow]


@pytest.fixture
def instances():
    env = {"DATABASE_URL": shared_database_url()}
    ports = [free_port(), free_port()]
    with serving(daphne(ports[0]), ports[0], env) as first, \
            serving(daphne(ports[1]), ports[1], env) as second:
        yield first, second


@pytest.fixture
def tokens(alice, bob, token_for) -> dict[str, str]:
    return {"alice": token_for(alice), "bob": token_for(bob)}


async def closed_with(client: LiveClient) -> int:
    """The close code of a connected client, once the server closes it."""
    with contextlib.suppress(websockets.ConnectionClosed):  # a 4xxx close ends it so
        await asyncio.wait_for(asyncio.shield(client.reader), 15)
    return client.closes[-1]


async def test_a_removed_member_s_socket_on_another_instance_closes_4403(
        instances, tokens, bob, team, mindmap):
    owner_token = tokens["alice"]
    member = LiveClient(instances[1].url, team.pk, mindmap.pk, tokens["bob"])
    staying = LiveClient(instances[1].url, team.pk, mindmap.pk, owner_token)
    await member.connect()
    await staying.connect()
    async with httpx.AsyncClient(base_url=instances[0].url, headers={
            "Authorization": f"Bearer {owner_token}"}) as api:
        answer = await api.delete(f"/api/v1/teams/{team.pk}/members/{bob.pk}/")
    assert answer.status_code == 204
    assert await closed_with(member) == 4403
    await staying.op({"kind": "node.update", "id": staying.replica.root(), "set": {"x": 5}})
    await staying.wait_for(lambda: not staying.unacked)  # the owner's socket stays open
    await staying.close()


async def test_a_deleted_map_s_socket_closes_4404(instances, tokens, team, mindmap):
    token = tokens["alice"]
    client = LiveClient(instances[1].url, team.pk, mindmap.pk, token)
    await client.connect()
    async with httpx.AsyncClient(base_url=instances[0].url,
                                 headers={"Authorization": f"Bearer {token}"}) as api:
        assert (await api.delete(f"/api/v1/maps/{mindmap.pk}/")).status_code == 204
    assert await closed_with(client) == 4404
