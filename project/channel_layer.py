"""channels-redis's layer with a group send of one Redis round trip (two with shards).

The stock `group_send` makes four round trips per message (expire the group's old
members, read the members, expire each channel's old messages, then a Lua script sent
as text that queues the message), and every op batch and presence tick is one: 20% of
a web process's CPU per op went there (bench/results/opcost.md). Here the layer
remembers each group's members as it last read them and sends in one script (by its
SHA) that expires and reads the members, checks they are the ones remembered and only
then queues the message on each channel, atomically; when they changed, the script
returns them and the send goes on as stock does. Nothing is sent on a stale list: a
process that just joined a group gets the very next message. With the layer sharded
(CHANNEL_REDIS_URLS) a group's members are mostly on other servers than its key, so a
send reads the members and then queues on each server at once: two round trips.

What is stored in Redis is unchanged (the same keys, scores, expiries, capacity and
serialized messages), so processes of this layer and of the stock one can share a
Redis during a rolling deploy, and receiving is channels-redis's own.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time

from channels_redis.core import RedisChannelLayer
from redis.exceptions import NoScriptError

from project.realtime import SEND_FAILURES

logger = logging.getLogger(__name__)

REMEMBERED_GROUPS = 10_000  # groups whose members are remembered (oldest forgotten)

# Queue ARGV[first + i] on KEYS[i + skip] unless that channel holds its capacity
# (ARGV[first + n + i]) already; old messages expire first. The stock script's rules.
_QUEUE = """
local function queue(skip, first, message_cutoff, now, expiry)
  local over = 0
  local n = #KEYS - skip
  for i = 1, n do
    local channel = KEYS[i + skip]
    redis.call('ZREMRANGEBYSCORE', channel, 0, message_cutoff)
    if redis.call('ZCOUNT', channel, '-inf', '+inf') < tonumber(ARGV[first + n + i]) then
      redis.call('ZADD', channel, now, ARGV[first + i])
      redis.call('EXPIRE', channel, expiry)
    else
      over = over + 1
    end
  end
  return over
end
"""


class _Script:
    def __init__(self, text: str):
        self.text = text
        self.sha = hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()  # EVALSHA's name

    async def run(self, connection, keys: list, args: list):
        """EVALSHA, and EVAL once when the server does not hold the script (a restart,
        SCRIPT FLUSH): EVAL caches it for the next call."""
        try:
            return await connection.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            return await connection.eval(self.text, len(keys), *keys, *args)


# KEYS: the channels' keys. ARGV: message cutoff, now, expiry, messages, capacities.
SEND = _Script(_QUEUE + "return queue(0, 3, ARGV[1], ARGV[2], ARGV[3])")

# KEYS: the group, then the channels' keys. ARGV: group cutoff, message cutoff, now,
# expiry, the count of members expected, the members, the messages, the capacities.
# Returns {1, channels over capacity} when sent, {0, the members} when they differ.
SEND_IF_MEMBERS = _Script(_QUEUE + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, ARGV[1])
local members = redis.call('ZRANGE', KEYS[1], 0, -1)
local count = tonumber(ARGV[5])
if #members ~= count then
  return {0, members}
end
local expected = {}
for i = 1, count do
  expected[ARGV[5 + i]] = true
end
for _, member in ipairs(members) do
  if not expected[member] then
    return {0, members}
  end
end
return {1, queue(1, 5 + count, ARGV[2], ARGV[3], ARGV[4])}
""")


class MoaChannelLayer(RedisChannelLayer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.members: dict[str, list[str]] = {}  # group -> its members as last read
        self.remembering = threading.Lock()  # sync code sends from threads of its own

    async def group_send(self, group, message):
        """Send `message` to every channel in `group`: one round trip when its members
        are the ones last read (and all on the group's server), else the stock way."""
        await self.group_send_except(group, message, None)

    async def group_send_except(self, group: str, message: dict, channel: str | None
                                ) -> None:
        """`group_send`, but not to `channel` (a hub that delivered the message to its
        own sockets already need not read it back from Redis)."""
        assert self.require_valid_group_name(group), "Group name not valid"
        group_key = self._group_key(group)
        index = self.consistent_hash(group)
        connection = self.connection(index)
        now = time.time()
        members = self.members.get(group)
        mapping = None  # the per-server keys and messages of `members`, once made
        if members is not None:
            mapping = self._map_channel_keys_to_connection(
                [member for member in members if member != channel], message)
            by_connection, messages, capacities = mapping
            if set(by_connection) <= {index}:
                keys = by_connection.get(index, [])
                sent, answer = await SEND_IF_MEMBERS.run(
                    connection, [group_key, *keys],
                    [int(now) - self.group_expiry, int(now) - int(self.expiry), now,
                     self.expiry, len(members), *members,
                     *(messages[key] for key in keys), *(capacities[key] for key in keys)])
                if sent:
                    self._over_capacity(group, answer, len(members))
                    return
                members, mapping = [member.decode() for member in answer], None
            else:  # members on other servers (shards): read them, then send per server
                read = await self._read_members(connection, group_key, now)
                if sorted(read) != sorted(members):
                    mapping = None
                members = read
        else:
            members = await self._read_members(connection, group_key, now)
        self._remember(group, members)
        if mapping is None:
            mapping = self._map_channel_keys_to_connection(
                [member for member in members if member != channel], message)
        await self._send_to(group, len(members), mapping, now)

    async def group_discard(self, group, channel):
        with self.remembering:  # the next send need not find it out
            self.members.pop(group, None)
        await super().group_discard(group, channel)

    async def _read_members(self, connection, group_key: bytes, now: float) -> list[str]:
        pipe = connection.pipeline(transaction=False)
        pipe.zremrangebyscore(group_key, min=0, max=int(now) - self.group_expiry)
        pipe.zrange(group_key, 0, -1)
        _, members = await pipe.execute()
        return [member.decode() for member in members]

    def _remember(self, group: str, members: list[str]) -> None:
        with self.remembering:
            if group not in self.members and len(self.members) >= REMEMBERED_GROUPS:
                del self.members[next(iter(self.members))]
            self.members[group] = members

    async def _send_to(self, group: str, members: int, mapping: tuple, now: float) -> None:
        by_connection, messages, capacities = mapping

        async def send(index: int, keys: list[str]) -> int:
            return await SEND.run(
                self.connection(index), keys,
                [int(now) - int(self.expiry), now, self.expiry,
                 *(messages[key] for key in keys), *(capacities[key] for key in keys)])

        over = await asyncio.gather(*(send(index, keys)
                                      for index, keys in by_connection.items()))
        self._over_capacity(group, sum(over), members)

    @staticmethod
    def _over_capacity(group: str, over: int, members: int) -> None:
        if over:
            logger.warning("channel layer: %d of %d channel(s) of group %s at capacity: "
                           "the message was dropped for them (receivers heal from the "
                           "database; raise CHANNEL_CAPACITY or find the stalled reader)",
                           over, members, group)
            SEND_FAILURES.labels("group_send", "full").inc(over)
