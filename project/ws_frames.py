"""JSON text frames in, JSON text frames out, with bad input answered, never fatal.

A malformed, binary or oversized frame gets an `error` frame and the connection stays
open: one bad client message must not close a socket (or crash its consumer).

Frames are bounded both ways. In: Moa reads frames up to MAX_FRAME_BYTES; the server
refuses frames past READ_LIMIT_BYTES from their header, before buffering them
(project/web_server.py). Out: every frame Moa builds for a map stays within
MAX_SEND_BYTES, whatever the map holds (collab/framing.py cuts what could grow), far
under the server's message limit, past which autobahn would close the socket (1011).
"""

from __future__ import annotations

import json
import logging
import struct
from collections.abc import Iterable

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer

from project import metrics

logger = logging.getLogger(__name__)

WS_CONNECTIONS = metrics.gauge("moa_ws_connections", "WebSockets open (accepted, not yet "
                               "closed) on this process, by endpoint", ("endpoint",))
SLOW_READERS_CLOSED = metrics.counter(
    "moa_ws_slow_readers_closed_total", "WebSockets closed (1013) because the frames "
    "queued for them passed COLLAB_UNSENT_MAX_BYTES: the client reads slower than its map "
    "changes", ("endpoint",))
WS_DISCONNECTS = metrics.counter(
    "moa_ws_disconnects_total", "Accepted WebSockets that ended, by endpoint and close code "
    "(the server's when it closed, else the client's or the transport's; 'none' without one)",
    ("endpoint", "code"))

MAX_FRAME_BYTES = 64 * 1024  # the largest frame a client may send
# Frames between MAX_FRAME_BYTES and this are read and answered `too_large`; larger
# ones are refused by the server from their header (close 1009), never buffered.
READ_LIMIT_BYTES = 2 * MAX_FRAME_BYTES
MAX_SEND_BYTES = 256 * 1024  # the budget of every map frame Moa sends
# The largest message the server lets through either way (Daphne's
# --websocket-max-message-size, checked at start-up): a frame over it closes the socket.
MAX_MESSAGE_BYTES = 1024 * 1024
FLOW_CONTROL = "moa.flow_control"  # the server's scope extension: see send_paced
DIRECT_SEND = "moa.direct_send"  # the server's scope extension: see send_shared

# Close codes of the protocol.
CLOSE_NOT_AUTHENTICATED = 4401
CLOSE_NOT_A_MEMBER = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_SERVICE_RESTART = 1012
CLOSE_TRY_AGAIN_LATER = 1013  # a dependency (the database) is unavailable
CLOSE_TOO_LARGE = 4413  # a frame this client cannot take (an old client, a huge map)
CLOSE_TOO_MANY = 4429  # too many sockets of this user or address on this instance
# Close codes counted by name in moa_ws_disconnects_total: the standard ones a browser
# or a transport gives, and Moa's own. A client chooses its close code: any other is
# counted as "other", so no client can add series to the scrape.
COUNTED_CLOSE_CODES = frozenset({
    1000, 1001, 1002, 1003, 1005, 1006, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1015,
    CLOSE_NOT_AUTHENTICATED, CLOSE_NOT_A_MEMBER, CLOSE_NOT_FOUND, CLOSE_TOO_LARGE,
    CLOSE_TOO_MANY})


def close_code_label(code: object) -> str:
    """A close code as moa_ws_disconnects_total names it (bounded: see above)."""
    if code is None:
        return "none"
    return str(code) if code in COUNTED_CLOSE_CODES else "other"


class Raw(str):
    """JSON text already encoded, spliced into a frame by `encode` as it is."""


def encode(content: dict) -> str:
    """Compact JSON, UTF-8 as it is (`ensure_ascii=False`: a frame is UTF-8 text anyway,
    and \\u escapes would take an emoji from 4 bytes to 12). Top-level `Raw` values go
    in verbatim, so a frame reuses parts encoded once for many sockets; without them
    the text is exactly `json.dumps` of `content`."""
    if not any(isinstance(value, Raw) for value in content.values()):
        return _dumps(content)
    return "{" + ",".join(
        f"{_dumps(key)}:{value if isinstance(value, Raw) else _dumps(value)}"
        for key, value in content.items()) + "}"


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def utf8_size(text: str) -> int:
    """The bytes `text` takes on the wire (an ASCII text is not copied to count them)."""
    return len(text) if text.isascii() else len(text.encode())


class SharedFrame:
    """A text frame many sockets get (the hub's fan-out): its text, and its bytes on the
    wire (an unmasked server frame: header and UTF-8 payload, the same for every
    socket without compression), made once, when first needed."""

    __slots__ = ("_payload", "_wire", "text")

    def __init__(self, text: str):
        self.text = text
        self._payload: bytes | None = None
        self._wire: bytes | None = None

    @property
    def payload(self) -> bytes:
        if self._payload is None:
            self._payload = self.text.encode()
        return self._payload

    @property
    def wire(self) -> bytes:
        if self._wire is None:
            self._wire = text_frame_header(len(self.payload)) + self.payload
        return self._wire


def text_frame_header(length: int) -> bytes:
    """RFC 6455's header of an unfragmented, unmasked text frame of `length` bytes."""
    if length <= 125:
        return bytes((0x81, length))
    if length <= 0xFFFF:
        return struct.pack("!BBH", 0x81, 126, length)
    return struct.pack("!BBQ", 0x81, 127, length)


