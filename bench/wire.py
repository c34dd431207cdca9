"""A lean WebSocket client for the load generator (RFC 6455, no extensions).

The `websockets` client spends tens of microseconds of Python per received frame; at
100,000 deliveries a second that alone fills the two cores the servers need. Frames
from a server are unmasked, so reading one is a header parse and a slice: this client
does just that on asyncio's Protocol callbacks, masks what it sends with websockets'
C `apply_mask`, answers pings, and negotiates no compression (Daphne accepts none,
so every server of the benchmark is measured without it).
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import Callable
from urllib.parse import urlsplit

from websockets.speedups import apply_mask

TEXT, BINARY, CLOSE, PING, PONG = 1, 2, 8, 9, 10


class Socket(asyncio.Protocol):
    """One client connection; every message (str for text, bytes for binary) goes to
    `on_message`."""

    def __init__(self, on_message: Callable[[str | bytes], None]):
        self.on_message = on_message
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.opened = asyncio.get_running_loop().create_future()
        self.closed = asyncio.get_running_loop().create_future()
        self.fragments: list[bytes] = []
        self.fragment_opcode = 0

    def connection_made(self, transport) -> None:
        self.transport = transport

    def connection_lost(self, exc) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed during the handshake"))
        if not self.closed.done():
            self.closed.set_result(exc)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.opened.done():
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(self.buffer[:end]).split(b"\r\n", 1)[0]
            del self.buffer[:end + 4]
            if b" 101 " not in status + b" ":
                self.opened.set_exception(ConnectionError(status.decode(errors="replace")))
                self.transport.close()
                return
            self.opened.set_result(None)
        self._read_frames()

    def _read_frames(self) -> None:
        buf, pos, size = self.buffer, 0, len(self.buffer)
        while size - pos >= 2:
            first, length = buf[pos], buf[pos + 1] & 0x7F
            head = 2
            if length == 126:
                if size - pos < 4:
                    break
                length, head = int.from_bytes(buf[pos + 2:pos + 4], "big"), 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, head = int.from_bytes(buf[pos + 2:pos + 10], "big"), 10
            end = pos + head + length
            if end > size:
                break
            self._frame(first, buf[pos + head:end])
            pos = end
        del buf[:pos]

    def _frame(self, first: int, payload: bytearray) -> None:
        opcode, fin = first & 0x0F, first & 0x80
        if opcode == TEXT and fin:  # the common case first
            self.on_message(payload.decode())
        elif opcode in (TEXT, BINARY, 0):
            if not fin:  # a fragment: keep it until the final one
                if opcode:
                    self.fragment_opcode = opcode
                self.fragments.append(bytes(payload))
                return
            if opcode == 0:
                opcode = self.fragment_opcode
                payload = b"".join([*self.fragments, payload])
                self.fragments = []
            self.on_message(payload.decode() if opcode == TEXT else bytes(payload))
        elif opcode == PING:
            self._write(PONG, bytes(payload))
        elif opcode == CLOSE:
            self._write(CLOSE, bytes(payload[:2]))
            self.transport.close()

    def _write(self, opcode: int, payload: bytes) -> None:
        if self.transport.is_closing():
            return
        mask = os.urandom(4)
        length = len(payload)
        if length < 126:
            header = bytes((0x80 | opcode, 0x80 | length))
        elif length < 65536:
            header = bytes((0x80 | opcode, 0x80 | 126)) + length.to_bytes(2, "big")
        else:
            header = bytes((0x80 | opcode, 0x80 | 127)) + length.to_bytes(8, "big")
        self.transport.write(header + mask + apply_mask(payload, mask))

    def send(self, message: str | bytes) -> None:
        if isinstance(message, str):
            self._write(TEXT, message.encode())
        else:
            self._write(BINARY, message)

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self._write(CLOSE, (1000).to_bytes(2, "big"))
            self.transport.close()


async def connect(url: str, on_message: Callable[[str | bytes], None],
                  timeout: float = 60) -> Socket:
    """Open `url` (ws://host:port/path?query) and finish the upgrade."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    loop = asyncio.get_running_loop()
    _, socket = await asyncio.wait_for(loop.create_connection(
        lambda: Socket(on_message), parts.hostname, parts.port), timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    socket.transport.write((f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                            ).encode())
    await asyncio.wait_for(socket.opened, timeout)
    return socket
