"""A Python client of Hocuspocus's wire protocol, the adapter that plugs it into the fan-out
benchmark, and a smoke run against the server in bench/hocuspocus/.

Every Hocuspocus frame (v3, @hocuspocus/server's MessageReceiver and ClientConnection) is

    varString(document name) varUint(message type) payload

with the message types Sync 0, Awareness 1, Auth 2, SyncReply 4 (a Sync that asks for no
SyncStep1 back) and SyncStatus 8 (the server's ack of an applied update). A Sync payload
is y-protocols' sync message: varUint(step1 0 | step2 1 | update 2) varUint8Array(data).
The server holds every message of a document until that document's Auth message
(varUint(Token 0) varString(token)) has passed its onAuthenticate hooks: with none, any
token passes, and it answers Auth varUint(Authenticated 2) varString(scope).

Each client keeps its own Y.Doc replica (pycrdt): an incoming update is applied to it and
the titles it delivers are the new values of the keys it changed. A sender's own update
comes back from the server too (Hocuspocus broadcasts to every connection); its replica
already holds it, so it changes nothing. The server's SyncStatus that follows is the
sender's ack: it gives back the oldest title not yet acked, which the harness counts as
the sender's own copy, not as a delivery.

    .venv/bin/python bench/yjs_client.py --smoke     # needs: npm ci --prefix bench/hocuspocus
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import random
import sys
import time
from pathlib import Path

import websockets
from pycrdt import Doc, Map

SERVER = Path(__file__).resolve().parent / "hocuspocus" / "server.mjs"

SYNC, AUTH, SYNC_REPLY, SYNC_STATUS = 0, 2, 4, 8  # (Awareness 1 is never read)
STEP1, STEP2, UPDATE = 0, 1, 2
AUTH_TOKEN, AUTH_PERMISSION_DENIED = 0, 1


def var_uint(number: int) -> bytes:
    out = bytearray()
    while number > 127:
        out.append(128 | (number & 127))
        number >>= 7
    out.append(number)
    return bytes(out)


def var_bytes(data: bytes) -> bytes:
    return var_uint(len(data)) + data


def read_var_uint(data: bytes, at: int) -> tuple[int, int]:
    number = shift = 0
    while True:
        byte = data[at]
        at += 1
        number |= (byte & 127) << shift
        if byte < 128:
            return number, at
        shift += 7


class Replica:
    """One client's copy of one document: what it sends, and what each frame delivers."""

    def __init__(self, document: str) -> None:
        self.prefix = var_bytes(document.encode())
        self.doc = Doc()
        self.nodes = self.doc.get("nodes", type=Map)
        self.synced = False
        self._delivered: list[str] | None = None  # a list while receive() applies a frame
        self._unacked: collections.deque[str] = collections.deque()
        # The integrated (Rust) map's own events: pycrdt's wrapper (Map.observe) builds a
        # Python event with target and path as well, which doubles the generator's CPU
        # per received update (18 against 8 µs measured); the keys are the same.
        self._subscription = self.nodes.integrated.observe(self._on_change)

    def _on_change(self, event) -> None:
        if self._delivered is not None:  # not this client's own set (set_frame)
            self._delivered.extend(change["newValue"] for change in event.keys.values()
                                   if "newValue" in change)

    def connect_frames(self) -> list[bytes]:
        """Auth first (the server queues everything else until it passes), then SyncStep1."""
        return [self.prefix + var_uint(AUTH) + var_uint(AUTH_TOKEN) + var_bytes(b""),
                self.prefix + var_uint(SYNC) + var_uint(STEP1) + var_bytes(self.doc.get_state())]

    def set_frame(self, key: str, value: str) -> bytes:
        """Set key=value in the replica; the frame carries that transaction's update."""
        state = self.doc.get_state()
        self.nodes[key] = value
        update = self.doc.get_update(state)
        self._unacked.append(value)
        return self.prefix + var_uint(SYNC) + var_uint(UPDATE) + var_bytes(update)

    def receive(self, raw: bytes) -> list[str]:
        """Apply a frame; return the titles it delivered (new values of changed keys)."""
        if not raw.startswith(self.prefix):
            return []
        kind, at = read_var_uint(raw, len(self.prefix))
        if kind == AUTH:
            if raw[at] == AUTH_PERMISSION_DENIED:
                raise RuntimeError(f"hocuspocus refused the connection: {raw[at + 1:]!r}")
            return []
        if kind == SYNC_STATUS:  # 1: the server applied our oldest unacked update
            return [self._unacked.popleft()] if raw[at] == 1 and self._unacked else []
        if kind not in (SYNC, SYNC_REPLY):
            return []  # awareness: nothing delivered
        step, at = read_var_uint(raw, at)
        if step == STEP1:
            return []  # the server asks for our state; this client never holds any of its own
        length, at = read_var_uint(raw, at)
        delivered = self._delivered = []
        try:
            self.doc.apply_update(raw[at:at + length])
        finally:
            self._delivered = None
        if step == STEP2:
            self.synced = True
        return delivered


