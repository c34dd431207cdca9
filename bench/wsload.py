"""The load generator: clients split over K processes, with the accounting they share.

Each generator process runs its share of the clients on one asyncio loop (bench/wire.py
sockets, a protocol adapter from bench/adapters.py) and answers the parent through a
pipe, one step at a time, so the parent measures CPU over exactly the sending window:

    parent                          generator
    start(plan) ------------------> connect its clients, handshake, senders set up
                <------------------ ("ready", {"errors": {...}, "welcome_s": [...]})
    go(start_at, seconds) --------> send over the window
                <------------------ ("sent", {sender: count})
    expect({sender: count}) ------> wait (at most DRAIN_S) for every title, close
                <------------------ ("result", figures)

Idle sockets: after "ready" the parent measures and sends ("close",). A reconnect
storm: mode "storm" connects every client at the same instant on ("go", start_at).

Titles are "t{time_ns}:{sender}:{counter}", so loss, order and latency are counted the
same way for every server: per (sender, counter), other clients' deliveries only (a
sender's own copy is its ack, counted apart as committed).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import time
import uuid
from array import array
from dataclasses import dataclass, field

import adapters
import uvloop
import wire

DRAIN_S = 10.0  # after the window, how long the last deliveries may take
BATCH = 50  # clients connecting at once, outside storms


@dataclass
class Client:
    """One client: its place in the load, the adapter's state (`extra`), and what it
    received."""

    index: int  # global: also its sender id
    map_index: int
    port: int
    sends: bool
    client_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    extra: dict = field(default_factory=dict)
    socket: wire.Socket | None = None
    is_ready: bool = False
    ready: asyncio.Future | None = None
    last_seq: int = -1
    seq_errors: int = 0  # op events whose seq is not the previous one's successor
    received: dict = field(default_factory=dict)  # sender -> set of counters
    last_counter: dict = field(default_factory=dict)  # sender -> last counter seen
    out_of_order: int = 0
    duplicates: int = 0
    acked: int = 0  # its own ops come back: committed, for Moa
    rejected: int = 0  # ops the server refused (the adapter counts them)
    latencies: array = field(default_factory=lambda: array("f"))
    presence_frames: int = 0
    staleness: list = field(default_factory=list)

    def start_seq(self, seq: int) -> None:
        self.last_seq = seq

    def saw_seq(self, seq: int) -> None:
        if seq != self.last_seq + 1:
            self.seq_errors += 1
        self.last_seq = max(self.last_seq, seq)

    def saw_cursor(self, x: float) -> None:
        staleness = ((time.time_ns() / 1e6) % 1e7) - x
        if staleness >= 0:
            self.staleness.append(staleness)

    def on_title(self, title: str, now_ns: int) -> None:
        parts = title.split(":")
        if len(parts) != 3 or not parts[0].startswith("t"):
            return
        sender, counter = int(parts[1]), int(parts[2])
        if sender == self.index:
            self.acked += 1
            return
        seen = self.received.get(sender)
        if seen is None:
            seen = self.received[sender] = set()
        if counter in seen:
            self.duplicates += 1
            return
        seen.add(counter)
        if counter <= self.last_counter.get(sender, -1):
            self.out_of_order += 1
        else:
            self.last_counter[sender] = counter
        self.latencies.append((now_ns - int(parts[0][1:])) / 1e6)


class Generator:
    """The generator process's side: `plan` says which clients it runs and how they send."""

    def __init__(self, conn, plan: dict):
        self.conn = conn
        self.plan = plan
        self.adapter = adapters.load(plan["adapter"], plan["config"])
        self.clients = [Client(*spec) for spec in plan["clients"]]
        self.rng = random.Random()

    async def recv(self):
        return await asyncio.get_running_loop().run_in_executor(None, self.conn.recv)

    def on_message(self, client: Client, raw) -> None:
        now_ns = time.time_ns()
        if not client.is_ready:
            if self.adapter.ready(client, raw):
                client.is_ready = True
                client.ready.set_result(None)
            return
        for title in self.adapter.delivered(client, raw):
            client.on_title(title, now_ns)

    async def open(self, client: Client) -> float:
        """Connect and handshake; the seconds it took."""
        began = time.monotonic()
        client.ready = asyncio.get_running_loop().create_future()
        url = self.adapter.url(client.port, client.map_index, client.index)
        client.socket = await wire.connect(url, lambda raw: self.on_message(client, raw))
        for frame in self.adapter.on_connect_frames(client):
            client.socket.send(frame)
        await asyncio.wait_for(client.ready, 60)
        return time.monotonic() - began

    async def open_all(self, clients: list[Client]) -> tuple[list[float], dict[str, int]]:
        """Seconds to ready of those that made it; the others' errors, counted by kind."""
        results = await asyncio.gather(*(self.open(c) for c in clients),
                                       return_exceptions=True)
        errors: dict[str, int] = {}
        for result in results:
            if not isinstance(result, float):
                kind = f"{type(result).__name__}: {result}"[:120]
                errors[kind] = errors.get(kind, 0) + 1
        return [r for r in results if isinstance(r, float)], errors

    def close_all(self) -> None:
        for client in self.clients:
            if client.socket is not None:
                client.socket.close()

    async def run(self) -> None:
        if self.plan["mode"] == "storm":
            _, start_at = await self.recv()
            await asyncio.sleep(max(0.0, start_at - time.time()))
            welcome_s, errors = await self.open_all(self.clients)
            self.conn.send(("ready", {"errors": errors, "welcome_s": welcome_s}))
            await self.recv()
            self.close_all()
            return
        welcome_s, errors = [], {}
        for batch in range(0, len(self.clients), BATCH):
            times, failures = await self.open_all(self.clients[batch:batch + BATCH])
            welcome_s += times
            for kind, count in failures.items():
                errors[kind] = errors.get(kind, 0) + count
        setup = getattr(self.adapter, "setup_frames", None)
        for client in self.clients:
            if client.sends and client.is_ready and setup is not None:
                for frame in setup(client, f"k{client.index}"):
                    client.socket.send(frame)
        self.conn.send(("ready", {"errors": errors, "welcome_s": welcome_s}))
        command = await self.recv()
        if command[0] == "close":
            self.close_all()
            return
        _, start_at, seconds = command
        sent = await self.send_window(start_at, seconds)
        self.conn.send(("sent", sent))
        _, expected = await self.recv()
        await self.wait_for(expected)
        self.close_all()
        self.conn.send(("result", self.figures(expected)))

    async def send_window(self, start_at: float, seconds: float) -> dict[int, int]:
        start = time.monotonic() + (start_at - time.time())
        end = start + seconds
        live = [c for c in self.clients if c.is_ready]
        senders = [c for c in live if c.sends]
        tasks = [self.send_ops(c, start, end) for c in senders]
        if self.plan["presence_hz"]:
            tasks += [self.send_presence(c, start, end) for c in live]
        await asyncio.sleep(max(0.0, start - time.monotonic()))
        for client in live:
            client.presence_frames, client.staleness = 0, []
        counts = await asyncio.gather(*tasks)
        self.presence_frames = sum(c.presence_frames for c in live)
        return {c.index: n for c, n in zip(senders, counts, strict=False)}

    def next_gap(self, rate: float) -> float:
        """Senders type at random moments: a random phase (first call) and gaps of the
        mean period, jittered ±50% or exponential (Poisson); lock-step keeps it exact."""
        arrivals = self.plan["arrivals"]
        if arrivals == "poisson":
            return self.rng.expovariate(rate)
        if arrivals == "spread":
            return self.rng.uniform(0.5, 1.5) / rate
        return 1 / rate

    async def paced(self, rate: float, start: float, end: float):
        """The moments of one sender's sends within [start, end)."""
        at = start if self.plan["arrivals"] == "lockstep" else start + self.rng.random() / rate
        while at < end:
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            yield
            at += self.next_gap(rate)

    async def send_ops(self, client: Client, start: float, end: float) -> int:
        counter = 0
        key = f"k{client.index}"
        async for _ in self.paced(self.plan["rate"], start, end):
            title = f"t{time.time_ns()}:{client.index}:{counter}"
            client.socket.send(self.adapter.op_frame(client, key, title))
            counter += 1
        return counter

    async def send_presence(self, client: Client, start: float, end: float) -> int:
        async for _ in self.paced(self.plan["presence_hz"], start, end):
            client.socket.send(self.adapter.presence_frame(
                client, (time.time_ns() / 1e6) % 1e7))
        return 0

    def missing(self, client: Client, expected: dict[int, int]) -> int:
        return sum(max(0, count - len(client.received.get(sender, ())))
                   for sender, count in expected.items()
                   if sender != client.index and self.map_of[sender] == client.map_index)

    async def wait_for(self, expected: dict[int, int]) -> None:
        self.map_of = {int(s): m for s, m in self.plan["sender_maps"].items()}
        deadline = time.monotonic() + DRAIN_S
        while time.monotonic() < deadline:
            if not any(self.missing(c, expected) for c in self.clients if c.is_ready):
                return
            await asyncio.sleep(0.1)

    def figures(self, expected: dict[int, int]) -> dict:
        clients = self.clients
        latencies = array("f")
        for client in clients:
            latencies.extend(client.latencies)
        return {
            "clients": len(clients),
            "delivered": sum(len(s) for c in clients for s in c.received.values()),
            "lost": sum(self.missing(c, expected) for c in clients),
            "duplicates": sum(c.duplicates for c in clients),
            "out_of_order": sum(c.out_of_order for c in clients),
            "seq_errors": sum(c.seq_errors for c in clients),
            "acked": sum(c.acked for c in clients),
            "rejected": sum(c.rejected for c in clients),
            "latencies": latencies.tobytes(),
            "presence_frames": self.presence_frames,
            "staleness": [x for c in clients for x in c.staleness],
        }


