"""The web server's light per-socket parts: what each idle socket holds, kept small,
and still doing what asyncio's Queue and Event did for it."""

import asyncio
import subprocess
import sys
from pathlib import Path
from pprint import pformat

import pytest


@pytest.fixture
def parts():
    from project import web_server_parts  # imports Daphne: only in these tests

    return web_server_parts


async def test_a_message_queue_hands_messages_over_in_order(parts):
    messages = parts.MessageQueue()
    messages.put_nowait({"n": 1})
    messages.put_nowait({"n": 2})
    assert [await messages.get(), await messages.get()] == [{"n": 1}, {"n": 2}]
    assert messages.items is None  # drained: no deque kept
    waiting = asyncio.ensure_future(messages.get())
    await asyncio.sleep(0)
    assert not waiting.done()
    messages.put_nowait({"n": 3})
    messages.put_nowait({"n": 4})
    assert await asyncio.wait_for(waiting, 1) == {"n": 3}
    assert await messages.get() == {"n": 4}


async def test_send_flow_waits_while_paused_and_a_cancelled_waiter_leaves_the_others(parts):
    flow = parts.SendFlow(None)
    await asyncio.wait_for(flow.drained(), 1)  # not paused: at once
    flow.pauseProducing()
    first, second = (asyncio.ensure_future(flow.drained()) for _ in range(2))
    await asyncio.sleep(0.01)
    assert not first.done() and not second.done()
    first.cancel()
    await asyncio.sleep(0)
    flow.resumeProducing()
    await asyncio.wait_for(second, 1)
    flow.pauseProducing()
    stopped = asyncio.ensure_future(flow.drained())
    flow.stopProducing()
    await asyncio.wait_for(stopped, 1)


def test_lazy_pformat_is_pformat_when_shown(parts):
    options = [("autoPingInterval", 20, "WebSocketFactory")] * 3
    assert f"{parts.LazyPformat(options)}" == pformat(options)



def test_a_storm_s_handshakes_wait_longer_than_daphne_s_five_seconds():
    """A socket queued behind a reconnect storm is welcomed, not refused at 5 s with its
    work wasted (docs/deployment.md, "Sizing DRAIN_JITTER_SECONDS"). In a child process:
    the web server's module installs Twisted's reactor."""
    probe = ("from project.web_server import MoaCommandLine as C; "
             "app = 'project.asgi:application'; "
             "print(C().parser.parse_args([app]).websocket_connect_timeout, "
             "C().parser.parse_args(['--websocket_connect_timeout', '7', app])"
             ".websocket_connect_timeout)")
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                           check=True, cwd=Path(__file__).resolve().parents[2])
    default, explicit = map(int, found.stdout.split())
    assert default >= 15
    assert explicit == 7


@pytest.mark.parametrize(("endpoint", "expected"), [
    ("tcp:port=8000:interface=0.0.0.0", "tcp:port=8000:interface=0.0.0.0:backlog=2048"),
    ("unix:/run/moa.sock", "unix:/run/moa.sock:backlog=2048"),
    ("ssl:443:privateKey=k.pem", "ssl:443:privateKey=k.pem:backlog=2048"),
    ("tcp:port=8000:backlog=100", "tcp:port=8000:backlog=100"),  # the operator's own
    ("fd:fileno=3", "fd:fileno=3"),  # already listening, with its creator's backlog
])
def test_listening_sockets_queue_a_storm_s_connections(parts, endpoint, expected):
    assert parts.with_backlog(endpoint, 2048) == expected


class Transport:
    def __init__(self, producer):
        self.producer = producer

    def unregisterProducer(self):
        self.producer = None

    def registerProducer(self, producer, streaming):
        assert streaming
        self.producer = producer


async def test_send_flow_lets_the_upgraded_http_request_go(parts):
    """The HTTP channel a socket was upgraded from is not kept (its request, headers and
    body buffer with it, per idle socket); another producer is still told everything."""
    from twisted.web.http import HTTPChannel

    upgraded = Transport(HTTPChannel())
    flow = parts.SendFlow.install(upgraded)
    assert upgraded.producer is flow and flow.previous is None

    class Producer:
        calls: list = []

        def pauseProducing(self):
            self.calls.append("pause")

        def resumeProducing(self):
            self.calls.append("resume")

    other = Transport(Producer())
    flow = parts.SendFlow.install(other)
    flow.pauseProducing()
    flow.resumeProducing()
    assert Producer.calls == ["pause", "resume"]
