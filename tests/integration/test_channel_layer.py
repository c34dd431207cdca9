"""Moa's channel layer (project/channel_layer.py) on the real Redis: a group send of one
round trip once the group's members are known, and still every rule of channels-redis's
own: members that join, leave or expire elsewhere, capacity, shards, stock receivers."""

import asyncio
import contextlib
import logging
import uuid

import pytest
from channels_redis.core import RedisChannelLayer
from django.conf import settings

from project import settings_redis
from project.channel_layer import MoaChannelLayer
from project.realtime import SEND_FAILURES
from tests.redis_servers import round_trips

pytestmark = pytest.mark.redis


def redis_url() -> str:
    (host,) = settings_redis.layer_hosts(settings.CHANNEL_LAYERS["default"])
    return host["address"]


@contextlib.asynccontextmanager
async def layers(count: int, kind=MoaChannelLayer, hosts=None, **config):
    """`count` layers on one fresh prefix, as that many processes would hold them."""
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    made = [kind(hosts=hosts or [redis_url()], prefix=prefix, **config)
            for _ in range(count)]
    try:
        yield made
    finally:
        await made[0].flush()
        for layer in made:
            await layer.close_pools()


async def received(layer, channel: str, timeout: float = 2) -> dict | None:
    try:
        return await asyncio.wait_for(layer.receive(channel), timeout)
    except TimeoutError:
        return None


async def test_a_group_send_is_one_round_trip_once_the_members_are_known():
    async with layers(3) as (sender, a, b):
        channels = [await a.new_channel(), await b.new_channel()]
        for channel in channels:
            await a.group_add("map.1", channel)
        await sender.group_send("map.1", {"type": "map.ops", "n": 0})
        with round_trips() as sent:
            await sender.group_send("map.1", {"type": "map.ops", "n": 1})
        assert len(sent) == 1, sent  # channels-redis's own: four
        for layer, channel in zip((a, b), channels, strict=True):
            assert (await received(layer, channel))["n"] == 0
            assert (await received(layer, channel))["n"] == 1


async def test_a_member_that_joins_elsewhere_gets_the_next_send():
    async with layers(3) as (sender, a, b):
        first, second = await a.new_channel(), await b.new_channel()
        await a.group_add("map.1", first)
        await sender.group_send("map.1", {"type": "t", "n": 0})
        await b.group_add("map.1", second)  # another process: the sender is not told
        await sender.group_send("map.1", {"type": "t", "n": 1})
        assert (await received(b, second))["n"] == 1
        assert [(await received(a, first))["n"] for _ in range(2)] == [0, 1]


async def test_a_member_that_left_gets_nothing_more():
    async with layers(3) as (sender, a, b):
        first, second = await a.new_channel(), await b.new_channel()
        await a.group_add("map.1", first)
        await b.group_add("map.1", second)
        await sender.group_send("map.1", {"type": "t", "n": 0})
        await a.group_discard("map.1", first)  # elsewhere: the sender remembers it
        await sender.group_send("map.1", {"type": "t", "n": 1})
        assert (await received(a, first))["n"] == 0
        assert await received(a, first, 0.3) is None
        assert [(await received(b, second))["n"] for _ in range(2)] == [0, 1]


async def test_an_expired_member_is_dropped_as_channels_redis_does():
    async with layers(2, group_expiry=60) as (sender, a):
        old, fresh = await a.new_channel(), await a.new_channel()
        await a.group_add("map.1", old)
        await a.group_add("map.1", fresh)
        await sender.group_send("map.1", {"type": "t", "n": 0})
        connection = sender.connection(0)
        await connection.zadd(sender._group_key("map.1"), {old: 1})  # added long ago
        await sender.group_send("map.1", {"type": "t", "n": 1})
        assert [(await received(a, fresh))["n"] for _ in range(2)] == [0, 1]
        assert (await received(a, old))["n"] == 0
        assert await received(a, old, 0.3) is None
        assert await connection.zrange(sender._group_key("map.1"), 0, -1) == [fresh.encode()]


