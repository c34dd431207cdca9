"""Reconnect storm and idle-socket benchmark: one production web process
(project.web_server), N authenticated sockets over the seed's users (`?token=`) that
connect and send `hello` all at once from K generator processes, as every client of a
drained or crashed instance does.

Prints, per N: welcomes per second (N over the time the last welcome took), p50/p99
time from the storm's start to a socket's welcome, the server's CPU ms per connection,
PostgreSQL's (its backends of the benchmark database) and the generators', then the
server's VmRSS
before the storm and with the N sockets idle after a settle, and KB per idle socket.
Each N runs on a fresh server, so memory freed by an earlier run cannot hide a cost.

    .venv/bin/python bench/connect.py                       # 2,000 then 5,000 sockets
    .venv/bin/python bench/connect.py --sockets 2000 --generators 4
    .venv/bin/python bench/connect.py --sockets 5000 --wave 1000   # idle, in waves
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import sys
import time
import uuid
from pathlib import Path

import psycopg
import websockets
from common import DATABASE, prepare_database, production_env, report, start

from tests.processes import free_port, stop

TICKS = os.sysconf("SC_CLK_TCK")
SETTLE_SECONDS = 5.0  # idle sockets: let the storm's garbage go before VmRSS is read
HELLO = '{{"type":"hello","client_id":"{}","since":null}}'


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def postgres_cpu() -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend connected to the benchmark database."""
    url = DATABASE.replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url, autocommit=True) as conn:
        pids = [row[0] for row in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()")]
    found = {}
    for pid in pids:
        try:
            found[pid] = cpu_seconds(pid)
        except FileNotFoundError:  # ended meanwhile
            continue
    return found


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def storm(urls: list[str], start_at: float, wave: int, results, release) -> None:
    """Open every socket at `start_at` (or `wave` at a time, each wave welcomed before
    the next), hello, wait for its welcome; report the times, then hold the sockets
    open until `release` is set."""
    await asyncio.sleep(max(0.0, start_at - time.time()))
    began = time.time()

    async def one(url: str):
        ws = await websockets.connect(url, compression=None, ping_interval=None,
                                      open_timeout=120, max_size=2**22)
        await ws.send(HELLO.format(uuid.uuid4()))
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] == "welcome":
                return ws, time.time() - start_at
            if frame["type"] == "error":
                raise RuntimeError(f"refused: {frame}")

    opened, wave = [], wave or len(urls)
    for first in range(0, len(urls), wave):
        opened += await asyncio.gather(*(one(url) for url in urls[first:first + wave]),
                                       return_exceptions=True)
    failures = [repr(item) for item in opened if isinstance(item, BaseException)]
    sockets = [item[0] for item in opened if not isinstance(item, BaseException)]
    results.put({"times": [item[1] for item in opened if not isinstance(item, BaseException)],
                 "failures": failures[:5], "failed": len(failures), "late": began - start_at,
                 "cpu": time.process_time()})
    while not release.is_set():
        await asyncio.sleep(0.1)
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


def generator(urls: list[str], start_at: float, wave: int, results, release) -> None:
    asyncio.run(storm(urls, start_at, wave, results, release))


def warm_up(url: str) -> None:
    """A few sockets first: imports, the pool's connections, the room and its snapshot
    exist before the storm, as on a server that has been serving."""
    async def run():
        sockets = []
        for _ in range(10):
            ws = await websockets.connect(url, compression=None, ping_interval=None)
            await ws.send(HELLO.format(uuid.uuid4()))
            while json.loads(await ws.recv())["type"] != "welcome":
                pass
            sockets.append(ws)
        for ws in sockets:
            await ws.close()
    asyncio.run(run())


