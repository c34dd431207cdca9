"""The channel layer over several Redis servers and through Redis Sentinel, on real
processes: `redis-server` shards, a master with a replica and a Sentinel, two Daphne
instances and a worker (docs/deployment.md, "Redis").

Sharded, ops and presence cross instances for maps whose groups live on every shard,
and each shard holds the keys the consistent hash sends it. Through Sentinel, the
master is killed (SIGKILL) mid-session: messages in flight to it may be lost (sends
fail and are logged, a message not yet replicated is gone), but every client ends
with every op (the hub heals from the op log), and within a bounded time presence,
job events and the rate-limit cache flow through the promoted replica again.
"""

import asyncio
import contextlib
import logging
import os
import random
import signal
import time

import pytest
import redis
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels_redis.core import RedisChannelLayer
from django.core.cache.backends.redis import RedisCache
from redis.sentinel import MasterNotFoundError, Sentinel

from collab import actions
from project import probes, settings_redis
from project.config import load
from project.realtime import group_name
from tests.collab.live import LiveClient
from tests.collab.test_live_cluster import random_op, run_session, settle
from tests.jobs.test_workers import watch_job, worker
from tests.processes import daphne, free_port, serving, shared_database_url, wait_for
from tests.redis_servers import MASTER_NAME, redis_server, sentinel

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis, pytest.mark.slow]
SHARDS = 3
FAILOVER_BOUND = 30  # seconds from the master's death to messages flowing again
logger = logging.getLogger(__name__)


@pytest.fixture
def tokens(alice, bob, token_for):
    return [token_for(alice), token_for(bob)]


@contextlib.contextmanager
def two_instances(env: dict[str, str]):
    ports = [free_port(), free_port()]
    env = {"DATABASE_URL": shared_database_url(), **env}
    with serving(daphne(ports[0]), ports[0], env) as first, \
            serving(daphne(ports[1]), ports[1], env) as second:
        yield [first, second]


async def presence_crosses(here: LiveClient, there: LiveClient, timeout: float) -> None:
    """`here`'s cursor reaches `there` (presence travels only over the channel layer:
    no op log heals it), resent until it does."""
    deadline = time.monotonic() + timeout
    x = random.uniform(1, 1000)
    while time.monotonic() < deadline:
        await here.send({"type": "presence", "cursor": {"x": x, "y": 1}, "selection": [],
                         "drag": None})
        with contextlib.suppress(TimeoutError):
            await there.wait_for(lambda: (there.presence.get(here.peer_id) or {})
                                 .get("cursor", {}).get("x") == x, timeout=0.5)
            return
    raise TimeoutError(f"presence did not cross instances within {timeout}s")


# --- Shards ----------------------------------------------------------------------------

async def test_ops_and_presence_cross_instances_over_every_shard(tmp_path, team, alice,
                                                                tokens):
    with contextlib.ExitStack() as stack:
        shards = [stack.enter_context(redis_server(tmp_path)) for _ in range(SHARDS)]
        urls = [f"redis://127.0.0.1:{shard.port}/0" for shard in shards]
        # The hash the processes use: maps until every shard holds one map's group, and
        # one map edited per shard (each user's hellos are rate-limited per instance).
        ring = RedisChannelLayer(hosts=urls)
        by_shard = {}
        for number in range(40):
            mindmap = await database_sync_to_async(actions.map_create)(
                team=team, title=f"map {number}", actor=alice)
            by_shard.setdefault(ring.consistent_hash(group_name("map", mindmap.pk)), mindmap)
            if len(by_shard) == SHARDS:
                break
        assert len(by_shard) == SHARDS, "the consistent hash never reached every shard"
        cluster = stack.enter_context(two_instances({"CHANNEL_REDIS_URLS": ",".join(urls)}))
        for number, mindmap in by_shard.items():
            clients = [LiveClient(cluster[index % 2].url, team.pk, mindmap.pk,
                                  tokens[index % 2]) for index in range(4)]
            await run_session(clients, random.Random(number), rounds=6)
            _, nodes = await settle(clients, mindmap.pk)
            await presence_crosses(clients[0], clients[1], timeout=10)
            await presence_crosses(clients[1], clients[0], timeout=10)
            # The map's group (both instances subscribed) on its shard, and only there.
            group = group_name("map", mindmap.pk)
            holders = [index for index, shard in enumerate(shards)
                       if shard.client().zcard(f"moa:group:{group}") == 2]
            assert holders == [ring.consistent_hash(group)]
            for client in clients:
                assert client.replica.nodes == nodes and client.gaps == 0
                await client.close()
        counts = [shard.client().dbsize() for shard in shards]
        assert all(counts), f"keys per shard: {counts}"


def test_doctor_names_the_shard_that_does_not_answer(tmp_path, settings):
    with redis_server(tmp_path) as shard:
        hosts = settings_redis.channel_layer_hosts(load({"CHANNEL_REDIS_URLS": (
            f"redis://127.0.0.1:{shard.port}/0,redis://:hunter2@127.0.0.1:{free_port()}/0")}))
        settings.CHANNEL_LAYERS = {"default": {**settings.CHANNEL_LAYERS["default"],
                                               "CONFIG": {"hosts": hosts}}}
        probe = probes.probe_redis_servers(timeout=2)
        assert not probe.ok and "server 2 of 2, 127.0.0.1:" in probe.detail, probe.detail
        assert "hunter2" not in probe.detail and "CHANNEL_REDIS_URLS" in probe.env
        settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] = hosts[:1]
        probe = probes.probe_redis_servers(timeout=2)
        assert probe.ok and settings_redis.fingerprint(hosts[:1]) in probe.detail