class JsonFrameConsumer(AsyncWebsocketConsumer):
    """Subclasses implement `receive_frame(content)` for well-formed object frames, and
    name their `endpoint` (the label of moa_ws_connections)."""

    endpoint = "other"
    counted = False  # in moa_ws_connections from its accept until the consumer ends
    close_code: int | None = None  # the server's close code, else the peer's
    max_frame_bytes = MAX_FRAME_BYTES
    # No channel-layer channel per socket: Moa fans out per process (collab.hub), and
    # a receive loop per socket is exactly the per-socket cost that design avoids.
    channel_layer_alias = None

    async def __call__(self, scope, receive, send):
        try:
            if self.channel_layer_alias is None:
                await self._serve(scope, receive, send)
            else:  # a channel-layer channel of its own to listen to as well (/ws/jobs/)
                await super().__call__(scope, receive, send)
        finally:  # however the consumer ends: a disconnect, a close, an error
            if self.counted:
                WS_CONNECTIONS.labels(self.endpoint).dec()
                WS_DISCONNECTS.labels(self.endpoint, close_code_label(self.close_code)).inc()

    async def _serve(self, scope, receive, send) -> None:
        """Channels' consumer loop for a socket with nothing else to listen to: `receive`
        awaited directly. Channels' await_many_dispatch made a task and an asyncio.wait
        per message, and held both for every idle socket."""
        self.scope, self.channel_layer, self.base_send = scope, None, send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass

    async def dispatch(self, message):
        """Channels' dispatch without its thread hop per message (aclose_old_connections):
        Moa's consumers reach the database only through database_sync_to_async, which
        closes old connections around each call, so the hop only cost a thread handoff
        per frame (a third of a reconnect storm's CPU, a tenth of the web process's under
        ops)."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def websocket_disconnect(self, message):
        if self.close_code is None:
            self.close_code = message.get("code")
        await super().websocket_disconnect(message)

    async def close(self, code=None, reason=None):
        if self.close_code is None:
            self.close_code = code if code not in (None, True) else 1000
        await super().close(code, reason)

    async def accept(self, subprotocol=None, headers=None):
        await super().accept(subprotocol, headers)
        if not self.counted:
            self.counted = True
            WS_CONNECTIONS.labels(self.endpoint).inc()

    async def accept_user(self):
        """Accept, then close 4401 unless someone is authenticated; the user or None.

        Accepting first lets the close code reach the client (a refusal before
        accepting is only an HTTP 403 to a browser)."""
        await self.accept()
        user = self.scope["user"]
        if not user.is_authenticated:
            await self.close(code=CLOSE_NOT_AUTHENTICATED)
            return None
        return user

    async def receive(self, text_data=None, bytes_data=None):
        if text_data is None:
            await self.send_error("malformed", "Frames must be JSON text, not binary.")
            return
        if len(text_data) > self.max_frame_bytes or (
            len(text_data) * 4 > self.max_frame_bytes
            and len(text_data.encode()) > self.max_frame_bytes
        ):
            await self.frame_too_large(text_data)
            return
        try:
            content = json.loads(text_data)
        except ValueError as error:
            await self.send_error("malformed", f"Frame is not valid JSON: {error}")
            return
        except RecursionError:  # nested deeper than the parser goes
            await self.send_error("malformed", "Frame is nested too deeply.")
            return
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            await self.send_error("malformed", 'A frame is a JSON object with a "type".')
            return
        await self.receive_frame(content)

    async def receive_frame(self, content: dict) -> None:
        raise NotImplementedError

    async def frame_too_large(self, text_data: str) -> None:
        await self.send_error(
            "too_large", f"Frames are limited to {self.max_frame_bytes} bytes."
        )

    async def send_frame(self, content: dict) -> None:
        await self.send(text_data=encode(content))

    async def send_paced(self, texts: Iterable[str]) -> None:
        """Send frames one after the other, each once the client has taken the one
        before (the server's flow control: its send buffer drained), so a big reply to a
        slow or silent reader waits in the generator, not in memory; without the server
        extension (tests' in-process client), all at once."""
        flow = (self.scope.get("extensions") or {}).get(FLOW_CONTROL)
        for text in texts:
            await self.send(text_data=text)
            if flow is not None:
                await flow["drained"]()

    async def send_shared(self, frame: SharedFrame) -> None:
        """Send a frame many sockets get. The server's `moa.direct_send` extension
        writes its prepared bytes straight to the socket, behind whatever this consumer
        sent before (project/web_server_parts.py: DirectSend), and refuses once more
        than COLLAB_UNSENT_MAX_BYTES wait unsent: the client reads slower than its map
        changes and is closed with 1013 (it reconnects and catches up from its seq), so
        a slow reader cannot hold unbounded memory. Without the extension (tests'
        in-process client), it is sent as any other frame."""
        direct = (self.scope.get("extensions") or {}).get(DIRECT_SEND)
        if direct is None:
            await self.send(text_data=frame.text)
        elif not direct["send"](frame):
            SLOW_READERS_CLOSED.labels(self.endpoint).inc()
            logger.info("websocket: closing a slow reader (more than "
                        "COLLAB_UNSENT_MAX_BYTES unsent)")
            await self.close(code=CLOSE_TRY_AGAIN_LATER)

    async def send_error(self, code: str, detail: str) -> None:
        logger.info("websocket %s: %s", code, detail)
        await self.send_frame({"type": "error", "code": code, "detail": detail})
