"""The baseline: a bare `websockets` relay that speaks just enough of Moa's protocol.

It assigns seqs, echoes every op to every socket and forwards every presence frame,
with no database, no authentication and no channel layer: the cheapest possible
server for the same load, measured in the same run as Moa.
"""

import argparse
import asyncio
import json
from datetime import UTC, datetime

import websockets

clients: set = set()
state = {"seq": 0}


def encode(frame: dict) -> str:
    return json.dumps(frame, separators=(",", ":"))


async def handler(ws) -> None:
    clients.add(ws)
    client_id = None
    try:
        async for raw in ws:
            frame = json.loads(raw)
            if frame["type"] == "hello":
                client_id = frame["client_id"]
                await ws.send(encode({"type": "welcome", "seq": state["seq"],
                                      "snapshot": {"nodes": []}, "ops": None, "peers": [],
                                      "you": {"client_id": client_id}}))
            elif frame["type"] == "op":
                state["seq"] += 1
                websockets.broadcast(clients, encode({
                    "type": "op", "seq": state["seq"], "op_id": frame["op_id"], "actor": 0,
                    "op": frame["op"], "at": datetime.now(UTC).isoformat()}))
            elif frame["type"] == "presence":
                peer = {"client_id": client_id, "cursor": frame.get("cursor"),
                        "selection": frame.get("selection"), "drag": frame.get("drag")}
                websockets.broadcast(clients - {ws}, encode({"type": "presence",
                                                             "peers": [peer]}))
    finally:
        clients.discard(ws)


async def main(port: int) -> None:
    async with websockets.serve(handler, "127.0.0.1", port, max_size=2**20):
        await asyncio.Future()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(main(parser.parse_args().port))
