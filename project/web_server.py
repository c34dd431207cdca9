"""The web role's server: Daphne with the graceful drain it does not have.

On SIGTERM Daphne drops every connection at once, without a close frame (daphne
issue #177), and autobahn's `sendClose` refuses code 1012. This server turns SIGTERM
into a drain instead:

1. `/health/ready/` answers 503 `draining` at once, so health checks take the
   instance out; HTTP responses carry `Connection: close`, so proxies stop reusing
   connections to it.
2. HTTP and WebSockets keep being served for DRAIN_SECONDS (the load balancer
   deregisters the instance meanwhile).
3. The listening sockets close: a proxy's next connection attempt is refused and
   goes to another instance (nginx: `proxy_next_upstream error`).
4. Each WebSocket gets `{"type": "reconnect", "after_ms": N}` and close 1012 at a
   random moment of a DRAIN_JITTER_SECONDS window, so clients do not all come back in
   the same second.
5. HTTP requests still in flight finish (for at most another DRAIN_SECONDS); exit.

A second SIGTERM, or SIGINT, stops at once.

It also bounds WebSocket frames deliberately: incoming frames past
ws_frames.READ_LIMIT_BYTES are refused from their header, before autobahn buffers
them (Daphne's default is 1 MiB), and the message limit (which autobahn applies to
outgoing frames too) must leave room for every frame Moa sends. And it gives the
application flow control (the `moa.flow_control` scope extension): a consumer can wait
until a socket's send buffer has drained, so a big reply goes out as fast as the
client reads it instead of piling up in memory.

    python -m project.web_server [daphne options] project.asgi:application
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import random
import signal
import sys
import time

# isort: off
from daphne.cli import CommandLineInterface  # first: it installs Twisted's asyncio reactor
from daphne import http_protocol, utils, ws_protocol
# isort: on
from daphne.http_protocol import WebRequest
from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol
from twisted.internet import defer, reactor
from twisted.internet.interfaces import IPushProducer
from zope.interface import implementer

from project.url_secrets import redact
from project.ws_frames import FLOW_CONTROL, MAX_FRAME_BYTES, MAX_MESSAGE_BYTES, READ_LIMIT_BYTES

logger = logging.getLogger("moa.web_server")

CLOSE_SERVICE_RESTART = 1012
RECONNECT_AFTER_MS_MAX = 1000  # on top of the server's own spreading of the closes


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
    transport had (the HTTP channel the socket was upgraded from), which it still
    tells everything."""

    def __init__(self, previous: IPushProducer | None):
        self.previous = previous
        self.ready = asyncio.Event()
        self.ready.set()

    def pauseProducing(self) -> None:
        self.ready.clear()
        if self.previous is not None:
            self.previous.pauseProducing()

    def resumeProducing(self) -> None:
        self.ready.set()
        if self.previous is not None:
            self.previous.resumeProducing()

    def stopProducing(self) -> None:
        self.ready.set()
        if self.previous is not None:
            self.previous.stopProducing()

    async def drained(self) -> None:
        await self.ready.wait()

    @classmethod
    def install(cls, transport) -> SendFlow | None:
        """Register on `transport` in place of its producer; None (logged) when the
        transport does not take one (then the application sends without waiting)."""
        previous = getattr(transport, "producer", None)
        try:
            if previous is not None:
                transport.unregisterProducer()
            flow = cls(previous)
            transport.registerProducer(flow, True)
        except (AttributeError, RuntimeError):
            logger.warning("no flow control on %s", type(transport).__name__, exc_info=True)
            return None
        return flow


