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
import json
import logging
import random
import signal
import sys
import time
from functools import partial

# isort: off
from daphne.cli import CommandLineInterface  # first: it installs Twisted's asyncio reactor
from daphne import http_protocol, utils, ws_protocol
# isort: on
from autobahn.websocket import protocol as autobahn_protocol
from daphne.http_protocol import WebRequest
from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol
from twisted.internet import defer, reactor

from project import metrics
from project.url_secrets import redact
from project.web_server_parts import (
    DirectSend,
    LazyPformat,
    MessageQueue,
    SendFlow,
    UnparsedFormRequest,
    WebSocketLimitError,
    WebSocketTimeoutError,
    check_websocket_limits,
    check_websocket_timeout,
    from_trusted_proxies,
    with_backlog,
)
from project.ws_frames import (
    CLOSE_TRY_AGAIN_LATER,
    DIRECT_SEND,
    FLOW_CONTROL,
    MAX_MESSAGE_BYTES,
    READ_LIMIT_BYTES,
)

logger = logging.getLogger("moa.web_server")

CLOSE_SERVICE_RESTART = 1012
# Standard close codes a server sends that autobahn's sendClose refuses: 1012 (a drain)
# and 1013 (try again later: the database is unreachable, a reader too slow).
SERVER_CLOSE_CODES = frozenset({CLOSE_SERVICE_RESTART, CLOSE_TRY_AGAIN_LATER})
RECONNECT_AFTER_MS_MAX = 1000  # on top of the server's own spreading of the closes
# Connections waiting for accept (as gunicorn's and uvicorn's default; the kernel caps
# it at net.core.somaxconn, 4096 on current Linux).
LISTEN_BACKLOG = 2048

DRAINING = metrics.gauge("moa_draining", "1 from SIGTERM on: the instance is draining "
                         "(readiness answers 503)")
SENT_AWAY = metrics.counter("moa_ws_closed_for_restart_total", "WebSockets told to "
                            "reconnect elsewhere and closed with 1012 by a drain")


class DrainingServer(Server):
    """Daphne's Server with SIGTERM turned into the drain described above, and proxy
    headers believed from TRUSTED_PROXIES only."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from django.conf import settings  # the application (and Django) is loaded by now

        # Daphne's factory builds the module's WebRequest; this process is a web server
        # and nothing else, so replacing it there is the whole change.
        http_protocol.WebRequest = UnparsedFormRequest
        autobahn_protocol.pformat = LazyPformat  # its debug line, formatted if shown
        if self.proxy_forwarded_address_header:
            # Both protocols call the parser they imported (as above, for this process).
            trusted = from_trusted_proxies(utils.parse_x_forwarded_for,
                                           settings.TRUSTED_PROXIES)
            http_protocol.parse_x_forwarded_for = trusted
            ws_protocol.parse_x_forwarded_for = trusted
        check_websocket_timeout(self.websocket_timeout, settings.CHANNEL_LAYER_GROUP_EXPIRY)
        self.endpoints = [with_backlog(endpoint, LISTEN_BACKLOG) for endpoint in self.endpoints]
        check_websocket_limits(self.websocket_max_message_size,
                               self.websocket_max_frame_size)
        self.max_unsent = settings.COLLAB_UNSENT_MAX_BYTES
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
        DRAINING.set(1)
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
        SENT_AWAY.inc()

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
        """Every WebSocket's scope gets the `moa.flow_control` and `moa.direct_send`
        extensions, and its messages a MessageQueue (Daphne's own steps otherwise, as
        Server's)."""
        if not isinstance(protocol, WebSocketProtocol):
            return super().create_application(protocol, scope)
        extensions = {**scope.get("extensions", {}),
                      DIRECT_SEND: {"send": DirectSend(protocol, self.max_unsent)}}
        flow = SendFlow.install(protocol.transport)
        if flow is not None:
            extensions[FLOW_CONTROL] = {"drained": flow.drained}
        scope["extensions"] = extensions  # the scope is this connection's own
        if protocol not in self.connections:
            return None
        messages = MessageQueue()
        scope.setdefault("asgi", {"version": "3.0"})
        self.connections[protocol]["application_instance"] = asyncio.ensure_future(
            self.application(scope=scope, receive=messages.get,
                             send=partial(self.handle_reply, protocol)))
        return messages

    def log_action(self, protocol, action, details):
        """Daphne's access lines go straight to stdout, past logging's filters: hide URL
        secrets (project/url_secrets.py) here."""
        if isinstance(details.get("path"), str):
            details = {**details, "path": redact(details["path"])}
        super().log_action(protocol, action, details)

    async def handle_reply(self, protocol, message):
        if (message["type"] == "websocket.close" and isinstance(protocol, WebSocketProtocol)
                and message.get("code") in SERVER_CLOSE_CODES
                and protocol.state == WebSocketProtocol.STATE_OPEN):
            # autobahn's sendClose refuses them (1000 or 3000-4999 only) and would
            # raise into the consumer; sendCloseFrame is the frame it would have sent.
            protocol.sendCloseFrame(code=message["code"])
            return
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


HANDSHAKE_SECONDS = 15


class MoaCommandLine(CommandLineInterface):
    description = "Moa's web role: Daphne with a graceful drain on SIGTERM"
    server_class = DrainingServer

    def __init__(self):
        super().__init__()
        # A reconnect storm queues handshakes for the CPU: refused after Daphne's 5 s,
        # a socket's work so far is wasted and its client comes back for more
        # (docs/deployment.md, "Sizing DRAIN_JITTER_SECONDS"); 15 s lets one process
        # welcome about 9,000 of them in turn (600/s, bench/results/connect.md).
        self.parser.set_defaults(websocket_max_frame_size=READ_LIMIT_BYTES,
                                 websocket_max_message_size=MAX_MESSAGE_BYTES,
                                 websocket_connect_timeout=HANDSHAKE_SECONDS)


def main(argv: list[str] | None = None) -> int:
    try:
        MoaCommandLine().run(sys.argv[1:] if argv is None else argv)
    except (WebSocketTimeoutError, WebSocketLimitError) as error:
        logger.critical("moa web_server cannot start: %s", error)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
