"""The channel layer's group send alone: CPU and Redis round trips per message, Moa's
layer (project/channel_layer.py) against channels-redis's own in the same run.

A group of `--members` process-local channels (as many web processes following a
map), messages of an op event's size; each layer sends `--messages` of them, in
alternating rounds so that both see the same machine. Nothing reads the channels
(the capacity is raised so that none is full), so the figures are the sender's.

    .venv/bin/python bench/group_send.py --out bench/results/raw/group_send.json
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from pathlib import Path

import django
from channels_redis.core import RedisChannelLayer
from common import REDIS, report

from tests.redis_servers import round_trips

EVENT = {"type": "map.ops", "map": 12, "events": [
    {"seq": 1, "op_id": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "client_id": "c" * 20,
     "kind": "node.update", "node_id": "5f0e", "fields": {"title": "A title someone typed"},
     "version": 7, "actor": 3}]}


async def measure(kind, members: int, messages: int) -> dict:
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    layer = kind(hosts=[REDIS], prefix=prefix, capacity=messages * 2, expiry=60)
    others = [RedisChannelLayer(hosts=[REDIS], prefix=prefix) for _ in range(members)]
    try:
        for other in others:
            await layer.group_add("map.12", await other.new_channel())
        await layer.group_send("map.12", EVENT)  # the first send reads the members
        with round_trips() as sent:
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(messages):
                await layer.group_send("map.12", EVENT)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        return {"cpu_us": cpu / messages * 1e6, "wall_us": wall / messages * 1e6,
                "round_trips": len(sent) / messages}
    finally:
        await layer.flush()
        await layer.close_pools()


async def main(args) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    os.environ.setdefault("REDIS_URL", REDIS)
    django.setup()
    from project.channel_layer import MoaChannelLayer  # once Django has its settings

    kinds = {"channels-redis": RedisChannelLayer, "moa": MoaChannelLayer}
    runs = {name: [] for name in kinds}
    for _ in range(args.rounds):
        for name, kind in kinds.items():
            runs[name].append(await measure(kind, args.members, args.messages))
    result = {"members": args.members, "messages": args.messages, "rounds": args.rounds}
    for name, rows in runs.items():
        result[name] = {key: round(sorted(row[key] for row in rows)[len(rows) // 2], 1)
                        for key in rows[0]}
    result["cpu_ratio"] = round(result["moa"]["cpu_us"] / result["channels-redis"]["cpu_us"], 2)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=2, help="channels in the group")
    parser.add_argument("--messages", type=int, default=5000, help="per round and layer")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (median)")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    report(asyncio.run(main(parser.parse_args())), parser.parse_args().out)