class DrainingServer(Server):
    """Daphne's Server with SIGTERM turned into the drain described above, and proxy
    headers believed from TRUSTED_PROXIES only."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from django.conf import settings  # the application (and Django) is loaded by now

        # Daphne's factory builds the module's WebRequest; this process is a web server
        # and nothing else, so replacing it there is the whole change.
        http_protocol.WebRequest = UnparsedFormRequest
        if self.proxy_forwarded_address_header:
            # Both protocols call the parser they imported (as above, for this process).
            trusted = from_trusted_proxies(utils.parse_x_forwarded_for,
                                           settings.TRUSTED_PROXIES)
            http_protocol.parse_x_forwarded_for = trusted
            ws_protocol.parse_x_forwarded_for = trusted
        check_websocket_timeout(self.websocket_timeout, settings.CHANNEL_LAYER_GROUP_EXPIRY)
        check_websocket_limits(self.websocket_max_message_size,
                               self.websocket_max_frame_size)
        self.drain_seconds = settings.DRAIN_SECONDS
        self.jitter_seconds = settings.DRAIN_JITTER_SECONDS
        self.ports: list = []
        self.draining: asyncio.Task | None = None
        self.sigterms = 0

    def run(self):
        if self.signal_handlers:
            reactor.callWhenRunning(self._take_over_sigterm)  # after Twisted's own handlers
        super().run()

    def listen_success(self, port):
        self.ports.append(port)
        super().listen_success(port)

    def _take_over_sigterm(self) -> None:
        signal.signal(signal.SIGTERM, self._on_sigterm)

    def _on_sigterm(self, signum, frame) -> None:
        self.sigterms += 1
        if self.sigterms == 1:
            reactor.callFromThread(self.begin_drain)
        else:
            reactor.callFromThread(self._stop_now)

    def _stop_now(self) -> None:
        logger.warning("second SIGTERM while draining: stopping now")
        self.stop()

    def begin_drain(self) -> None:
        from project import runtime

        runtime.current().begin_draining()
        logger.info("SIGTERM: draining; readiness answers 503, serving for %d s",
                    self.drain_seconds)
        self.draining = asyncio.ensure_future(self._drain())

    async def _drain(self) -> None:
        try:
            await asyncio.sleep(self.drain_seconds)
            await self._stop_listening()
            await self._send_websockets_away()
            await self._wait_for_requests(timeout=self.drain_seconds)
        except Exception:
            logger.exception("drain failed; stopping now")
        finally:
            self.stop()

    async def _stop_listening(self) -> None:
        for port in self.ports:
            await defer.maybeDeferred(port.stopListening).asFuture(asyncio.get_running_loop())
        logger.info("drain: no longer accepting connections")

    async def _send_websockets_away(self) -> None:
        """Close every WebSocket with 1012 at a random moment of the jitter window;
        sockets still upgrading meanwhile are closed as soon as they open."""
        deadline = time.monotonic() + self.jitter_seconds
        sent_away: set[WebSocketProtocol] = set()
        pending: set[asyncio.Task] = set()
        count = 0
        while True:
            remaining = deadline - time.monotonic()
            for protocol in self._websockets(WebSocketProtocol.STATE_OPEN):
                if protocol not in sent_away:
                    sent_away.add(protocol)
                    delay = random.uniform(0, max(remaining, 0))  # noqa: S311 (jitter)
                    pending.add(asyncio.ensure_future(self._send_away(protocol, delay)))
                    count += 1
            if remaining <= 0 and not self._websockets(WebSocketProtocol.STATE_CONNECTING):
                break
            await asyncio.sleep(min(0.1, max(remaining, 0.01)))
        await asyncio.gather(*pending)
        logger.info("drain: %d WebSocket(s) told to reconnect elsewhere (close 1012)", count)

    def _websockets(self, state: int) -> list[WebSocketProtocol]:
        return [protocol for protocol, details in self.connections.items()
                if isinstance(protocol, WebSocketProtocol) and protocol.state == state
                and "disconnected" not in details]

    @staticmethod
    async def _send_away(protocol: WebSocketProtocol, delay: float) -> None:
        await asyncio.sleep(delay)
        if protocol.state != WebSocketProtocol.STATE_OPEN:
            return  # it left by itself meanwhile
        after_ms = random.randint(0, RECONNECT_AFTER_MS_MAX)  # noqa: S311 (jitter)
        protocol.sendMessage(json.dumps({"type": "reconnect", "after_ms": after_ms}).encode())
        # sendClose refuses 1012; sendCloseFrame is the frame it would have sent.
        protocol.sendCloseFrame(code=CLOSE_SERVICE_RESTART, reasonUtf8=b"server restarting")

    async def _wait_for_requests(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            busy = [protocol for protocol, details in self.connections.items()
                    if "disconnected" not in details]
            if not busy:
                logger.info("drain: done")
                return
            if time.monotonic() >= deadline:
                logger.warning("drain: %d connection(s) still busy after %d s; stopping",
                               len(busy), timeout)
                return
            await asyncio.sleep(0.05)

    def create_application(self, protocol, scope):
        """Every WebSocket's scope gets the `moa.flow_control` extension."""
        flow = SendFlow.install(protocol.transport) if isinstance(
            protocol, WebSocketProtocol) else None
        if flow is not None:
            scope = {**scope, "extensions": {**scope.get("extensions", {}),
                                             FLOW_CONTROL: {"drained": flow.drained}}}
        return super().create_application(protocol, scope)

    def log_action(self, protocol, action, details):
        """Daphne's access lines go straight to stdout, past logging's filters: hide URL
        secrets (project/url_secrets.py) here."""
        if isinstance(details.get("path"), str):
            details = {**details, "path": redact(details["path"])}
        super().log_action(protocol, action, details)

    async def handle_reply(self, protocol, message):
        if self.draining is not None:
            if (isinstance(protocol, WebRequest) and protocol.channel is not None
                    and message["type"] == "http.response.start"):
                message = {**message,
                           "headers": [*message.get("headers", ()), (b"connection", b"close")]}
                protocol.channel.persistent = False
            elif (isinstance(protocol, WebSocketProtocol)
                  and message["type"] == "websocket.send"
                  and protocol.state != WebSocketProtocol.STATE_OPEN):
                return  # sent away: the client catches up from its next instance
        await super().handle_reply(protocol, message)


class MoaCommandLine(CommandLineInterface):
    description = "Moa's web role: Daphne with a graceful drain on SIGTERM"
    server_class = DrainingServer

    def __init__(self):
        super().__init__()
        self.parser.set_defaults(websocket_max_frame_size=READ_LIMIT_BYTES,
                                 websocket_max_message_size=MAX_MESSAGE_BYTES)


def main(argv: list[str] | None = None) -> int:
    try:
        MoaCommandLine().run(sys.argv[1:] if argv is None else argv)
    except (WebSocketTimeoutError, WebSocketLimitError) as error:
        logger.critical("moa web_server cannot start: %s", error)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
