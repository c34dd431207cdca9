"""Fan-out benchmark: real WebSocket clients through Moa as deployed (project.web_server:
Daphne with its drain, Redis, PostgreSQL; every op durable before its event), beside a
plain relay (bench/relay.py) and any other server with an adapter (bench/adapters.py),
on the same load from the same generator, in the same run.

The load is what production sees: senders type at random moments (a random phase and
jittered gaps; `--lockstep` fires them all at once, as the first version of this bench
did, labelled as such), only other clients' deliveries count (a sender's own copy is its
ack), and the generator runs in K processes whose CPU is reported beside the server's,
PostgreSQL's and Redis's.

    .venv/bin/python bench/fanout.py                       # every scenario, 10 s each
    .venv/bin/python bench/fanout.py --seconds 5 --only 100c-10s rooms-100x10
    .venv/bin/python bench/fanout.py --servers moa,relay,hocuspocus --only 10c-10s
    .venv/bin/python bench/fanout.py --metrics both --no-relay --rounds 3
                                                           # Moa with metrics off, then on

With `--metrics both` each round runs Moa with METRICS_ENABLED=0 and 1 on the same
load (which goes first alternates), and a summary row per scenario gives the medians
and the ratio of deliveries per server CPU-second (metrics on / off).
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import procstat
from common import DATABASE, REDIS, ROOT, prepare_database, production_env, start
from wsload import Generators

from tests.processes import QUICK_DRAIN, daphne, free_port, stop


@dataclass(frozen=True)
class Scenario:
    name: str
    clients: int  # in all
    senders: int = 0  # per map
    rate: float = 0.0  # ops per second per sender
    presence_hz: float = 0.0  # presence frames per second per client
    maps: int = 1  # the clients are spread evenly over the maps
    processes: int = 1  # server processes
    kind: str = "load"  # "load", "idle" (memory per socket) or "storm" (reconnects)


SCENARIOS = [
    Scenario("10c-10s", clients=10, senders=10, rate=10),
    Scenario("100c-10s", clients=100, senders=10, rate=10),
    Scenario("500c-1s", clients=500, senders=1, rate=20),
    Scenario("500c-10s", clients=500, senders=10, rate=10),
    Scenario("1000c-1s", clients=1000, senders=1, rate=10),
    Scenario("1000c-10s", clients=1000, senders=10, rate=10),
    Scenario("50c-presence", clients=50, presence_hz=20),
    Scenario("rooms-100x10", clients=1000, maps=100, senders=2, rate=5),
    Scenario("rooms-4p", clients=2000, maps=200, senders=2, rate=5, processes=4),
    Scenario("idle-2000", clients=2000, kind="idle"),
    Scenario("storm-2000", clients=2000, kind="storm"),
]

IDLE_SETTLE_S = 3.0  # idle sockets this long before their memory is read


@dataclass(frozen=True)
class Server:
    """A server under test: its adapter and how to start one process of it on a port."""

    name: str
    adapter: str  # module:Class, see bench/adapters.py
    metrics: str | None = None  # Moa's METRICS_ENABLED

    def command(self, port: int) -> list[str]:
        if self.name.startswith("moa"):
            return daphne(port)
        if self.name == "relay":
            return [sys.executable, "bench/relay.py", "--port", str(port)]
        return self.adapter_class.command(port)

    @property
    def adapter_class(self) -> type:
        module, name = self.adapter.split(":")
        return getattr(importlib.import_module(module), name)

    @property
    def cross_process(self) -> bool:
        return getattr(self.adapter_class, "cross_process", False)

    def runs(self, scenario: Scenario) -> bool:
        """Whether the adapter speaks what `scenario` sends (presence is optional)."""
        return not scenario.presence_hz or hasattr(self.adapter_class, "presence_frame")

    def start(self, count: int, env: dict):
        processes, ports = [], []
        for _ in range(count):
            port = free_port()
            health = self.name != "relay"  # Moa and Hocuspocus answer GET /health/
            processes.append(start(self.command(port), f"{self.name}-{port}",
                                   {**env, "METRICS_ENABLED": self.metrics or "1"},
                                   port if health else None))
            ports.append(port)
        return processes, ports


ADAPTERS = {"moa": "adapters:MoaAdapter", "relay": "adapters:RelayAdapter",
            "hocuspocus": "yjs_client:HocuspocusAdapter"}


def placement(scenario: Scenario, ports: list[int], cross_process: bool) -> list[tuple]:
    """(index, map, port, sends) per client: each map's clients over the processes in
    turn (so its editors land on different ones) when the server shares a bus across
    processes; otherwise all of a map's clients on the map's process."""
    per_map = scenario.clients // scenario.maps
    clients = []
    for map_index in range(scenario.maps):
        for j in range(per_map):
            process = (map_index + j if cross_process else map_index) % len(ports)
            clients.append((map_index * per_map + j, map_index, ports[process],
                            j < scenario.senders))
    return clients


def percentile(values, fraction: float) -> float | None:
    if not len(values):
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))], 1)


def cpu_window(server_pids: list[int], generators: Generators) -> procstat.CpuWindow:
    return procstat.CpuWindow({
        "server": server_pids,
        "postgres": lambda: procstat.postgres_pids(DATABASE),
        "redis": procstat.redis_pids(REDIS),
        "generators": generators.pids})


def cpu_figures(cpu: dict, wall: float) -> dict:
    pct = {name: round(100 * sum(by_pid.values()) / wall, 1) for name, by_pid in cpu.items()}
    return {"server_cpu_pct": pct["server"],
            "server_cpu_pct_each": [round(100 * s / wall, 1) for s in cpu["server"].values()]
            if len(cpu["server"]) > 1 else None,
            "pg_cpu_pct": pct["postgres"], "redis_cpu_pct": pct["redis"],
            "generators_cpu_pct": pct["generators"]}


def run_load(scenario: Scenario, server: Server, config: dict, ports: list[int],
             pids: list[int], args) -> dict:
    clients = placement(scenario, ports, server.cross_process)
    plan = {"adapter": server.adapter, "config": config, "mode": "load",
            "rate": scenario.rate, "presence_hz": scenario.presence_hz,
            "arrivals": args.arrivals}
    generators = Generators(generator_count(args, scenario), plan, clients)
    try:
        connected = generators.ready()
        time.sleep(1.0)  # the senders' setup ops land before the window
        window = cpu_window(pids, generators)
        start_at = time.time() + 0.5
        generators.tell("go", start_at, args.seconds)
        time.sleep(max(0.0, start_at - time.time()))
        window.start()
        time.sleep(max(0.0, start_at + args.seconds - time.time()))
        cpu = window.stop()
        sent = generators.sent()
        result = generators.results(sent)
    finally:
        generators.join()
    per_map = {}
    for _, map_index, _, _ in clients:
        per_map[map_index] = per_map.get(map_index, 0) + 1
    map_of = {c[0]: c[1] for c in clients}
    offered = sum(n * (per_map[map_of[s]] - 1) for s, n in sent.items())
    seconds = args.seconds
    server_cpu = sum(cpu["server"].values())
    total_cpu = server_cpu + sum(cpu["postgres"].values()) + sum(cpu["redis"].values())
    delivered, ops, acked = result["delivered"], sum(sent.values()), result["acked"]
    moa = server.name.startswith("moa")
    presence = scenario.presence_hz > 0
    return {
        "clients": scenario.clients, "maps": scenario.maps, "processes": len(ports),
        "failed_connections": connected["failed"], "errors": connected["errors"] or None,
        "ops_per_s": round(ops / seconds, 1),
        "ops_acked_per_s": round(acked / seconds, 1), "rejected": result["rejected"],
        "offered_per_s": round(offered / seconds),
        "delivered_per_s": round(delivered / seconds),
        "lost": result["lost"], "duplicates": result["duplicates"],
        "out_of_order": result["out_of_order"], "seq_errors": result["seq_errors"],
        "p50_ms": percentile(result["latencies"], 0.5),
        "p99_ms": percentile(result["latencies"], 0.99),
        **cpu_figures(cpu, seconds),
        "deliveries_per_cpu_s": round(delivered / server_cpu) if server_cpu and delivered
        else None,
        "deliveries_per_cpu_s_with_pg_redis": round(delivered / total_cpu)
        if moa and total_cpu and delivered else None,
        "server_cpu_ms_per_op": round(1000 * server_cpu / acked, 2) if acked else None,
        "presence_frames_per_client_s": round(
            result["presence_frames"] / scenario.clients / seconds, 1) if presence else None,
        "presence_p99_staleness_ms": percentile(result["staleness"], 0.99)
        if presence else None,
    }


def run_idle(scenario: Scenario, server: Server, config: dict, ports: list[int],
             pids: list[int], args) -> dict:
    before = sum(procstat.rss_kib(pid) for pid in pids)
    clients = placement(scenario, ports, server.cross_process)
    plan = {"adapter": server.adapter, "config": config, "mode": "load", "rate": 0,
            "presence_hz": 0, "arrivals": args.arrivals}
    generators = Generators(generator_count(args, scenario), plan, clients)
    try:
        connected = generators.ready()
        time.sleep(IDLE_SETTLE_S)
        after = sum(procstat.rss_kib(pid) for pid in pids)
        generators.tell("close")
    finally:
        generators.join()
    opened = scenario.clients - connected["failed"]
    return {"clients": scenario.clients, "processes": len(ports),
            "failed_connections": connected["failed"], "errors": connected["errors"] or None,
            "rss_before_mib": round(before / 1024, 1), "rss_idle_mib": round(after / 1024, 1),
            "kib_per_socket": round((after - before) / opened, 1) if opened else None}


def run_storm(scenario: Scenario, server: Server, config: dict, ports: list[int],
              pids: list[int], args) -> dict:
    clients = placement(scenario, ports, server.cross_process)
    plan = {"adapter": server.adapter, "config": config, "mode": "storm", "rate": 0,
            "presence_hz": 0, "arrivals": args.arrivals}
    generators = Generators(generator_count(args, scenario), plan, clients)
    try:
        time.sleep(2.0)  # the generators are up
        window = cpu_window(pids, generators)
        start_at = time.time() + 0.5
        generators.tell("go", start_at)
        time.sleep(max(0.0, start_at - time.time()))
        window.start()
        connected = generators.ready()
        wall = time.time() - start_at
        cpu = window.stop()
        generators.tell("close")
    finally:
        generators.join()
    welcome_s = connected["welcome_s"]
    return {"clients": scenario.clients, "processes": len(ports),
            "failed_connections": connected["failed"], "errors": connected["errors"] or None,
            "welcomes_per_s": round(len(welcome_s) / max(welcome_s)) if welcome_s else 0,
            "p50_welcome_ms": percentile([1000 * s for s in welcome_s], 0.5),
            "p99_welcome_ms": percentile([1000 * s for s in welcome_s], 0.99),
            "storm_s": round(wall, 2), **cpu_figures(cpu, wall)}


RUNS = {"load": run_load, "idle": run_idle, "storm": run_storm}


def generator_count(args, scenario: Scenario) -> int:
    return args.generators or (1 if scenario.clients < 100 else 2)


METRICS_SWITCH = {"on": ["1"], "off": ["0"], "both": ["0", "1"]}


def targets(args, round_: int) -> list[Server]:
    """The servers in the order they run in round `round_`: with metrics off and on, each
    goes first every other round (whichever runs second was measured slower, whatever
    it was)."""
    switches = METRICS_SWITCH[args.metrics]
    names = [name for name in args.servers.split(",") if name]
    if args.no_relay:
        names = [name for name in names if name != "relay"]
    servers = []
    for name in names:
        if name == "moa":
            servers += [Server("moa" if args.metrics != "both" else
                               f"moa-metrics-{'on' if on == '1' else 'off'}", ADAPTERS[name], on)
                        for on in (switches if round_ % 2 == 0 else switches[::-1])]
        else:
            servers.append(Server(name, ADAPTERS[name]))
    return servers


def label(server: Server, args) -> str:
    return server.name + {"spread": "", "poisson": " (poisson)",
                          "lockstep": " (lock-step)"}[args.arrivals]


def scenarios(args) -> list[Scenario]:
    chosen = [s for s in SCENARIOS if not args.only or s.name in args.only]
    resized = []
    for scenario in chosen:
        if args.idle and scenario.kind != "load":
            scenario = replace(scenario, clients=args.idle,
                               name=f"{scenario.name.split('-')[0]}-{args.idle}")
        if args.processes:
            scenario = replace(scenario, processes=args.processes)
        resized.append(scenario)
    return resized


def bench(args) -> list[dict]:
    chosen = scenarios(args)
    seed = prepare_database(maps=max(s.maps for s in chosen))
    config = {"team_id": seed["team_id"], "map_ids": seed["map_ids"],
              "tokens": [user["token"] for user in seed["users"]]}
    # 20 accounts from one address hold every client: Moa's caps on sockets (and on one
    # user's hellos) are not what this measures.
    env = production_env(COLLAB_SOCKETS_PER_USER="0", COLLAB_SOCKETS_PER_ADDRESS="0",
                         **QUICK_DRAIN)
    rows = []
    for scenario in chosen:
        for server in [s for round_ in range(args.rounds) for s in targets(args, round_)]:
            if not server.runs(scenario):
                print(f"{scenario.name}: {server.name} skipped (its adapter sends no "
                      "presence)", flush=True)
                continue
            processes, ports = server.start(scenario.processes, env)
            try:
                result = RUNS[scenario.kind](scenario, server, config, ports,
                                             [p.pid for p in processes], args)
            finally:
                for process in processes:
                    stop(process)
            rows.append({"scenario": scenario.name, "kind": scenario.kind,
                         "server": label(server, args), **result})
            print(json.dumps(rows[-1]), flush=True)
    if args.metrics == "both":
        rows += metrics_overhead(rows)
    return rows


def metrics_overhead(rows: list[dict]) -> list[dict]:
    """Per scenario: median deliveries per CPU-second and CPU % with metrics off and on,
    and their ratio (on / off: 1.0 is no cost)."""
    summary = []
    for scenario in dict.fromkeys(row["scenario"] for row in rows if row["kind"] == "load"):
        median = {}
        for switch in ("off", "on"):
            runs = [row for row in rows if row["scenario"] == scenario
                    and row["server"].startswith(f"moa-metrics-{switch}")]
            median[switch] = {
                key: statistics.median(row[key] for row in runs) if all(
                    row[key] is not None for row in runs) else None
                for key in ("deliveries_per_cpu_s", "server_cpu_pct", "p99_ms")}
        off, on = median["off"], median["on"]
        summary.append({
            "scenario": scenario, "kind": "summary", "server": "metrics on/off",
            "off": off, "on": on,
            "deliveries_per_cpu_s_ratio": round(on["deliveries_per_cpu_s"]
                                                / off["deliveries_per_cpu_s"], 3)
            if off["deliveries_per_cpu_s"] and on["deliveries_per_cpu_s"] else None,
            "server_cpu_ratio": round(on["server_cpu_pct"] / off["server_cpu_pct"], 3)
            if off["server_cpu_pct"] else None})
        print(json.dumps(summary[-1]), flush=True)
    return summary


COLUMNS = {
    "load": ["scenario", "server", "ops_per_s", "ops_acked_per_s", "offered_per_s",
             "delivered_per_s", "lost", "rejected", "out_of_order", "seq_errors", "p50_ms",
             "p99_ms", "server_cpu_pct", "server_cpu_pct_each", "pg_cpu_pct", "redis_cpu_pct",
             "generators_cpu_pct", "deliveries_per_cpu_s", "deliveries_per_cpu_s_with_pg_redis",
             "server_cpu_ms_per_op",
             "presence_frames_per_client_s", "presence_p99_staleness_ms"],
    "idle": ["scenario", "server", "failed_connections", "rss_before_mib", "rss_idle_mib",
             "kib_per_socket"],
    "storm": ["scenario", "server", "failed_connections", "welcomes_per_s", "p50_welcome_ms",
              "p99_welcome_ms", "server_cpu_pct", "pg_cpu_pct", "redis_cpu_pct",
              "generators_cpu_pct"],
}


def markdown(rows: list[dict]) -> str:
    """The rows as the tables of bench/results/fanout.md."""
    tables = []
    for kind, columns in COLUMNS.items():
        chosen = [row for row in rows if row["kind"] == kind]
        if not chosen:
            continue
        lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        for row in chosen:
            cells = [row.get(column) for column in columns]
            lines.append("| " + " | ".join("—" if c is None else str(c) for c in cells) + " |")
        tables.append("\n".join(lines))
    return "\n\n".join(tables)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10, help="the sending window")
    parser.add_argument("--only", nargs="*", help="scenario names")
    parser.add_argument("--out", type=Path, help="write the rows as JSON here")
    parser.add_argument("--servers", default="moa,relay",
                        help=f"comma-separated, of {', '.join(ADAPTERS)}")
    parser.add_argument("--no-relay", action="store_true", help="skip the relay baseline")
    parser.add_argument("--metrics", choices=sorted(METRICS_SWITCH), default="on",
                        help="Moa's METRICS_ENABLED: on, off, or both (compared)")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each server per "
                        "scenario, alternating")
    arrivals = parser.add_mutually_exclusive_group()
    arrivals.add_argument("--lockstep", dest="arrivals", action="store_const",
                          const="lockstep", help="every sender at the same instants (the "
                          "first version's load; labelled in the server column)")
    arrivals.add_argument("--poisson", dest="arrivals", action="store_const",
                          const="poisson", help="exponential gaps instead of jittered ones")
    parser.set_defaults(arrivals="spread")
    parser.add_argument("--generators", type=int, help="load generator processes (default "
                        "1 under 100 clients, else 2)")
    parser.add_argument("--processes", type=int, help="server processes for every scenario "
                        "(default: the scenario's, 1 but for rooms-4p)")
    parser.add_argument("--idle", type=int, help="sockets of the idle and storm scenarios")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "bench"))
    rows = bench(args)
    print(markdown(rows))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
