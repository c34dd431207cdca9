"""The hub's frames written straight to a socket (project/web_server_parts.DirectSend),
on Twisted's own TCP transport over a real socket pair, with a reactor that only
records what it is asked: the bytes are RFC 6455's frame, they never overtake what the
transport still holds, what a slow reader leaves unsent is bounded, and a closing
socket gets nothing."""

from __future__ import annotations

import socket
from collections import deque
from types import SimpleNamespace

import pytest
import websockets.frames
from twisted.internet import tcp

from project.web_server_parts import DirectSend, unsent_bytes
from project.ws_frames import SharedFrame, text_frame_header

OPEN, CLOSING = 1, 2


class RecordingReactor:
    """What a transport asks of the reactor (Twisted's method names); nothing runs by
    itself."""

    def __init__(self):
        self.writers = []

    def addWriter(self, descriptor):
        self.writers.append(descriptor)

    def removeWriter(self, descriptor):
        self.writers.remove(descriptor)

    def addReader(self, descriptor):
        pass

    def removeReader(self, descriptor):
        pass


class WebSocketStub:
    """The parts of autobahn's protocol DirectSend reads; sendMessage records."""

    STATE_OPEN = OPEN

    def __init__(self):
        self.state = OPEN
        self.send_queue = deque()
        self._perMessageCompress = None
        self.autoFragmentSize = 0
        self.maxMessagePayloadSize = 1024 * 1024
        self.sent_by_autobahn: list[bytes] = []
        self.transport = None

    def sendMessage(self, payload):
        self.sent_by_autobahn.append(payload)

    def makeConnection(self, transport):
        self.transport = transport


@pytest.fixture
def connection():
    """(DirectSend over a Twisted transport, the peer's socket, the reactor)."""
    ours, peer = socket.socketpair()
    ours.setblocking(False)
    peer.settimeout(2)
    reactor = RecordingReactor()
    protocol = WebSocketStub()
    transport = tcp.Server(ours, protocol, ("127.0.0.1", 1), SimpleNamespace(_realPortNumber=1), 1,
                           reactor)
    protocol.transport = transport
    yield DirectSend(protocol, max_unsent=256 * 1024), peer, reactor
    ours.close()
    peer.close()


def received(peer: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        data += peer.recv(count - len(data))
    return data


@pytest.mark.parametrize("length", [0, 1, 125, 126, 65535, 65536, 300_000])
def test_the_prepared_bytes_are_the_text_frame_rfc_6455_defines(length):
    text = ("é" * length)[: length // 2] + "a" * (length - 2 * (length // 2))
    frame = SharedFrame(text)
    expected = websockets.frames.Frame(websockets.frames.OP_TEXT, text.encode()).serialize(
        mask=False, extensions=[])
    assert frame.wire == expected
    assert frame.wire[:len(text_frame_header(len(frame.payload)))] == text_frame_header(
        len(frame.payload))


def test_with_nothing_buffered_the_frame_goes_to_the_kernel_at_once(connection):
    send, peer, reactor = connection
    frame = SharedFrame('{"type":"op","seq":1}')
    assert send(frame) is True
    assert reactor.writers == []  # no epoll registration for the write
    assert received(peer, len(frame.wire)) == frame.wire


def test_a_frame_never_overtakes_what_the_transport_still_holds(connection):
    send, peer, reactor = connection
    transport = send.transport
    transport.write(b"the consumer's own welcome")  # queued: the reactor has not run
    assert reactor.writers == [transport]
    frame = SharedFrame('{"type":"op","seq":2}')
    send(frame)
    peer.setblocking(False)
    with pytest.raises(BlockingIOError):
        peer.recv(1)  # nothing went ahead of the queued bytes
    peer.setblocking(True)
    transport.doWrite()  # the reactor finds the socket writable
    assert received(peer, 26 + len(frame.wire)) == b"the consumer's own welcome" + frame.wire


def test_a_slow_reader_holds_at_most_the_bound(connection):
    send, peer, _ = connection
    frame = SharedFrame("x" * 60_000)
    answers = [send(frame) for _ in range(200)]  # 12 MB; the peer reads nothing
    first_refusal = answers.index(False)
    assert all(answers[:first_refusal])
    unsent = unsent_bytes(send.transport)
    assert 256 * 1024 < unsent <= 256 * 1024 + len(frame.wire) * (200 - first_refusal)
    # Whatever was written still arrives whole and in order once the reader reads.
    peer.setblocking(False)
    data = b""
    while True:
        try:
            data += peer.recv(1 << 20)
        except BlockingIOError:
            if not send.transport.dataBuffer and not send.transport._tempDataLen:
                break
            send.transport.doWrite()
    assert len(data) % len(frame.wire) == 0 and data[:len(frame.wire)] == frame.wire
    assert data == frame.wire * (len(data) // len(frame.wire))


def test_a_closing_socket_gets_nothing(connection):
    send, peer, _ = connection
    send.protocol.state = CLOSING
    assert send(SharedFrame("late")) is True
    peer.setblocking(False)
    with pytest.raises(BlockingIOError):
        peer.recv(1)


def test_a_compressed_or_oversized_message_goes_through_autobahn(connection):
    send, _, _ = connection
    send.protocol.maxMessagePayloadSize = 10
    send(SharedFrame("more than ten bytes"))
    send.protocol.maxMessagePayloadSize = 0
    send.protocol._perMessageCompress = object()
    send(SharedFrame("compressed"))
    assert send.protocol.sent_by_autobahn == [b"more than ten bytes", b"compressed"]


def test_autobahns_queue_keeps_its_place(connection):
    send, _, _ = connection
    send.protocol.send_queue.append((b"chopped", True))
    send(SharedFrame("after it"))
    assert send.protocol.sent_by_autobahn == [b"after it"]
