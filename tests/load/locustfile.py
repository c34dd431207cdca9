"""Locust load test for a Moa deployment: REST users and live mindmap editors.

    python manage.py seed_demo --users 50 --json > seed.json     # on the deployment
    locust -f tests/load/locustfile.py --headless --host https://moa.example.com \
        -u 100 -r 10 --run-time 5m --moa-seed seed.json --moa-ops-per-second 2

ApiUser browses teams and maps and polls jobs over REST with a seed_demo token.
MapEditor joins the demo map over WebSocket, sends ops at --moa-ops-per-second and
presence at --moa-presence-per-second, and reports to Locust's statistics:

  WS  op ack          every acknowledged op, its response time the ack latency
  WS  op ack (fail)   every reject or `error` frame answering an op, with its code
  WS  <reject|error> <code>  one answering no pending op (presence, a rate limit...)
  WS  gap             a seq gap in the event stream (resynced with hello)
  WS  connect         each (re)connection, its time the wait for `welcome`
  WS  server restart  a close 1012 after `reconnect` (a draining server): expected
  WS  connection lost any other close or network error (a failure)
  WS  op lost         at stop, an op still unacknowledged after --moa-settle-seconds
  WS  presence        each presence frame sent

Like a browser, an editor resends unacknowledged ops with their op_ids after every
reconnect, so a restart costs latency, never an op.

Every request is counted: no redirect is followed (a 3xx is a failure naming where it
pointed), a request gives up after --moa-request-timeout, and an error is reported
under the request's own name with its reason. At stop the run fails when a user class
never got a success for a kind it owes, when an op was lost or the stream had a gap
(whatever the ratio), or when the failure ratio (presence frames aside) is above
--moa-max-failure-ratio (load_checks.py). docs/load-testing.md has more.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import struct
import time
import uuid
from functools import cache

import gevent
import websocket
from gevent import GreenletExit
from gevent.event import Event
from load_checks import (
    RunRecord,
    error_reason,
    loss_problems,
    missing_kinds,
    ratio_problem,
    redirect_reason,
    refusal,
    upgrade_reason,
)
from locust import HttpUser, User, between, events, task

MAX_OWN_NODES = 20
TEAMS, MAPS, MAP, JOBS = ("/api/v1/teams/", "/api/v1/teams/[id]/maps/", "/api/v1/maps/[id]/",
                          "/api/v1/jobs/")

logger = logging.getLogger("moa.load")


@events.init_command_line_parser.add_listener
def add_arguments(parser):
    parser.add_argument("--moa-seed", default="seed.json", include_in_web_ui=False,
                        help="the output of `manage.py seed_demo --json`")
    parser.add_argument("--moa-ops-per-second", type=float, default=2.0,
                        help="ops each MapEditor sends per second")
    parser.add_argument("--moa-presence-per-second", type=float, default=2.0,
                        help="presence (cursor) frames each MapEditor sends per second")
    parser.add_argument("--moa-settle-seconds", type=float, default=15.0,
                        help="at stop, how long an editor waits for its last acks")
    parser.add_argument("--moa-request-timeout", type=float, default=10.0,
                        help="seconds a request or WebSocket handshake waits for an answer")
    parser.add_argument("--moa-max-failure-ratio", type=float, default=0.01,
                        help="the run fails when more of its requests failed "
                             "(Locust's own --exit-code-on-error fails it on any failure)")


@events.init.add_listener
def create_record(environment, **_):
    environment.moa_run = RunRecord()

    def record_request(request_type, name, exception=None, **_):
        environment.moa_run.request_ended((request_type, name), exception)

    environment.events.request.add_listener(record_request)


@events.test_start.add_listener
def reset_record(environment, **_):
    environment.moa_run = RunRecord()


@events.test_stop.add_listener
def judge_run(environment, **_):
    """Fail the run (exit 1) on what Locust's own rule cannot see: a kind of request a
    user class owed and never got a success for, an op lost or a gap (whatever
    --exit-code-on-error and the ratio say), or too many failures."""
    options = environment.parsed_options
    stats = environment.stats
    counts = {(method, name): (entry.num_requests, entry.num_failures)
              for (name, method), entry in stats.entries.items()}
    problems = missing_kinds(environment.moa_run, counts, options.moa_request_timeout)
    problems += loss_problems(environment.moa_run, counts)
    ratio = ratio_problem(counts, options.moa_max_failure_ratio)
    if ratio:
        problems.append(ratio)
    if problems:
        logger.error("the run failed:\n  %s", "\n  ".join(problems))
        environment.process_exit_code = 1


@cache
def seed(path: str) -> dict:
    with open(path) as file:
        data = json.load(file)
    if not data.get("users"):
        raise ValueError(f"{path} has no users: run `manage.py seed_demo --json`")
    return data


def report(environment, name: str, started: float | None = None, length: int = 0,
           error: str | None = None) -> None:
    elapsed = (time.monotonic() - started) * 1000 if started is not None else 0
    environment.events.request.fire(
        request_type="WS", name=name, response_time=elapsed, response_length=length,
        exception=RuntimeError(error) if error else None, context={})


class ApiUser(HttpUser):
    """REST traffic of people with the app open: lists, a map, job polling."""

    wait_time = between(0.5, 2)
    kinds = (("GET", TEAMS), ("GET", MAPS), ("GET", MAP), ("GET", JOBS))

    def on_start(self):
        data = seed(self.environment.parsed_options.moa_seed)
        user = random.choice(data["users"])
        self.team_id, self.map_id = data["team_id"], data["map_id"]
        self.client.headers["Authorization"] = f"Bearer {user['token']}"
        # Locust's HttpUser reads no environment (trust_env off): honour the documented
        # CA bundle for a private certificate (WebSockets read SSL_CERT_FILE themselves).
        if ca_bundle := os.environ.get("REQUESTS_CA_BUNDLE"):
            self.client.verify = ca_bundle
        self.environment.moa_run.user_started(type(self).__name__, self.kinds)
        # Opening the app loads each of them once, so every kind is due in any run.
        self.teams()
        self.maps()
        self.map_detail()
        self.jobs()

    def get(self, path: str, name: str) -> None:
        """One GET, counted whatever happens: a redirect or an error is a failure with
        its reason, under `name`; one still unanswered when the user stops is noted."""
        timeout = self.environment.parsed_options.moa_request_timeout
        try:
            with self.client.get(path, name=name, allow_redirects=False, timeout=timeout,
                                 catch_response=True) as response:
                if response.error is not None:
                    response.failure(error_reason(response.error, response.request_meta["url"]))
                elif response.is_redirect:
                    response.failure(redirect_reason(response.status_code,
                                                     response.headers["location"], response.url))
        except GreenletExit:
            self.environment.moa_run.unanswered["GET", name] += 1
            raise

    @task(3)
    def teams(self):
        self.get("/api/v1/teams/", TEAMS)

    @task(2)
    def maps(self):
        self.get(f"/api/v1/teams/{self.team_id}/maps/", MAPS)

    @task(1)
    def map_detail(self):
        self.get(f"/api/v1/maps/{self.map_id}/", MAP)

    @task(2)
    def jobs(self):
        self.get("/api/v1/jobs/", JOBS)


class MapEditor(User):
    """One browser tab on the demo map: ops, presence, reconnects, resends."""

    def wait_time(self):
        return 1.0 / self.environment.parsed_options.moa_ops_per_second

    def on_start(self):
        options = self.environment.parsed_options
        data = seed(options.moa_seed)
        user = random.choice(data["users"])
        base = self.host.replace("http", "ws", 1).rstrip("/")
        self.url = f"{base}/ws/mindmap/{data['team_id']}/{data['map_id']}/?token={user['token']}"
        self.client_id = str(uuid.uuid4())
        self.seq: int | None = None
        self.root: str | None = None
        self.own: list[str] = []
        self.pending: dict[str, tuple[dict, float]] = {}
        self.welcomed = Event()
        self.stopping = False
        self.ws = None
        presence = (("WS", "presence"),) if options.moa_presence_per_second > 0 else ()
        self.environment.moa_run.user_started(
            type(self).__name__, (("WS", "connect"), ("WS", "op ack"), *presence))
        self.presence = gevent.spawn(self.send_presence, options.moa_presence_per_second)
        self.connect()

    # --- connection ------------------------------------------------------------------

    def connect(self) -> None:
        """Connect until welcomed; every failed attempt is a failure in the statistics,
        with its reason (a redirect is not followed: it names where it pointed)."""
        delay = 0.2
        timeout = self.environment.parsed_options.moa_request_timeout
        while not self.stopping:
            started = time.monotonic()
            self.welcomed.clear()
            ws = websocket.WebSocket(enable_multithread=True)
            try:
                ws.connect(self.url, timeout=timeout, redirect_limit=0)
                self.ws = ws
                self.send({"type": "hello", "client_id": self.client_id, "since": self.seq})
                gevent.spawn(self.read, ws)
                if not self.welcomed.wait(timeout):
                    raise TimeoutError(f"no welcome within {timeout:g} s")
            except (OSError, TimeoutError, websocket.WebSocketException) as error:
                report(self.environment, "connect", started,
                       error=upgrade_reason(error, self.url, ws.handshake_response))
                gevent.sleep(delay + random.uniform(0, delay))
                delay = min(delay * 2, 5)
                continue
            except GreenletExit:
                self.environment.moa_run.unanswered["WS", "connect"] += 1
                raise
            report(self.environment, "connect", started)
            for op_id, (op, _) in list(self.pending.items()):  # never acknowledged: resend
                self.send({"type": "op", "op_id": op_id, "op": op})
            return

    def send(self, frame: dict) -> None:
        self.ws.send(json.dumps(frame))

    def read(self, ws) -> None:
        after_ms = None
        code = None
        try:
            while True:
                opcode, frame = ws.recv_data_frame(control_frame=True)
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    code = struct.unpack("!H", frame.data[:2])[0] if len(frame.data) >= 2 else None
                    break
                if opcode == websocket.ABNF.OPCODE_TEXT:
                    message = json.loads(frame.data)
                    if message["type"] == "reconnect":
                        after_ms = message["after_ms"]
                    else:
                        self.handle(message, len(frame.data))
        except (OSError, ValueError, KeyError, websocket.WebSocketException) as error:
            code = code or f"{type(error).__name__}: {error}"  # a frame it cannot read too
        finally:
            ws.close()
        if self.stopping or ws is not self.ws:
            return
        if code == 1012:
            report(self.environment, "server restart")
            gevent.sleep((after_ms or 0) / 1000)
        else:
            report(self.environment, "connection lost", error=f"closed: {code}")
        self.connect()

    # --- frames ----------------------------------------------------------------------

    def handle(self, message: dict, length: int) -> None:
        kind = message["type"]
        if kind == "welcome":
            self.welcome(message)
        elif kind == "op":
            self.event(message, length)
        elif kind == "ops":
            for event in message["events"]:
                self.event(event, length)
        elif kind in ("reject", "error"):
            name, reason = refusal(message, self.pending)
            _, sent = self.pending.pop(message.get("op_id"), (None, None))
            report(self.environment, name, sent, length, error=reason)

    def welcome(self, message: dict) -> None:
        snapshot = message.get("snapshot")
        if snapshot is not None:
            self.seq = message["seq"]
            self.root = next(node["id"] for node in snapshot["nodes"] if node["parent"] is None)
            alive = {node["id"] for node in snapshot["nodes"]}
            self.own = [node_id for node_id in self.own if node_id in alive]
        else:
            for event in message["ops"]:
                self.event(event, 0)
        self.welcomed.set()

    def event(self, event: dict, length: int) -> None:
        if self.seq is not None and event["seq"] > self.seq + 1:
            report(self.environment, "gap", error=f"seq {self.seq} -> {event['seq']}")
            self.send({"type": "hello", "client_id": self.client_id, "since": self.seq})
            return
        if self.seq is not None and event["seq"] == self.seq + 1:
            self.seq = event["seq"]
        sent = self.pending.pop(event["op_id"], None)
        if sent is not None:
            op, started = sent
            if op["kind"] == "node.create":
                self.own.append(op["node"]["id"])
            report(self.environment, "op ack", started, length)

    # --- what the user does ----------------------------------------------------------

    @task
    def edit(self):
        if self.root is None or not self.welcomed.is_set():
            return
        op = self.next_op()
        op_id = str(uuid.uuid4())
        self.pending[op_id] = (op, time.monotonic())
        # On failure the op stays pending: resent after the reconnect the reader is doing.
        with contextlib.suppress(OSError, websocket.WebSocketException):
            self.send({"type": "op", "op_id": op_id, "op": op})

    def next_op(self) -> dict:
        roll = random.random()
        if len(self.own) >= MAX_OWN_NODES or (self.own and roll < 0.15):
            return {"kind": "node.delete", "id": self.own.pop(0)}
        if self.own and roll < 0.5:
            return {"kind": "node.update", "id": random.choice(self.own),
                    "set": {"title": f"edited {random.randint(0, 999)}"}}
        return {"kind": "node.create",
                "node": {"id": str(uuid.uuid4()), "parent": self.root, "title": "load"}}

    def send_presence(self, per_second: float) -> None:
        while not self.stopping and per_second > 0:
            gevent.sleep(1.0 / per_second)
            if not self.welcomed.is_set():
                continue
            frame = {"type": "presence", "cursor": {"x": random.uniform(-500, 500),
                                                    "y": random.uniform(-500, 500)},
                     "selection": [], "drag": None}
            try:
                self.send(frame)
            except (OSError, websocket.WebSocketException):
                continue  # the reader reconnects; presence is not resent
            report(self.environment, "presence", length=len(json.dumps(frame)))

    def on_stop(self):
        deadline = time.monotonic() + self.environment.parsed_options.moa_settle_seconds
        while self.pending and time.monotonic() < deadline:
            gevent.sleep(0.1)
        self.stopping = True
        self.presence.kill()
        for op_id, (_, started) in self.pending.items():
            report(self.environment, "op lost", started, error=f"op {op_id} never acknowledged")
        self.pending.clear()
        if self.ws is not None:
            self.ws.close()
