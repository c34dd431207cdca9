"""Per-op cost: the web process's CPU per durable op under many small rooms.

One production web process (project.web_server), 100 maps of 10 clients, 2 editors
each sending node.update title ops at random moments (Poisson, mean 5/s each): about
1,000 ops/s, mostly one op per transaction, which is what production's many rooms of a
few editors look like. The load comes from several generator processes. Printed:
ops committed per second (from the maps' seqs), the web process's CPU ms per op
(user+sys from /proc over the window), the CPU of this database's PostgreSQL backends
and of redis-server (shared with anything else using it) over the same window, and
p50/p99 op->peer latency (sender's clock to a peer's receipt, same host).

    .venv/bin/python bench/opcost.py                    # 100 maps x 10 clients, 10 s
    .venv/bin/python bench/opcost.py --maps 20 --rate 2 --seconds 5
    .venv/bin/python bench/opcost.py --profile /tmp/opcost.svg   # py-spy over the window
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import websockets
from common import DATABASE, ROOT, prepare_database, production_env, report, start

from tests.processes import free_port, stop

TICKS = os.sysconf("SC_CLK_TCK")
MAP_TITLE = "opcost map"
PY_SPY = str(Path(sys.executable).parent / "py-spy")

ENSURE_MAPS = """
import json
from collab import actions
from collab.models import Mindmap, Team
team = Team.objects.get(pk={team})
have = list(Mindmap.objects.filter(team=team, title="{title}", is_deleted=False)
            .order_by("pk").values_list("pk", flat=True))
while len(have) < {count}:
    have.append(actions.map_create(team=team, title="{title}", actor=None).pk)
