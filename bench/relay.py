"""The baseline: a plain `websockets` relay that speaks just enough of Moa's protocol.

Each URL path is a room. It assigns each room's seqs and sends every op to every socket
of the room (the sender's copy is its ack, as in Moa), and forwards every presence frame
to the others, with no database, no authentication and no channel layer: the cheapest
server for the same load, measured in the same run as Moa.

It is a plain relay, not a handicapped one: no compression is negotiated (Daphne accepts
none), an op frame is built around the op's raw text without decoding it (only the
op_id is read), and each outgoing frame is encoded once and the same bytes go to every
socket (`websockets.broadcast`).
"""

import argparse
import asyncio
import json
from collections import defaultdict
from datetime import UTC, datetime

from websockets.asyncio.server import broadcast, serve

rooms: dict[str, set] = defaultdict(set)
seqs: dict[str, int] = defaultdict(int)

OP_PREFIX = '{"type":"op","op_id":"'  # what the benchmark's clients send, compact


def encode(frame: dict) -> str:
    return json.dumps(frame, separators=(",", ":"))


def op_event(room: str, raw: str) -> str:
    """The event for an incoming op frame, its op copied as raw text."""
    compact = raw.startswith(OP_PREFIX)
    if compact:
        start = len(OP_PREFIX)
        op_id = raw[start:start + 36]
        op = raw[raw.index('"op":', start + 36) + 5:-1]
    else:  # spaced JSON (json.dumps' default): the fields are found the same way
        op_id = raw[raw.index('"op_id": "') + 10:][:36]
        op = raw[raw.index('"op": ', raw.index('"op_id"')) + 6:-1]
    seqs[room] += 1
    return (f'{{"type":"op","seq":{seqs[room]},"op_id":"{op_id}","actor":0,"op":{op},'
            f'"at":"{datetime.now(UTC).isoformat()}"}}')


async def handler(ws) -> None:
    room = ws.request.path
    members = rooms[room]
    members.add(ws)
    client_id = None
    try:
        async for raw in ws:
            if raw.startswith(('{"type":"op"', '{"type": "op"')):
                broadcast(members, op_event(room, raw))
                continue
            frame = json.loads(raw)
            if frame["type"] == "hello":
                client_id = frame["client_id"]
                await ws.send(encode({"type": "welcome", "seq": seqs[room],
                                      "snapshot": {"nodes": []}, "ops": None, "peers": [],
                                      "you": {"client_id": client_id}}))
            elif frame["type"] == "presence":
                peer = {"client_id": client_id, "cursor": frame.get("cursor"),
                        "selection": frame.get("selection"), "drag": frame.get("drag")}
                broadcast(members - {ws}, encode({"type": "presence", "peers": [peer]}))
    finally:
        members.discard(ws)


async def main(port: int) -> None:
    async with serve(handler, "127.0.0.1", port, max_size=2**20, compression=None,
                     ping_interval=None):
        await asyncio.Future()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(main(parser.parse_args().port))
