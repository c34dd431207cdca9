"""A client's view of a map, as a browser keeps it: op events replayed in seq order as
the server logged them, with gaps and acks noticed."""

from __future__ import annotations

from collab import op_log


class Replica:
    def __init__(self):
        self.state = op_log.Replay()
        self.seq: int | None = None
        self.acked: dict[str, int] = {}
        self.rejects: list[dict] = []
        self.gap = False
        self.frames = 0
        self.loading: dict | None = None  # a snapshot arriving in parts: nodes so far

    def handle(self, frame: dict) -> None:
        self.frames += 1
        kind = frame["type"]
        if kind == "welcome":
            self.welcome(frame)
        elif kind == "snapshot":
            self.part(frame)
        elif kind == "op":
            self.event(frame)
        elif kind == "ops":
            for event in frame["events"]:
                self.event(event)
        elif kind == "reject":
            self.rejects.append(frame)

    def welcome(self, frame: dict) -> None:
        snapshot = frame["snapshot"]
        if snapshot is not None and snapshot.get("parts", 1) > 1:
            self.loading = {"seq": frame["seq"], "parts": snapshot["parts"], "next": 2,
                            "nodes": list(snapshot["nodes"])}
        elif snapshot is not None:
            self.state = op_log.Replay(snapshot["nodes"])
            self.seq = frame["seq"]
        else:
            for event in frame["ops"]:
                self.event(event)
            assert self.seq == frame["seq"], (self.seq, frame["seq"])
        self.gap = False

    def part(self, frame: dict) -> None:
        """A `snapshot` frame: the next part; the last one replaces the tree."""
        loading = self.loading
        assert loading is not None and (frame["seq"], frame["part"], frame["parts"]) == (
            loading["seq"], loading["next"], loading["parts"]), (frame, loading)
        loading["nodes"].extend(frame["nodes"])
        loading["next"] += 1
        if frame["part"] == frame["parts"]:
            self.state = op_log.Replay(loading["nodes"])
            self.seq, self.loading = frame["seq"], None

    def event(self, event: dict) -> None:
        assert self.loading is None, "an op event between a snapshot's parts"
        if self.seq is not None and event["seq"] <= self.seq:
            self.acked.setdefault(event["op_id"], event["seq"])
            return  # already applied (a resend's answer, a replay overlap)
        if self.seq is None or event["seq"] != self.seq + 1:
            self.gap = True  # a real client sends hello with its last seq now
            return
        self.state.apply(event["op"])
        self.seq = event["seq"]
        self.acked[event["op_id"]] = event["seq"]

    @property
    def nodes(self) -> dict[str, dict]:
        return self.state.nodes

    def root(self) -> str:
        return next(node_id for node_id, node in self.nodes.items() if node["parent"] is None)

    def is_acyclic(self) -> bool:
        for start in self.nodes:
            seen, node = set(), start
            while node is not None:
                if node in seen:
                    return False
                seen.add(node)
                node = self.nodes[node]["parent"]
        return True
