"""A mindmap client over a real WebSocket, behaving as the browser does: it applies op
events in seq order, answers a gap or a dropped connection with `hello` and its last
seq, and resends unacknowledged ops with their op_ids after reconnecting."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid

import websockets

from collab import queries
from tests.collab.replica import Replica


class LiveClient:
    def __init__(self, base_url: str, team_id: int, map_id: int, token: str):
        self.url = (base_url.replace("http", "ws", 1)
                    + f"/ws/mindmap/{team_id}/{map_id}/?token={token}")
        self.client_id = str(uuid.uuid4())
        self.peer_id: str | None = None  # what peers know it by (the welcome's you)
        self.replica = Replica()
        self.unacked: dict[str, dict] = {}
        self.sent_at: dict[str, float] = {}
        self.latencies: list[float] = []
        self.presence: dict[str, dict] = {}
        self.gaps = 0
        self.closes: list[int] = []
        self.ws = None
        self.reader: asyncio.Task | None = None
        self.welcomed = asyncio.Event()
        self.changed = asyncio.Event()

    async def connect(self) -> None:
        self.welcomed.clear()
        self.ws = await websockets.connect(self.url, open_timeout=10, max_size=2**22)
        await self.send({"type": "hello", "client_id": self.client_id,
                         "since": self.replica.seq, "snapshot_parts": True})
        self.reader = asyncio.create_task(self._read())
        await asyncio.wait_for(self.welcomed.wait(), 10)
        for op_id, op in list(self.unacked.items()):  # resend what was never acknowledged
            await self.send({"type": "op", "op_id": op_id, "op": op})

    async def drop(self) -> None:
        """Lose the connection abruptly (no close frame), as a network failure would."""
        self.ws.transport.abort()
        with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
            await self.reader

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
                await self.reader

    async def send(self, frame: dict) -> None:
        await self.ws.send(json.dumps(frame))

    async def op(self, op: dict) -> str:
        op_id = str(uuid.uuid4())
        self.unacked[op_id] = op
        self.sent_at[op_id] = time.monotonic()
        with contextlib.suppress(websockets.ConnectionClosed):
            await self.send({"type": "op", "op_id": op_id, "op": op})
        return op_id

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                self.replica.handle(frame)
                if frame["type"] == "welcome":
                    self.peer_id = frame["you"]["client_id"]
                    self.presence.update({p["client_id"]: p for p in frame["peers"]})
                if frame["type"] in ("welcome", "snapshot") and self.replica.loading is None:
                    self.welcomed.set()  # the whole snapshot is in
                elif frame["type"] == "presence":
                    self.presence.update({p["client_id"]: p for p in frame["peers"]})
                elif frame["type"] == "reject":
                    self.unacked.pop(frame["op_id"], None)
                self._settle_acks()
                if self.replica.gap:
                    self.gaps += 1
                    self.replica.gap = False
                    await self.send({"type": "hello", "client_id": self.client_id,
                                     "since": self.replica.seq, "snapshot_parts": True})
                self.changed.set()
        finally:
            self.closes.append(self.ws.close_code)

    def _settle_acks(self) -> None:
        now = time.monotonic()
        for op_id in [op_id for op_id in self.unacked if op_id in self.replica.acked]:
            del self.unacked[op_id]
            self.latencies.append(now - self.sent_at.pop(op_id))

    async def wait_for(self, predicate, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"client {self.client_id} still waiting "
                                   f"(seq {self.replica.seq}, unacked {len(self.unacked)})")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(remaining, 0.5))


def database_nodes(map_id: int) -> tuple[int, dict]:
    """The map as the database has it: its seq and nodes by id (what clients must equal)."""
    snapshot = queries.map_snapshot(map_id=map_id)
    return snapshot.seq, {node["id"]: node for node in json.loads(snapshot.whole())}