# --- Sentinel --------------------------------------------------------------------------

@pytest.fixture
def sentinel_redis(tmp_path):
    """A master, its replica in sync, and a Sentinel that knows both."""
    with redis_server(tmp_path) as master, \
            redis_server(tmp_path, "--replicaof", "127.0.0.1", str(master.port)) as replica, \
            sentinel(tmp_path, master.port) as watcher:
        wait_for(lambda: replica.client().info("replication")["master_link_status"] == "up",
                 10, "the replica in sync")
        wait_for(lambda: watcher.client().sentinel_slaves(MASTER_NAME), 15,
                 "the Sentinel told of the replica")
        yield master, replica, watcher


@pytest.fixture
def through_sentinel(sentinel_redis, settings):
    """The Sentinel's environment, and this process's channel layer on it too (its job
    wake-ups reach the worker)."""
    _, _, watcher = sentinel_redis
    env = {"REDIS_URL": "", "REDIS_SENTINELS": f"127.0.0.1:{watcher.port}",
           "REDIS_SENTINEL_MASTER": MASTER_NAME}
    config = load(env)
    settings.CHANNEL_LAYERS = {"default": {
        **settings.CHANNEL_LAYERS["default"],
        "CONFIG": {**settings.CHANNEL_LAYERS["default"]["CONFIG"],
                   "hosts": settings_redis.channel_layer_hosts(config)}}}
    channel_layers.backends.clear()
    cache_settings = settings_redis.cache(config)
    yield env, RedisCache(cache_settings["LOCATION"], cache_settings)
    channel_layers.backends.clear()


def cache_counts(cache: RedisCache, key: str) -> int | None:
    """A rate-limit counter's next value, None while Redis does not answer."""
    try:
        cache.add(key, 0, 60)
        return cache.incr(key)
    except redis.RedisError:
        return None


@pytest.mark.timeout(300)
def test_sentinel_failover_loses_no_op_and_the_layer_follows_the_new_master(
        sentinel_redis, through_sentinel, team, mindmap, alice, tokens):
    master, replica, watcher = sentinel_redis
    env, cache = through_sentinel
    assert cache_counts(cache, "failover") == 1
    probe = probes.probe_redis_servers()
    assert probe.ok and f"127.0.0.1:{master.port}" in probe.detail, probe.detail
    with two_instances(env) as cluster, worker("sentinel", **env):
        job = asyncio.run(watch_job(cluster[0].url, tokens[0], lambda: enqueue(alice)))
        assert job[-1]["status"] == "DONE"
        flowed_after = asyncio.run(edit_through_a_failover(cluster, team, mindmap, tokens,
                                                           master, replica, watcher))
        logger.info("failover: presence crossed instances again %.1f s after the kill",
                    flowed_after)
        assert flowed_after <= FAILOVER_BOUND
        job = asyncio.run(watch_job(cluster[1].url, tokens[0], lambda: enqueue(alice)))
        assert job[-1]["status"] == "DONE"  # the worker's wake-up and events: new master
    assert wait_for(lambda: cache_counts(cache, "failover"), 10, "the cache answering") == 2
    probe = probes.probe_redis_servers()
    assert probe.ok and f"127.0.0.1:{replica.port}" in probe.detail, probe.detail


def enqueue(alice):
    from media_pipeline.jobs import actions as jobs

    # Long enough for the socket's group_add, which follows its accept, to come first.
    return jobs.job_enqueue(kind="noop", owner=alice, payload={"steps": 8,
                                                               "step_seconds": 0.3})


async def edit_through_a_failover(cluster, team, mindmap, tokens, master, replica,
                                  watcher) -> float:
    """Edit on both instances, kill the master and keep editing; every client must end
    with every op. The seconds from the kill until presence crossed instances again."""
    clients = [LiveClient(cluster[index % 2].url, team.pk, mindmap.pk, tokens[index % 2])
               for index in range(4)]
    rng = random.Random(5)
    await run_session(clients, rng, rounds=5)
    await settle(clients, mindmap.pk)
    await presence_crosses(clients[0], clients[1], timeout=10)
    os.kill(master.process.pid, signal.SIGKILL)
    killed = time.monotonic()
    for _ in range(10):  # edits while the Sentinel notices and promotes the replica
        for client in clients:
            await client.op(random_op(rng, client.replica.nodes))
        await asyncio.sleep(0.3)
    await asyncio.to_thread(wait_for, lambda: master_port(watcher) == replica.port,
                            FAILOVER_BOUND, "the replica promoted")
    await presence_crosses(clients[0], clients[1], timeout=FAILOVER_BOUND)
    await presence_crosses(clients[1], clients[0], timeout=FAILOVER_BOUND)
    flowed_after = time.monotonic() - killed
    for _ in range(3):
        for client in clients:
            await client.op(random_op(rng, client.replica.nodes))
    _, nodes = await settle(clients, mindmap.pk)
    for client in clients:
        assert not client.unacked and client.replica.nodes == nodes
        await client.close()
    return flowed_after


def master_port(watcher) -> int | None:
    """The port of the master the Sentinel names now (None: none it calls up)."""
    try:
        return Sentinel([("127.0.0.1", watcher.port)]).discover_master(MASTER_NAME)[1]
    except MasterNotFoundError:
        return None