class HocuspocusAdapter:
    """The fan-out harness's view of Hocuspocus: one document per map, one key per sender.

    `client` is the harness's client (bench/wsload.py's Client): the adapter reads its
    `map_index` and keeps the client's replica in its `extra` dict.
    """

    name = "hocuspocus"

    @staticmethod
    def command(port: int) -> list[str]:
        if not (SERVER.parent / "node_modules").is_dir():
            raise RuntimeError("bench/hocuspocus/node_modules is missing: "
                               "run npm ci --prefix bench/hocuspocus")
        return ["node", str(SERVER), "--port", str(port)]

    def url(self, port: int, map_index: int, client_index: int) -> str:
        # Hocuspocus reads the document's name from every message, not from the URL.
        return f"ws://127.0.0.1:{port}/{document_name(map_index)}"

    def on_connect_frames(self, client) -> list[bytes]:
        replica = client.extra["replica"] = Replica(document_name(client.map_index))
        return replica.connect_frames()

    def op_frame(self, client, key: str, title: str) -> bytes:
        return client.extra["replica"].set_frame(key, title)

    def delivered(self, client, raw: bytes) -> list[str]:
        return client.extra["replica"].receive(raw)

    def ready(self, client, raw: bytes) -> bool:
        """Applies the frame (as delivered() would) and says whether SyncStep2 has come."""
        replica = client.extra["replica"]
        replica.receive(raw)
        return replica.synced


def document_name(map_index: int) -> str:
    return f"map-{map_index}"


# --- smoke run ---------------------------------------------------------------------------

class SmokeClient:
    def __init__(self, index: int) -> None:
        self.index, self.map_index, self.extra = index, 0, {}
        self.ws = None
        self.synced = asyncio.Event()
        self.counters: dict[str, list[int]] = {}  # sender -> counters in arrival order
        # (a sender's own titles come back as its acks)
        self.latencies: list[float] = []
        self.decode_cpu_ns = 0
        self.frames = 0

    async def read(self, adapter: HocuspocusAdapter) -> None:
        async for raw in self.ws:
            now_ns = time.time_ns()
            if not self.synced.is_set():
                if adapter.ready(self, raw):
                    self.synced.set()
                continue
            started = time.thread_time_ns()
            titles = adapter.delivered(self, raw)
            self.decode_cpu_ns += time.thread_time_ns() - started
            self.frames += 1
            for title in titles:
                sent_ns, sender, counter = title[1:].split(":")
                self.counters.setdefault(sender, []).append(int(counter))
                if sender != str(self.index):
                    self.latencies.append((now_ns - int(sent_ns)) / 1e6)