print(json.dumps(have[:{count}]))
"""


def cpu_seconds(pid: int) -> float:
    """user+sys of a process (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def pids_named(name: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# --- a generator process ------------------------------------------------------------------

async def generate(rooms: list[dict], rate: float, ready, go, seconds: float) -> dict:
    """Connect the rooms' clients, then (once `go` is set) run their editors for
    `seconds`; latencies of other clients' ops, as (sent ns, ms)."""
    latencies: list[tuple[int, float]] = []
    sent, acked = [0], set()
    sockets = []

    async def read(ws, me: str, welcomed: asyncio.Event, root: list):
        async for raw in ws:
            now_ns = time.time_ns()
            frame = json.loads(raw)
            kind = frame["type"]
            events = frame["events"] if kind == "ops" else [frame] if kind == "op" else []
            for event in events:
                title = event["op"].get("set", {}).get("title", "")
                if not title.startswith("t"):
                    continue
                at, who = title[1:].split(":")
                if who == me:
                    acked.add(event["op_id"])
                else:
                    latencies.append((int(at), (now_ns - int(at)) / 1e6))
            if kind == "welcome":
                nodes = (frame.get("snapshot") or {}).get("nodes") or []
                root.append(next(n["id"] for n in nodes if n["parent"] is None))
                welcomed.set()

    editors, readers = [], []
    opening = asyncio.Semaphore(20)  # hellos at once: the connect path is not measured

    async def join(room: dict) -> None:
        for index, token in enumerate(room["tokens"]):
            async with opening:
                ws = await websockets.connect(room["url"] + token, open_timeout=120,
                                              max_size=2**22, ping_interval=None,
                                              compression=None)
                me, welcomed, root = uuid.uuid4().hex[:8], asyncio.Event(), []
                readers.append(asyncio.create_task(read(ws, me, welcomed, root)))
                await ws.send(json.dumps({"type": "hello", "client_id": str(uuid.uuid4()),
                                          "since": None}))
                await welcomed.wait()
            sockets.append(ws)
            if index < room["editors"]:
                editors.append((ws, me, root[0]))

    await asyncio.gather(*(join(room) for room in rooms))
    nodes = []
    for ws, me, root in editors:  # each editor edits a node of its own
        node = str(uuid.uuid4())
        await ws.send(json.dumps({"type": "op", "op_id": str(uuid.uuid4()), "op": {
            "kind": "node.create", "node": {"id": node, "parent": root}}}))
        nodes.append((ws, me, node))
    await asyncio.sleep(1.0)
    ready.set()
    await asyncio.get_running_loop().run_in_executor(None, go.wait)
    began = time.monotonic()

    async def edit(ws, me: str, node: str):
        await asyncio.sleep(random.expovariate(rate))
        while time.monotonic() - began < seconds:
            sent[0] += 1
            await ws.send(json.dumps({"type": "op", "op_id": str(uuid.uuid4()), "op": {
                "kind": "node.update", "id": node,
                "set": {"title": f"t{time.time_ns()}:{me}"}}}))
            await asyncio.sleep(random.expovariate(rate))

    await asyncio.gather(*(edit(*editor) for editor in nodes))
    deadline = time.monotonic() + 10
    while len(acked) < sent[0] and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    for ws in sockets:
        await ws.close()
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    return {"sent": sent[0], "acked": len(acked), "latencies": latencies}


def generator_main(rooms, rate, ready, go, seconds, results) -> None:
    results.put(asyncio.run(generate(rooms, rate, ready, go, seconds)))


# --- the run ----------------------------------------------------------------------------

def map_ids(team_id: int, count: int, env: dict) -> list[int]:
    made = subprocess.run([sys.executable, "manage.py", "shell", "-c", ENSURE_MAPS.format(
        team=team_id, title=MAP_TITLE, count=count)], cwd=ROOT, env=env, check=True,
        capture_output=True, text=True)
    return json.loads(made.stdout.strip().splitlines()[-1])


def database_state(maps: list[int]) -> tuple[int, dict[int, float]]:
    """The maps' summed seq and the CPU seconds of this database's backends."""
    name = DATABASE.rsplit("/", 1)[1]
    with psycopg.connect(DATABASE.replace("postgres://", "postgresql://", 1),
                         autocommit=True) as conn:
        (seqs,) = conn.execute("SELECT coalesce(sum(seq), 0) FROM collab_mindmap "
                               "WHERE id = ANY(%s)", (maps,)).fetchone()
        pids = [pid for (pid,) in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> "
            "pg_backend_pid()", (name,))]
    return int(seqs), {pid: cpu_seconds(pid) for pid in pids}


def run(args) -> dict:
    seed = prepare_database()
    env = production_env(COLLAB_SOCKETS_PER_USER="0", COLLAB_SOCKETS_PER_ADDRESS="0")
    maps = map_ids(seed["team_id"], args.maps, env)
    tokens = [user["token"] for user in seed["users"]]
    port = free_port()
    server = start([sys.executable, "-m", "project.web_server", "-b", "127.0.0.1", "-p",
                    str(port), "project.asgi:application"], "opcost", env, port)
    base = f"ws://127.0.0.1:{port}/ws/mindmap/{seed['team_id']}/"
    rooms = [{"url": f"{base}{map_id}/?token=", "editors": args.editors,
              "tokens": [tokens[(m * args.clients + c) % len(tokens)]
                         for c in range(args.clients)]} for m, map_id in enumerate(maps)]
    context = multiprocessing.get_context("spawn")
    results, go = context.Queue(), context.Event()
    readies, workers = [], []
    try:
        for number in range(args.generators):
            ready = context.Event()
            worker = context.Process(target=generator_main, args=(
                rooms[number::args.generators], args.rate, ready, go,
                args.warmup + args.seconds, results))
            worker.start()
            readies.append(ready)
            workers.append(worker)
        for ready in readies:
            ready.wait(timeout=300)
        idle_before = cpu_seconds(server.pid)
        time.sleep(args.idle)  # every client connected, no ops: the hub's own ticks
        idle_cpu = (cpu_seconds(server.pid) - idle_before) / args.idle
        go.set()
        time.sleep(args.warmup)
        redis = pids_named("redis-server")
        began_ns, began = time.time_ns(), time.monotonic()
        seq_before, pg_before = database_state(maps)
        cpu_before = cpu_seconds(server.pid)
        redis_before = sum(cpu_seconds(pid) for pid in redis)
        profiler = None
        if args.profile:
            profiler = subprocess.Popen(
                [PY_SPY, "record", "--nonblocking", "--gil", "-r", "100",
                 "-d", str(int(args.seconds)), "-p", str(server.pid), "-o", str(args.profile),
                 *{".json": ["--format", "speedscope"], ".txt": ["--format", "raw"]}.get(
                     args.profile.suffix, [])],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(args.seconds)
        cpu = cpu_seconds(server.pid) - cpu_before
        redis_cpu = sum(cpu_seconds(pid) for pid in redis) - redis_before
        seq_after, pg_after = database_state(maps)
        wall, ended_ns = time.monotonic() - began, time.time_ns()
        if profiler:
            profiler.wait(timeout=60)
        outcomes = [results.get(timeout=120) for _ in workers]
        for worker in workers:
            worker.join(timeout=30)
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
        stop(server)
    pg_cpu = sum(after - pg_before.get(pid, 0.0) for pid, after in pg_after.items())
    ops = seq_after - seq_before
    latencies = [ms for outcome in outcomes for at, ms in outcome["latencies"]
                 if began_ns <= at <= ended_ns]
    sent = sum(outcome["sent"] for outcome in outcomes)
    return {
        "maps": args.maps, "clients_per_map": args.clients, "editors_per_map": args.editors,
        "rate_per_editor": args.rate, "seconds": round(wall, 2),
        "ops_committed_per_s": round(ops / wall, 1),
        "web_cpu_ms_per_op": round(1000 * cpu / ops, 3) if ops else None,
        "web_cpu_pct": round(100 * cpu / wall, 1),
        "web_idle_cpu_pct": round(100 * idle_cpu, 1),
        "web_cpu_ms_per_op_over_idle": round(1000 * (cpu - idle_cpu * wall) / ops, 3)
        if ops else None,
        "postgres_backends_cpu_pct": round(100 * pg_cpu / wall, 1),
        "postgres_cpu_ms_per_op": round(1000 * pg_cpu / ops, 3) if ops else None,
        "redis_cpu_pct": round(100 * redis_cpu / wall, 1),
        "p50_ms": round(percentile(latencies, 0.5), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "ops_sent": sent, "ops_unacked": sent - sum(o["acked"] for o in outcomes),
        "profile": str(args.profile) if args.profile else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--maps", type=int, default=100)
    parser.add_argument("--clients", type=int, default=10, help="per map")
    parser.add_argument("--editors", type=int, default=2, help="per map")
    parser.add_argument("--rate", type=float, default=5.0, help="ops/s per editor (mean)")
    parser.add_argument("--seconds", type=float, default=10, help="the measured window")
    parser.add_argument("--warmup", type=float, default=2, help="load before the window")
    parser.add_argument("--idle", type=float, default=3, help="seconds measured with "
                        "every client connected and no op, before the load")
    parser.add_argument("--generators", type=int, default=2, help="load processes")
    parser.add_argument("--profile", type=Path, help="py-spy record (--gil: the thread "
                        "running Python, about where the CPU goes) to this file over the "
                        "window (.svg flame graph, .json speedscope, .txt collapsed stacks)")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()
    report(run(args), args.out)


if __name__ == "__main__":
    main()
