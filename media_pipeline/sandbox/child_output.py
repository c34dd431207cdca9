"""Reading a child's pipes without trusting them: every line has a length cap and
every pipe a byte budget, so a child that floods (300 MB of stdout, one endless
line) costs the worker a bounded buffer and a bounded amount of reading, then the
child is stopped. Plain file descriptors; the caller decides what a line means.
"""

from __future__ import annotations

import os
from collections.abc import Callable

READ_BYTES = 64 * 1024


class Flooded(Exception):
    """The child wrote past a cap; the message says which, for a person."""


class Lines:
    """Splits the bytes of one pipe into lines. `feed` raises Flooded once the pipe
    has carried more than `max_bytes`, or a line is longer than `max_line`."""

    def __init__(self, name: str, *, max_line: int, max_bytes: int):
        self.name, self.max_line, self.max_bytes = name, max_line, max_bytes
        self.total = 0
        self.partial = b""

    def feed(self, data: bytes) -> list[bytes]:
        self.total += len(data)
        if self.total > self.max_bytes:
            raise Flooded(f"wrote more than {self.max_bytes} bytes to its {self.name}")
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        if len(self.partial) > self.max_line or any(len(line) > self.max_line
                                                     for line in lines):
            raise Flooded(f"wrote a line over {self.max_line} bytes to its {self.name}")
        return lines

    def rest(self) -> list[bytes]:
        """What is left once the pipe is closed: a last line without a newline."""
        rest, self.partial = self.partial, b""
        return [rest] if rest else []


def read_lines(fd: int, lines: Lines, on_line: Callable[[bytes], None]) -> None:
    """Read `fd` to its end, calling `on_line` for each line (Flooded past a cap).
    For a reader thread: it blocks on the pipe."""
    while True:
        data = os.read(fd, READ_BYTES)
        if not data:
            break
        for line in lines.feed(data):
            on_line(line)
    for line in lines.rest():
        on_line(line)