async def test_a_full_channel_drops_only_its_own_copy_and_says_so(caplog):
    async with layers(3, capacity=1) as (sender, slow, quick):
        stalled, reading = await slow.new_channel(), await quick.new_channel()
        await slow.group_add("map.1", stalled)
        await quick.group_add("map.1", reading)
        full = SEND_FAILURES.labels("group_send", "full")
        before = full._value.get()
        for n in range(3):
            await sender.group_send("map.1", {"type": "t", "n": n})
            assert (await received(quick, reading))["n"] == n
        assert full._value.get() - before == 2
        assert "1 of 2 channel(s) of group map.1 at capacity" in caplog.text
        assert any(record.levelno == logging.WARNING for record in caplog.records)
        assert (await received(slow, stalled))["n"] == 0


async def test_stock_layers_receive_what_it_sends_and_it_receives_theirs():
    """A rolling deploy: old processes (channels-redis's layer) and new ones share Redis."""
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    moa = MoaChannelLayer(hosts=[redis_url()], prefix=prefix)
    stock = RedisChannelLayer(hosts=[redis_url()], prefix=prefix)
    try:
        old, new = await stock.new_channel(), await moa.new_channel()
        await stock.group_add("map.1", old)
        await moa.group_add("map.1", new)
        for n in range(2):
            await moa.group_send("map.1", {"type": "t", "n": n})
        await stock.group_send("map.1", {"type": "t", "n": 2})
        assert [(await received(stock, old))["n"] for _ in range(3)] == [0, 1, 2]
        assert [(await received(moa, new))["n"] for _ in range(3)] == [0, 1, 2]
    finally:
        await moa.flush()
        await moa.close_pools()
        await stock.close_pools()


async def test_members_on_several_shards_all_receive():
    # Two spellings of the test's own Redis database: two servers to channels-redis.
    url = redis_url()
    shards = [url, url.replace("127.0.0.1", "localhost", 1) if "127.0.0.1" in url
              else url.replace("localhost", "127.0.0.1", 1)]
    assert shards[0] != shards[1], "REDIS_URL names neither 127.0.0.1 nor localhost"
    async with layers(2, hosts=shards) as (sender, receiver):
        # Process-local channels: a shard each by their name (channels-redis reads a
        # general channel from one shard after another).
        channels = [await receiver.new_channel(f"shard{n}") for n in range(12)]
        assert {receiver.consistent_hash(receiver.non_local_name(channel))
                for channel in channels} == {0, 1}  # 12 random names: 1 in 2,048 fails
        for channel in channels:
            await receiver.group_add("map.1", channel)
        for n in range(2):
            await sender.group_send("map.1", {"type": "t", "n": n})
        serialized, serialize = [], sender.serialize
        sender.serialize = lambda message: serialized.append(message) or serialize(message)
        with round_trips() as sent:  # the members read, then one script per server
            await sender.group_send("map.1", {"type": "t", "n": 2})
        assert len(sent) == 3, sent
        assert len(serialized) == len(channels)  # each channel's message made once
        for channel in channels:
            assert [(await received(receiver, channel))["n"] for _ in range(3)] == [0, 1, 2]


async def test_a_server_that_lost_its_scripts_still_gets_the_message():
    async with layers(2) as (sender, a):
        channel = await a.new_channel()
        await a.group_add("map.1", channel)
        await sender.group_send("map.1", {"type": "t", "n": 0})
        await sender.connection(0).script_flush()  # a restart, SCRIPT FLUSH
        await sender.group_send("map.1", {"type": "t", "n": 1})
        assert [(await received(a, channel))["n"] for _ in range(2)] == [0, 1]


async def test_an_empty_group_is_sent_to_without_error():
    async with layers(1) as (sender,):
        for n in range(2):
            await sender.group_send("map.404", {"type": "t", "n": n})


async def test_a_send_can_leave_out_the_senders_own_channel():
    """The committer's hub delivered a batch's events already: they are not sent back."""
    async with layers(2) as (sender, other):
        own, theirs = await sender.new_channel(), await other.new_channel()
        await sender.group_add("map.1", own)
        await other.group_add("map.1", theirs)
        await sender.group_send_except("map.1", {"type": "t", "n": 0}, own)
        with round_trips() as sent:
            await sender.group_send_except("map.1", {"type": "t", "n": 1}, own)
        assert len(sent) == 1, sent
        await sender.group_send("map.1", {"type": "t", "n": 2})
        assert [(await received(other, theirs))["n"] for _ in range(3)] == [0, 1, 2]
        assert (await received(sender, own))["n"] == 2
