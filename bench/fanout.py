"""Fan-out benchmark: N real WebSocket clients in one map, through real Daphne + Redis +
PostgreSQL (every op durable before its event), beside a bare `websockets` relay
(bench/relay.py) measured in the same run on the same load.

Prints, per scenario and server: delivered events/s, lost and out-of-order events,
p50/p99 op->peer latency, server CPU, deliveries per server CPU-second, and for the
presence scenario frames per client per second and p99 staleness.

    .venv/bin/python bench/fanout.py                # all scenarios, 10 s each
    .venv/bin/python bench/fanout.py --seconds 5 --only 100c-10s
    .venv/bin/python bench/fanout.py --metrics both --no-relay --rounds 3
                                                    # Moa with metrics off, then on

With `--metrics both` each round runs Moa with METRICS_ENABLED=0 and 1 on the same
load (which goes first alternates), and a summary row per scenario gives the medians
and the ratio of deliveries per server CPU-second (metrics on / off).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import websockets
from common import prepare_database, production_env, start

from tests.processes import free_port, stop

TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Scenario:
    name: str
    clients: int
    senders: int = 0
    rate: float = 0.0  # ops per second per sender
    presence_hz: float = 0.0  # presence frames per second per client


SCENARIOS = [
    Scenario("10c-10s", clients=10, senders=10, rate=10),
    Scenario("100c-10s", clients=100, senders=10, rate=10),
    Scenario("500c-1s", clients=500, senders=1, rate=20),
    Scenario("50c-presence", clients=50, presence_hz=20),
]


@dataclass
class Client:
    index: int
    ws: object = None
    client_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    last_seq: int = -1
    start_seq: int = 0
    received: set = field(default_factory=set)
    out_of_order: int = 0
    latencies: list = field(default_factory=list)
    presence_frames: int = 0
    staleness: list = field(default_factory=list)
    acked: set = field(default_factory=set)
    root: str | None = None
    welcomed: asyncio.Event = field(default_factory=asyncio.Event)

    def on_event(self, event: dict, now_ns: int) -> None:
        seq = event["seq"]
        if seq <= self.start_seq:
            return
        if seq != self.last_seq + 1:
            self.out_of_order += 1
        self.last_seq = max(self.last_seq, seq)
        self.received.add(seq)
        self.acked.add(event["op_id"])
        title = event["op"].get("set", {}).get("title", "")
        if title.startswith("t") and not title.endswith(self.client_id[:8]):
            self.latencies.append((now_ns - int(title[1:].split(":")[0])) / 1e6)

    async def read(self) -> None:
        async for raw in self.ws:
            now_ns = time.time_ns()
            frame = json.loads(raw)
            kind = frame["type"]
            if kind == "op":
                self.on_event(frame, now_ns)
            elif kind == "ops":
                for event in frame["events"]:
                    self.on_event(event, now_ns)
            elif kind == "presence":
                self.presence_frames += 1
                now_ms = now_ns / 1e6
                for peer in frame["peers"]:
                    cursor = peer.get("cursor") or {}
                    if "x" in cursor:
                        self.staleness.append((now_ms % 1e7) - cursor["x"])
            elif kind == "welcome":
                self.start_seq = self.last_seq = frame["seq"]
                nodes = (frame.get("snapshot") or {}).get("nodes") or []
                self.root = next((n["id"] for n in nodes if n["parent"] is None), None)
                self.welcomed.set()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def run_scenario(url: str, pid: int, scenario: Scenario, seconds: float) -> dict:
    clients = [Client(index) for index in range(scenario.clients)]
    readers = []
    for batch in range(0, len(clients), 50):
        for client in clients[batch:batch + 50]:
            client.ws = await websockets.connect(url, open_timeout=30, max_size=2**22,
                                                 ping_interval=None)
            readers.append(asyncio.create_task(client.read()))
            await client.ws.send(json.dumps({"type": "hello", "client_id": client.client_id,
                                             "since": None}))
        await asyncio.gather(*(c.welcomed.wait() for c in clients[batch:batch + 50]))
    senders = clients[:scenario.senders]
    nodes = {}
    for sender in senders:  # each sender edits a node of its own
        nodes[sender.index] = str(uuid.uuid4())
        await sender.ws.send(json.dumps({"type": "op", "op_id": str(uuid.uuid4()), "op": {
            "kind": "node.create", "node": {"id": nodes[sender.index],
                                            "parent": sender.root or str(uuid.uuid4())}}}))
    await asyncio.sleep(1.0)
    sent: list[str] = []
    cpu_before, wall_before = cpu_seconds(pid), time.monotonic()

    async def send_ops(sender: Client) -> None:
        interval, next_at = 1 / scenario.rate, time.monotonic()
        while time.monotonic() - wall_before < seconds:
            op_id = str(uuid.uuid4())
            sent.append(op_id)
            title = f"t{time.time_ns()}:{sender.client_id[:8]}"
            await sender.ws.send(json.dumps({"type": "op", "op_id": op_id, "op": {
                "kind": "node.update", "id": nodes[sender.index], "set": {"title": title}}}))
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    async def send_presence(client: Client) -> None:
        interval, next_at = 1 / scenario.presence_hz, time.monotonic()
        while time.monotonic() - wall_before < seconds:
            x = (time.time_ns() / 1e6) % 1e7
            await client.ws.send(json.dumps({"type": "presence", "cursor": {"x": x, "y": 0},
                                             "selection": [], "drag": None}))
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    for client in clients:
        client.presence_frames, client.staleness = 0, []
    tasks = [send_ops(s) for s in senders]
    if scenario.presence_hz:
        tasks += [send_presence(c) for c in clients]
    await asyncio.gather(*tasks)
    wall = time.monotonic() - wall_before
    cpu = cpu_seconds(pid) - cpu_before
    deadline = time.monotonic() + 10  # let the last events arrive
    while time.monotonic() < deadline:
        if all(set(sent) <= client.acked for client in clients):
            break
        await asyncio.sleep(0.1)
    for client in clients:
        await client.ws.close()
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    delivered = sum(len(c.received) for c in clients)
    expected = len(sent) * len(clients)
    latencies = [x for c in clients for x in c.latencies]
    staleness = [x for c in clients for x in c.staleness if x >= 0]
    return {
        "ops": len(sent),
        "delivered_per_s": round(delivered / wall),
        "lost": max(0, expected - delivered) if sent else 0,
        "out_of_order": sum(c.out_of_order for c in clients),
        "p50_ms": round(percentile(latencies, 0.5), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "server_cpu_pct": round(100 * cpu / wall, 1),
        "deliveries_per_cpu_s": round(delivered / cpu) if cpu else None,
        "presence_frames_per_client_s": round(
            statistics.mean(c.presence_frames for c in clients) / wall, 1)
        if scenario.presence_hz else None,
        "presence_p99_staleness_ms": round(percentile(staleness, 0.99), 1)
        if scenario.presence_hz else None,
    }


METRICS_SWITCH = {"on": ["1"], "off": ["0"], "both": ["0", "1"]}


def targets(args, round_: int) -> list[tuple[str, str | None]]:
    """(server, METRICS_ENABLED) in the order they run in round `round_`: with metrics
    off and on, each goes first every other round (whichever runs second was measured
    slower, whatever it was)."""
    switches = METRICS_SWITCH[args.metrics]
    moa = [("moa" if args.metrics != "both" else f"moa-metrics-{'on' if on == '1' else 'off'}",
            on) for on in (switches if round_ % 2 == 0 else switches[::-1])]
    return moa + ([] if args.no_relay else [("relay", None)])


async def bench(args) -> list[dict]:
    seed = prepare_database()
    # One account and one address hold every client: Moa's caps on sockets (and on one
    # user's hellos) are not what this measures.
    env = production_env(COLLAB_SOCKETS_PER_USER="0", COLLAB_SOCKETS_PER_ADDRESS="0")
    rows = []
    for scenario in [s for s in SCENARIOS if not args.only or s.name in args.only]:
        runs = [run for round_ in range(args.rounds) for run in targets(args, round_)]
        for target, metrics_enabled in runs:
            port = free_port()
            if metrics_enabled is not None:
                process = start([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p",
                                 str(port), "project.asgi:application"], "daphne",
                                {**env, "METRICS_ENABLED": metrics_enabled}, port)
                token = seed["users"][0]["token"]
                url = (f"ws://127.0.0.1:{port}/ws/mindmap/{seed['team_id']}/"
                       f"{seed['map_id']}/?token={token}")
            else:
                process = start([sys.executable, "bench/relay.py", "--port", str(port)],
                                "relay", env)
                url = f"ws://127.0.0.1:{port}/"
            try:
                result = await run_scenario(url, process.pid, scenario, args.seconds)
            finally:
                stop(process)
            rows.append({"scenario": scenario.name, "server": target, **result})
            print(json.dumps(rows[-1]), flush=True)
    if args.metrics == "both":
        rows += metrics_overhead(rows)
    return rows


def metrics_overhead(rows: list[dict]) -> list[dict]:
    """Per scenario: median deliveries per CPU-second and CPU % with metrics off and on,
    and their ratio (on / off: 1.0 is no cost)."""
    summary = []
    for scenario in dict.fromkeys(row["scenario"] for row in rows):
        median = {}
        for switch in ("off", "on"):
            runs = [row for row in rows if row["scenario"] == scenario
                    and row["server"] == f"moa-metrics-{switch}"]
            median[switch] = {
                key: statistics.median(row[key] for row in runs) if all(
                    row[key] is not None for row in runs) else None
                for key in ("deliveries_per_cpu_s", "server_cpu_pct", "p99_ms")}
        off, on = median["off"], median["on"]
        summary.append({
            "scenario": scenario, "server": "metrics on/off", "off": off, "on": on,
            "deliveries_per_cpu_s_ratio": round(on["deliveries_per_cpu_s"]
                                                / off["deliveries_per_cpu_s"], 3)
            if off["deliveries_per_cpu_s"] else None,
            "server_cpu_ratio": round(on["server_cpu_pct"] / off["server_cpu_pct"], 3)})
        print(json.dumps(summary[-1]), flush=True)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--only", nargs="*", help="scenario names")
    parser.add_argument("--out", type=Path, help="write the rows as JSON here")
    parser.add_argument("--metrics", choices=sorted(METRICS_SWITCH), default="on",
                        help="Moa's METRICS_ENABLED: on, off, or both (compared)")
    parser.add_argument("--no-relay", action="store_true", help="skip the relay baseline")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each server per "
                        "scenario, alternating")
    args = parser.parse_args()
    rows = asyncio.run(bench(args))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
