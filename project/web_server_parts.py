"""The pieces of Daphne the web server (project/web_server.py) checks or replaces: its
WebSocket limits and timeout checked against Moa's frames and the channel layer, its
proxy-header parser believed only for trusted proxies, its request without Twisted's
form parsing, a socket's send buffer as the application's flow control, and
autobahn's per-connection debug formatting made lazy.

Imported by project/web_server.py only, after daphne.cli has installed Twisted's
asyncio reactor.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections import deque
from pprint import pformat

from daphne.http_protocol import WebRequest
from twisted.internet import abstract, tcp
from twisted.internet.interfaces import IPushProducer
from twisted.web.http import HTTPChannel
from zope.interface import implementer

from project.ws_frames import MAX_FRAME_BYTES, MAX_MESSAGE_BYTES, READ_LIMIT_BYTES

logger = logging.getLogger("moa.web_server")


class WebSocketTimeoutError(Exception):
    """A --websocket_timeout channels-redis would outlive its group memberships."""


class WebSocketLimitError(Exception):
    """WebSocket size limits that would break Moa's frames or leave reads unbounded."""


def check_websocket_limits(max_message: int, max_frame: int) -> None:
    problems = []
    if max_message == 0 or max_message < MAX_MESSAGE_BYTES:
        problems.append(f"--websocket-max-message-size {max_message} must be at least "
                        f"{MAX_MESSAGE_BYTES}: it bounds the frames Moa sends as well "
                        f"(a larger one closes the socket)")
    if max_frame == 0 or max_frame <= MAX_FRAME_BYTES:
        problems.append(f"--websocket-max-frame-size {max_frame} must be over "
                        f"{MAX_FRAME_BYTES} (frames up to it are answered too_large) and "
                        f"not 0 (unbounded reads); Moa's default is {READ_LIMIT_BYTES}")
    if problems:
        raise WebSocketLimitError("; ".join(problems))


def with_backlog(endpoint: str, backlog: int) -> str:
    """A Twisted endpoint description with a listen backlog of `backlog` (Twisted's own
    is 50): the connections of a reconnect storm that the loop has not accepted yet wait
    in it, where past it their SYNs are dropped and the clients retry after 1, 3, 7,
    15, 31 s (measured: 2,000 at once took a minute). An explicit backlog, and an
    inherited socket (`fd:`), are left as they are."""
    kind = endpoint.split(":", 1)[0]
    if kind not in ("tcp", "tcp6", "ssl", "unix") or ":backlog=" in endpoint:
        return endpoint
    return f"{endpoint}:backlog={backlog}"


def check_websocket_timeout(websocket_timeout: int, group_expiry: int) -> None:
    """A socket open longer than the channel layer's group_expiry silently stops
    receiving group messages; Daphne must close it first."""
    if websocket_timeout < 0 or websocket_timeout > group_expiry:
        raise WebSocketTimeoutError(
            f"--websocket_timeout {websocket_timeout} must be between 0 and the channel "
            f"layer's group_expiry ({group_expiry} s): a longer-lived socket stops "
            f"receiving group messages without notice")


def from_trusted_proxies(parse, networks):
    """Daphne's X-Forwarded-* parser, believed only for a peer in `networks` (nginx,
    the ALB). With plain --proxy-headers Daphne believes whoever connects: a client
    reaching the instance directly could choose its address, and so escape its
    per-address rate limits. A peer without an address (a Unix socket) is local."""
    def parse_if_trusted(headers, address_header_name, port_header_name, proto_header_name,
                         original_addr=None, original_scheme=None):
        if original_addr:
            try:
                peer = ipaddress.ip_address(original_addr[0])
            except ValueError:
                return original_addr, original_scheme
            if peer.version == 6 and peer.ipv4_mapped:
                peer = peer.ipv4_mapped
            if not any(peer in network for network in networks):
                return original_addr, original_scheme
        return parse(headers, address_header_name, port_header_name, proto_header_name,
                     original_addr, original_scheme)
    return parse_if_trusted


class LazyPformat:
    """pformat(value), made only when the text is wanted. autobahn pretty-prints each
    new connection's thirty-odd options for a debug line Moa never shows: 15% of a
    reconnect storm's CPU (bench/results/connect.md)."""

    __slots__ = ("value",)

    def __init__(self, value: object):
        self.value = value

    def __str__(self) -> str:
        return pformat(self.value)


class MessageQueue:
    """A socket's messages for its application, in order: asyncio.Queue's put_nowait
    and get for one reader (Channels' receive loop) without its four deques, 2.5 KB
    that every idle socket held for the few messages it gets."""

    __slots__ = ("items", "waiter")

    def __init__(self):
        self.items: deque | None = None
        self.waiter: asyncio.Future | None = None

    def put_nowait(self, message: dict) -> None:
        if self.items is None:
            self.items = deque()
        self.items.append(message)
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def get(self) -> dict:
        while not self.items:
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        message = self.items.popleft()
        if not self.items:
            self.items = None  # an idle socket keeps no deque
        return message


