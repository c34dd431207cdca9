"""The full read of a member list, in a child process where a crash costs nothing.

calamine (python-calamine) reads a sheet 15 times faster than openpyxl, but it holds
the sheet's cells in memory and allocates its grid from the furthest cell holding a
value, without a bound. So the worker never runs it itself: it starts

    python -m media_pipeline.members.spreadsheet.sheet_child PATH --max-rows N

through the sandbox (media_pipeline/sandbox/: address-space and CPU limits, no
secrets in its environment) and reads its answer, one bounded JSON line at a time:

    {"rows_in_sheet": N}         the grid is built (progress: how many rows)
    {"header": ROW}              the header's row number
    [[ROW, [USERNAME, EMAIL, NAME, ROLE]], ...]   up to BATCH_ROWS member rows: the
                                 texts of sheet_rows.COLUMNS (a line per row costs a
                                 third of the read in encoding and decoding)
    {"end": COUNT}               all member rows sent
    {"refused": MESSAGE, "too_large": BOOL}   instead, at any point: the file is refused

The child re-runs the cheap structural checks first (xlsx_package: what the file is,
its zip directory, its first sheet), checks the grid's size against the caps once
built, finds the header and cuts each cell (sheet_rows); it imports no Django. The
parent trusts none of it beyond shape: lines are length-capped, rows must be four
short strings with rising row numbers within the cap, the count must match. Row
validation stays in the parent, with Django's email validator, so what the child
says passes the same rules as any other input. The parent stops the child (its
process group) when the job must stop, when the wall-clock limit passes, or on anything
unexpected; a child that dies says why through its exit status (sandbox.exit_reason).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import selectors
import subprocess
import time
from collections import deque
from collections.abc import Callable, Iterator

from media_pipeline import sandbox
from media_pipeline.members.spreadsheet.sheet_child import BATCH_ROWS
from media_pipeline.members.spreadsheet.sheet_errors import SheetRefused, SheetTooLarge
from media_pipeline.members.spreadsheet.sheet_rows import (
    COLUMNS,
    MAX_CELL_CHARS,
    row_cap,
)

logger = logging.getLogger(__name__)

WHAT = "the sheet reader"
# A member row is four cells of at most 301 characters, each at most 6 bytes in JSON.
MAX_LINE_BYTES = 2**20
READ_BYTES = 64 * 1024
WAIT_SECONDS = 0.25  # `on_wait` is called this often while the child is silent
ERROR_TAIL_BYTES = 2048  # of the child's stderr, kept for the log


class MemberSheet:
    """The member rows of a sheet as the child sends them; iterate once for
    (row number, texts of COLUMNS). `header_row` and `rows_in_sheet` are known once
    `open_members` returns."""

    def __init__(self, lines: _ChildLines, max_rows: int):
        self.lines = lines
        self.max_rows = max_rows
        self.row_cap = row_cap(max_rows)
        self.rows_in_sheet = 0
        self.header_row = 0
        self._start()

    def _start(self) -> None:
        message = self.lines.next_message()
        if isinstance(message, dict) and set(message) == {"rows_in_sheet"}:
            self.rows_in_sheet = _count(message["rows_in_sheet"], self.row_cap, self.lines)
            message = self.lines.next_message()
        if not isinstance(message, dict) or set(message) != {"header"}:
            raise self.lines.unexpected("no header")
        self.header_row = _count(message["header"], self.row_cap, self.lines)

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        count, last = 0, self.header_row
        while True:
            message = self.lines.next_message()
            if isinstance(message, dict):
                if message.get("end") != count or len(message) != 1:
                    raise self.lines.unexpected(f"an end after {count} rows that says "
                                                f"otherwise")
                self.lines.finish()
                return
            if not isinstance(message, list) or not 0 < len(message) <= BATCH_ROWS:
                raise self.lines.unexpected("a batch of rows of another shape")
            for row in message:
                number, cells = _row(row, self.lines)
                count += 1
                if not last < number <= self.row_cap or count > self.max_rows:
                    raise self.lines.unexpected(f"row {number} after row {last}")
                last = number
                yield number, cells


def _count(value: object, limit: int, lines: _ChildLines) -> int:
    if type(value) is not int or not 0 <= value <= limit:
        raise lines.unexpected(f"a count of {str(value)[:20]}")
    return value


def _row(message: object, lines: _ChildLines) -> tuple[int, list[str]]:
    if (isinstance(message, list) and len(message) == 2 and type(message[0]) is int
            and isinstance(message[1], list) and len(message[1]) == len(COLUMNS)
            and all(isinstance(cell, str) and len(cell) <= MAX_CELL_CHARS + 1
                    for cell in message[1])):
        return message[0], message[1]
    raise lines.unexpected("a row of another shape")


@contextlib.contextmanager
def open_members(path: str, *, max_rows: int, limits: sandbox.Limits,
                 on_wait: Callable[[], None]) -> Iterator[MemberSheet]:
    """Read the member list at `path` in a child process under `limits`.

    SheetRefused (SheetTooLarge past the caps) when the child refuses the file;
    sandbox.ChildFailed when it goes over a limit, crashes or answers out of shape.
    `on_wait` is called every WAIT_SECONDS while the child is silent; whatever it
    raises (the job cancelled or released) stops the child. The child is always
    stopped when the block ends."""
    argv = sandbox.python_command("media_pipeline.members.spreadsheet.sheet_child", path,
                                  "--max-rows", str(max_rows))
    process = sandbox.start(argv, limits, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = _ChildLines(process, limits, on_wait)
    try:
        yield MemberSheet(lines, max_rows)
    finally:
        sandbox.stop(process)
        lines.close()


class _ChildLines:
    """The child's stdout as JSON messages, within the wall-clock limit; its stderr
    drained on the side (a full pipe would stall it), the end kept for the log."""

    def __init__(self, process: subprocess.Popen, limits: sandbox.Limits,
                 on_wait: Callable[[], None]):
        self.process, self.limits, self.on_wait = process, limits, on_wait
        self.deadline = time.monotonic() + limits.wall_seconds
        self.selector = selectors.DefaultSelector()
        self.selector.register(process.stdout, selectors.EVENT_READ)
        self.selector.register(process.stderr, selectors.EVENT_READ)
        self.pending: deque[bytes] = deque()
        self.partial = b""
        self.stderr_tail = b""
        self.stdout_open = True
        self.exited_at: float | None = None

    def next_message(self) -> object:
        while not self.pending:
            if not self.stdout_open:
                self._exited()
                raise self.unexpected("nothing more")
            self._read()
        line = self.pending.popleft()
        try:
            message = json.loads(line)
        except ValueError:
            raise self.unexpected("a line that is not JSON") from None
        if isinstance(message, dict) and "refused" in message:
            refused = message["refused"]
            if not isinstance(refused, str):
                raise self.unexpected("a refusal without a message")
            self._exited()
            raise (SheetTooLarge if message.get("too_large") is True else SheetRefused)(
                refused[:2000])
        return message

    def _read(self) -> None:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise sandbox.ChildFailed(f"{WHAT} took longer than "
                                      f"{self.limits.wall_seconds:.0f} s", limit="time")
        ready = self.selector.select(timeout=min(remaining, WAIT_SECONDS))
        if not ready:
            self._left_behind()
            self.on_wait()
            return
        for key, _ in ready:
            data = os.read(key.fd, READ_BYTES)
            if key.fileobj is self.process.stderr:
                self.stderr_tail = (self.stderr_tail + data)[-ERROR_TAIL_BYTES:]
                if not data:
                    self.selector.unregister(key.fileobj)
                continue
            if not data:
                self.selector.unregister(key.fileobj)
                self.stdout_open = False
                continue
            lines = (self.partial + data).split(b"\n")
            self.partial = lines.pop()
            if len(self.partial) > MAX_LINE_BYTES or any(len(line) > MAX_LINE_BYTES
                                                          for line in lines):
                raise self.unexpected(f"a line over {MAX_LINE_BYTES} bytes")
            self.pending.extend(lines)

    def finish(self) -> None:
        """The last message was read: the child must end, successfully."""
        while self.stdout_open:
            self._read()
            if self.pending:
                raise self.unexpected("more after the end")
        self._exited()

    def _exited(self) -> None:
        """Wait for the child's exit within the wall-clock limit; ChildFailed unless
        it succeeded."""
        while not sandbox.exited(self.process):  # not reaped: stop() ends its group
            if time.monotonic() > self.deadline:
                raise sandbox.ChildFailed(f"{WHAT} took longer than "
                                          f"{self.limits.wall_seconds:.0f} s", limit="time")
            time.sleep(0.02)
            self.on_wait()
        status = sandbox.stop(self.process)
        if status != 0:
            failure = sandbox.exit_reason(status, self.limits, WHAT)
            self._log(str(failure))
            raise failure

    def _left_behind(self) -> None:
        """The child exited and its stdout is still open, quiet: a process it started
        holds it (without namespaces). Take the pipe as closed; stop() ends it."""
        if self.exited_at is None and sandbox.exited(self.process):
            self.exited_at = time.monotonic()
        if (self.exited_at is not None and self.stdout_open
                and time.monotonic() - self.exited_at > sandbox.EXIT_GRACE_SECONDS):
            self.selector.unregister(self.process.stdout)
            self.stdout_open = False

    def unexpected(self, what: str) -> sandbox.ChildFailed:
        self._log(f"answered {what}")
        return sandbox.ChildFailed(f"{WHAT} answered something unexpected ({what})")

    def _log(self, failure: str) -> None:
        said = self.stderr_tail.decode(errors="replace").strip().splitlines()[-3:]
        logger.warning("%s: %s%s", WHAT, failure, f" ({' | '.join(said)[:500]})" if said else "")

    def close(self) -> None:
        self.selector.close()
        for stream in (self.process.stdout, self.process.stderr):
            stream.close()