def _generator_main(conn, plan: dict) -> None:
    uvloop.run(Generator(conn, plan).run())  # about half asyncio's cost per frame


class Generators:
    """The parent's side: K generator processes sharing the clients round-robin."""

    def __init__(self, count: int, plan: dict, clients: list[tuple]):
        context = multiprocessing.get_context("spawn")
        sender_maps = {c[0]: c[1] for c in clients if c[3]}
        self.processes, self.conns = [], []
        for k in range(count):
            parent, child = context.Pipe()
            share = {**plan, "clients": clients[k::count], "sender_maps": sender_maps}
            process = context.Process(target=_generator_main, args=(child, share),
                                      daemon=True)
            process.start()
            child.close()  # so a generator that dies ends the parent's recv (EOFError)
            self.processes.append(process)
            self.conns.append(parent)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def gather(self, kind: str) -> list:
        replies = []
        for conn in self.conns:
            reply = conn.recv()
            if reply[0] != kind:
                raise RuntimeError(f"generator answered {reply[0]!r}, not {kind!r}")
            replies.append(reply[1])
        return replies

    def tell(self, *command) -> None:
        for conn in self.conns:
            conn.send(command)

    def ready(self) -> dict:
        replies = self.gather("ready")
        errors: dict[str, int] = {}
        for reply in replies:
            for kind, count in reply["errors"].items():
                errors[kind] = errors.get(kind, 0) + count
        return {"failed": sum(errors.values()), "errors": errors,
                "welcome_s": [x for r in replies for x in r["welcome_s"]]}

    def sent(self) -> dict[int, int]:
        return {sender: n for reply in self.gather("sent") for sender, n in reply.items()}

    def results(self, expected: dict[int, int]) -> dict:
        self.tell("expect", expected)
        replies = self.gather("result")
        merged = {key: sum(r[key] for r in replies) for key in (
            "clients", "delivered", "lost", "duplicates", "out_of_order", "seq_errors",
            "acked", "rejected", "presence_frames")}
        latencies = array("f")
        for reply in replies:
            latencies.frombytes(reply["latencies"])
        merged["latencies"] = latencies
        merged["staleness"] = [x for r in replies for x in r["staleness"]]
        return merged

    def join(self) -> None:
        for process in self.processes:
            process.join(timeout=15)
            if process.is_alive():
                process.kill()