async def smoke_run(port: int, pid: int, clients: int, senders: int, titles: int,
                    seconds: float) -> bool:
    from fanout import percentile
    from procstat import cpu_seconds

    adapter = HocuspocusAdapter()
    group = [SmokeClient(index) for index in range(clients)]
    readers = []
    for client in group:
        client.ws = await websockets.connect(adapter.url(port, 0, client.index),
                                             compression=None, ping_interval=None)
        readers.append(asyncio.create_task(client.read(adapter)))
        for frame in adapter.on_connect_frames(client):
            await client.ws.send(frame)
    await asyncio.wait_for(asyncio.gather(*(c.synced.wait() for c in group)), 10)

    async def send(sender: SmokeClient) -> None:
        # Spread over the window as people type: a random phase, then jittered gaps
        # around the mean rate (kept on schedule when a sleep overshoots).
        gap = seconds / titles
        next_at = time.monotonic() + random.uniform(0, gap)
        for counter in range(titles):
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            title = f"t{time.time_ns()}:{sender.index}:{counter}"
            await sender.ws.send(adapter.op_frame(sender, f"node-{sender.index}", title))
            next_at += gap * random.uniform(0.5, 1.5)

    cpu_before, wall_before = cpu_seconds(pid), time.monotonic()
    own_cpu_before = time.process_time()
    await asyncio.gather(*(send(s) for s in group[:senders]))
    expected = {str(s.index): list(range(titles)) for s in group[:senders]}

    def complete(client: SmokeClient) -> bool:
        """Every title of every sender once, in order: others' as deliveries, its own
        as acks."""
        return all(client.counters.get(sender) == want for sender, want in expected.items())

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not all(complete(c) for c in group):
        await asyncio.sleep(0.05)
    wall = time.monotonic() - wall_before
    server_cpu = cpu_seconds(pid) - cpu_before
    own_cpu = time.process_time() - own_cpu_before
    for client in group:
        await client.ws.close()
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*readers, return_exceptions=True)

    failures = [c.index for c in group if not complete(c)]
    latencies = [x for c in group for x in c.latencies]
    frames = sum(c.frames for c in group)
    print(f"clients {clients}, senders {senders} x {titles} titles over {seconds:.0f} s: "
          f"{len(latencies)} deliveries (expected {senders * titles * (clients - 1)})")
    print(f"latency p50 {percentile(latencies, 0.5):.2f} ms, p99 "
          f"{percentile(latencies, 0.99):.2f} ms")
    print(f"server CPU {100 * server_cpu / wall:.1f}% over {wall:.2f} s "
          f"({server_cpu * 1e6 / max(1, len(latencies)):.0f} us per delivery)")
    print(f"client decode {sum(c.decode_cpu_ns for c in group) / 1e3 / max(1, frames):.1f} us "
          f"CPU per frame ({frames} frames); whole client process "
          f"{own_cpu * 1e6 / max(1, frames):.0f} us per frame, {100 * own_cpu / wall:.1f}% CPU")
    if failures:
        print(f"FAIL: clients {failures} missed, repeated or reordered titles or acks")
    else:
        print("OK: every other client got every title, in each sender's order; "
              "every sender got an ack per title, in order")
    return not failures


def smoke(args) -> int:
    # Here, not at the top: the harness's generator processes import this module for
    # the adapter alone, without PostgreSQL's driver or Django.
    from common import ROOT, start

    from tests.processes import free_port, stop

    port = free_port()
    server = start(HocuspocusAdapter.command(port), "hocuspocus", dict(os.environ), port)
    try:
        ok = asyncio.run(smoke_run(port, server.pid, args.clients, args.senders, args.titles,
                                   args.seconds))
    finally:
        stop(server)
    print(f"server log: {ROOT / 'var' / 'bench-hocuspocus.log'}")
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", required=True,
                        help="start the server, send titles through it, check every delivery")
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--senders", type=int, default=2)
    parser.add_argument("--titles", type=int, default=100, help="titles per sender")
    parser.add_argument("--seconds", type=float, default=2.0)
    sys.exit(smoke(parser.parse_args()))


if __name__ == "__main__":
    main()
