"""Protocol adapters: what the load generator (bench/wsload.py) needs to know of a server.

An adapter is built in each generator process from its `config` (a dict, so it can be
sent there) and holds no per-client state of its own: that lives on the harness's
`wsload.Client` (its `extra` dict is the adapter's). The interface, also described in
bench/README.md ("Adding a server"):

    name                                    the server column
    command(port) (static, optional)        how to start one server process (Moa's and
                                            the relay's are in bench/fanout.py)
    cross_process (optional, False)         may one map's clients use different
                                            processes of the server (a shared bus)?
    url(port, map_index, client_index)      where a client connects
    on_connect_frames(client)               sent once connected (Moa: hello)
    ready(client, raw) -> bool              this frame ends the handshake (welcome)
    setup_frames(client, key) (optional)    sent by a sender before it starts (Moa:
                                            create the node its titles go to)
    op_frame(client, key, title)            a frame setting `key`'s title
    delivered(client, raw) -> list[str]     the titles an incoming frame delivers; it
                                            may also call client.saw_seq(seq) for every
                                            op event (the seq order check) and
                                            client.saw_cursor(x) for presence, and
                                            count refused ops in client.rejected
    presence_frame(client, x) (optional)    a presence frame with cursor x (ms clock)
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
import uuid

SEQ = re.compile(r'"seq": ?(\d+)')
TITLE = re.compile(r'"title": ?"(t\d+:\d+:\d+)"')  # the benchmark's titles only


def load(spec: str, config: dict):
    """The adapter `module:Class` (a module of bench/), built from `config` if its
    constructor takes one."""
    module, name = spec.split(":")
    cls = getattr(importlib.import_module(module), name)
    return cls(config) if inspect.signature(cls).parameters else cls()


class MoaAdapter:
    """Moa's protocol (docs: PROTOCOL.md): hello/welcome, ops as node.update of a node
    each sender creates, `op` and `ops` frames, presence ticks."""

    name = "moa"
    cross_process = True

    def __init__(self, config: dict):
        self.team_id = config["team_id"]
        self.map_ids = config["map_ids"]
        self.tokens = config["tokens"]

    def url(self, port: int, map_index: int, client_index: int) -> str:
        token = self.tokens[client_index % len(self.tokens)]
        return (f"ws://127.0.0.1:{port}/ws/mindmap/{self.team_id}/"
                f"{self.map_ids[map_index]}/?token={token}")

    def on_connect_frames(self, client) -> list[str]:
        return [json.dumps({"type": "hello", "client_id": client.client_id, "since": None})]

    def ready(self, client, raw: str) -> bool:
        frame = json.loads(raw)
        if frame["type"] != "welcome":
            return False
        client.start_seq(frame["seq"])
        nodes = (frame.get("snapshot") or {}).get("nodes") or []
        client.extra["root"] = next((n["id"] for n in nodes if n["parent"] is None), None)
        return True

    def setup_frames(self, client, key: str) -> list[str]:
        node = client.extra.setdefault("nodes", {})[key] = str(uuid.uuid4())
        return [json.dumps({"type": "op", "op_id": str(uuid.uuid4()), "op": {
            "kind": "node.create", "node": {"id": node, "parent": client.extra["root"]}}})]

    def op_frame(self, client, key: str, title: str) -> str:
        return json.dumps({"type": "op", "op_id": str(uuid.uuid4()), "op": {
            "kind": "node.update", "id": client.extra["nodes"][key], "set": {"title": title}}})

    def delivered(self, client, raw: str) -> list[str]:
        """Op frames are read with two regular expressions rather than decoded: at
        100,000 deliveries a second, decoding would make the generator the limit."""
        seqs = SEQ.findall(raw)
        if seqs:  # op and ops frames (the welcome, which has one too, went to ready())
            for seq in seqs:
                client.saw_seq(int(seq))
            return TITLE.findall(raw)
        frame = json.loads(raw)
        if frame["type"] == "reject":
            client.rejected += 1
        elif frame["type"] == "presence":
            client.presence_frames += 1
            for peer in frame["peers"]:
                cursor = peer.get("cursor") or {}
                if "x" in cursor:
                    client.saw_cursor(cursor["x"])
        return []

    def presence_frame(self, client, x: float) -> str:
        return json.dumps({"type": "presence", "cursor": {"x": x, "y": 0}, "selection": [],
                           "drag": None})


class RelayAdapter(MoaAdapter):
    """bench/relay.py speaks Moa's frames; it has no maps of its own (one process is one
    room), no authentication and no nodes to create."""

    name = "relay"
    cross_process = False

    def url(self, port: int, map_index: int, client_index: int) -> str:
        return f"ws://127.0.0.1:{port}/{map_index}"

    def ready(self, client, raw: str) -> bool:
        frame = json.loads(raw)
        if frame["type"] != "welcome":
            return False
        client.start_seq(frame["seq"])
        return True

    def setup_frames(self, client, key: str) -> list[str]:
        client.extra.setdefault("nodes", {})[key] = str(uuid.uuid4())
        return []