class UnparsedFormRequest(WebRequest):
    """Daphne's request without Twisted's own parsing of a POSTed form. Twisted reads a
    multipart or urlencoded body into memory and parses it into `args` before Daphne
    hands the body to Moa, which parses it again and never reads `args`: a 10 MB
    multipart POST cost the web process about 130 MB, to any URL."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._parsePOSTFormSubmission = False


@implementer(IPushProducer)
class SendFlow:
    """A socket's send buffer as Twisted reports it to a streaming producer: paused
    while over its 64 KiB, resumed once written out to the kernel, stopped (never
    waited for again) when the connection is gone. It stands in for the producer the
    transport had, which it still tells everything, unless that is the HTTP channel
    the socket was upgraded from: its request never finishes, so Twisted's channel
    neither pauses its transport nor has a request producer to tell (its pause and
    resume do nothing), and holding it kept the whole HTTP request alive with every
    socket (its headers, body buffer and channel: ~3 KB, bench/results/connect.md)."""

    __slots__ = ("paused", "previous")

    def __init__(self, previous: IPushProducer | None):
        self.previous = previous
        # While paused, the future its waiters wait for (made only then: an idle
        # socket holds no Event and its deque of waiters).
        self.paused: asyncio.Future | None = None

    def pauseProducing(self) -> None:
        if self.paused is None:
            self.paused = asyncio.get_event_loop().create_future()
        if self.previous is not None:
            self.previous.pauseProducing()

    def _resume(self) -> None:
        if self.paused is not None and not self.paused.done():
            self.paused.set_result(None)
        self.paused = None

    def resumeProducing(self) -> None:
        self._resume()
        if self.previous is not None:
            self.previous.resumeProducing()

    def stopProducing(self) -> None:
        self._resume()
        if self.previous is not None:
            self.previous.stopProducing()

    async def drained(self) -> None:
        if self.paused is not None:
            await asyncio.shield(self.paused)  # a cancelled waiter leaves the others'

    @classmethod
    def install(cls, transport) -> SendFlow | None:
        """Register on `transport` in place of its producer; None (logged) when the
        transport does not take one (then the application sends without waiting)."""
        previous = getattr(transport, "producer", None)
        try:
            if previous is not None:
                transport.unregisterProducer()
            flow = cls(None if isinstance(previous, HTTPChannel) else previous)
            transport.registerProducer(flow, True)
        except (AttributeError, RuntimeError):
            logger.warning("no flow control on %s", type(transport).__name__, exc_info=True)
            return None
        return flow


class DirectSend:
    """The hub's frames written straight to a socket (the `moa.direct_send` extension):
    the bytes prepared once for every socket (ws_frames.SharedFrame), past Daphne's
    ASGI dispatch and autobahn's per-message path (its assertions, statistics and debug
    log arguments, made on every send). When nothing waits in the transport's buffer
    the bytes go to the kernel at once, as asyncio's transports do, instead of Twisted
    registering the socket for writing, waiting a loop turn and unregistering it: that
    pair of epoll calls per frame was a quarter of the event loop's CPU at 500 clients
    (bench/results/fanout-delivery.md). Otherwise they queue behind what is there, so a frame never
    overtakes the consumer's own earlier ones.

    What this path does not handle (compression, fragmentation, a message over the
    limit, autobahn's own queue, TLS, a transport of another kind) goes through
    autobahn's sendMessage as every other frame does.

    A client that reads slower than its map changes would hold ever more memory here:
    once more than `max_unsent` bytes wait for it, a send answers False and the
    consumer closes the socket (ws_frames.JsonFrameConsumer.send_shared)."""

    def __init__(self, protocol, max_unsent: int):
        self.protocol = protocol
        self.max_unsent = max_unsent
        self.transport = protocol.transport
        self.plain = isinstance(self.transport, tcp.Connection) and not self.transport.TLS
        self.buffered = isinstance(self.transport, abstract.FileDescriptor)

    def __call__(self, frame) -> bool:
        """Send `frame` unless the socket is closing; False when too much waits unsent."""
        protocol, transport = self.protocol, self.transport
        if protocol.state != protocol.STATE_OPEN:
            return True  # closing: the client catches up from its seq when it reconnects
        if not self.plain or protocol.send_queue or protocol._perMessageCompress is not None \
                or 0 < protocol.autoFragmentSize < len(frame.payload) \
                or 0 < protocol.maxMessagePayloadSize < len(frame.payload):
            protocol.sendMessage(frame.payload)
        elif transport.dataBuffer or transport._tempDataLen or not transport.connected:
            transport.write(frame.wire)  # behind what waits (Twisted drops it once closed)
        else:
            wire = frame.wire
            sent = transport.writeSomeData(wire)
            if not isinstance(sent, int):
                sent = 0  # the connection is lost: Twisted's own write finds out
            if sent < len(wire):
                transport.write(wire[sent:])
        return not self.buffered or unsent_bytes(transport) <= self.max_unsent


def unsent_bytes(transport: abstract.FileDescriptor) -> int:
    """What waits in a Twisted transport's buffer for the kernel to take it."""
    return len(transport.dataBuffer) - transport.offset + transport._tempDataLen