def measure(sockets: int, generators: int, wave: int, seed: dict, env: dict,
            server_cmd: list[str]) -> dict:
    port = free_port()
    process = start([*server_cmd, "-p", str(port), "project.asgi:application"],
                    "connect-web", env, port)
    base = f"ws://127.0.0.1:{port}/ws/mindmap/{seed['team_id']}/{seed['map_id']}/?token="
    tokens = [user["token"] for user in seed["users"]]
    urls = [base + tokens[index % len(tokens)] for index in range(sockets)]
    context = multiprocessing.get_context("spawn")
    results, release = context.Queue(), context.Event()
    try:
        warm_up(urls[0])
        time.sleep(1.0)
        rss_before = rss_kb(process.pid)
        start_at = time.time() + 3.0  # the generators are up by then
        workers = [context.Process(target=generator, args=(
            urls[index::generators], start_at, wave // generators, results, release))
            for index in range(generators)]
        for worker in workers:
            worker.start()
        time.sleep(max(0.0, start_at - time.time() - 0.2))
        cpu_before, pg_before = cpu_seconds(process.pid), postgres_cpu()
        parts = [results.get(timeout=600) for _ in workers]
        cpu = cpu_seconds(process.pid) - cpu_before
        pg_after = postgres_cpu()
        pg = sum(after - pg_before.get(pid, 0.0) for pid, after in pg_after.items())
        time.sleep(SETTLE_SECONDS)
        rss_idle = rss_kb(process.pid)
        release.set()
        for worker in workers:
            worker.join(timeout=60)
    finally:
        stop(process)
    times = [t for part in parts for t in part["times"]]
    welcomed = len(times)
    return {
        "sockets": sockets, "generators": generators, "wave": wave, "welcomed": welcomed,
        "failed": sum(part["failed"] for part in parts),
        "failures": [f for part in parts for f in part["failures"]][:5],
        "generators_late_ms": round(1000 * max(part["late"] for part in parts), 1),
        "welcomes_per_s": round(welcomed / max(times)) if times else 0,
        "p50_ms": round(1000 * percentile(times, 0.5), 1) if times else None,
        "p99_ms": round(1000 * percentile(times, 0.99), 1) if times else None,
        "last_ms": round(1000 * max(times), 1) if times else None,
        "server_cpu_ms_per_connection": round(1000 * cpu / max(welcomed, 1), 3),
        # The generators' CPU (start-up included): on a small host they, not the server,
        # may be what bounds welcomes per second.
        "generators_cpu_ms_per_connection": round(
            1000 * sum(part["cpu"] for part in parts) / max(welcomed, 1), 3),
        "postgres_cpu_ms_per_connection": round(1000 * pg / max(welcomed, 1), 3),
        "rss_before_mib": round(rss_before / 1024, 1),
        "rss_idle_mib": round(rss_idle / 1024, 1),
        "kb_per_idle_socket": round((rss_idle - rss_before) / max(welcomed, 1), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, nargs="+", default=[2000, 5000])
    parser.add_argument("--generators", type=int, default=4,
                        help="client processes sharing the storm")
    parser.add_argument("--wave", type=int, default=0,
                        help="open this many sockets at a time, each wave welcomed before "
                             "the next (0: all at once); for the idle figure past what one "
                             "storm can welcome within Daphne's handshake timeout")
    parser.add_argument("--out", type=Path, help="write the rows as JSON here")
    args = parser.parse_args()
    seed = prepare_database()
    # The seed's 20 users hold every socket from one address: Moa's per-user and
    # per-address caps are not what this measures. No drain when the server stops.
    env = production_env(COLLAB_SOCKETS_PER_USER="0", COLLAB_SOCKETS_PER_ADDRESS="0",
                         DRAIN_SECONDS="0", DRAIN_JITTER_SECONDS="0")
    server_cmd = [sys.executable, "-m", "project.web_server", "-b", "127.0.0.1"]
    rows = []
    for sockets in args.sockets:
        rows.append(measure(sockets, args.generators, args.wave, seed, env, server_cmd))
        print(json.dumps(rows[-1]), flush=True)
    report({"rows": rows}, args.out)


if __name__ == "__main__":
    main()
