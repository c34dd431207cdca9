"""This process's long-lived state, in one object with a lifecycle.

Everything a process keeps between requests lives here, not in module globals set as a
side effect: the role it plays, whether it is draining, small time-bounded caches, and
the parts each event loop runs (collab's hub and map committers, a worker's broadcast
publisher). project/ knows no product code: parts are registered by name, created by
the code that uses them (`Runtime.part`) and closed with their loop.

Lifecycle:
- `start(role)` (project.roles.start, called by Daphne's application module and by
  `runworker` before anything is served) creates the process's runtime and tunes the
  interpreter for an event loop beside database threads; code that runs without a
  role (management commands, the test client) gets a role-less one on first use.
- SIGTERM on a web process: `begin_draining()` (readiness answers 503 from then on).
- `close_loop()` when an event loop's work ends (a test's loop, a worker's stop):
  each part of that loop is closed, newest first.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import weakref
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class TimedValue:
    """A value recomputed at most once per `ttl` seconds (shared by every thread)."""

    def __init__(self, compute: Callable[[], object]):
        self.compute = compute
        self.lock = threading.Lock()
        self.checked = float("-inf")
        self.value: object = None

    def get(self, ttl: float):
        with self.lock:
            if time.monotonic() - self.checked >= ttl:
                self.value = self.compute()
                self.checked = time.monotonic()
            return self.value

    def clear(self) -> None:
        with self.lock:
            self.checked = float("-inf")


class Runtime:
    def __init__(self, role: str | None):
        self.role = role
        self.draining = threading.Event()
        self.timed: dict[str, TimedValue] = {}
        self._timed_lock = threading.Lock()
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, object]] = \
            weakref.WeakKeyDictionary()

    def begin_draining(self) -> None:
        """Readiness answers 503 from now on; the process keeps serving until it exits."""
        self.draining.set()

    def timed_value(self, name: str, compute: Callable[[], T]) -> TimedValue:
        """The process's cache `name` (created with `compute` on first use)."""
        with self._timed_lock:
            found = self.timed.get(name)
            if found is None:
                found = self.timed[name] = TimedValue(compute)
            return found

    def part(self, name: str, create: Callable[[], T]) -> T:
        """The running loop's part `name`, created with `create` on first use. A part
        with an async `aclose()` is closed by `close_loop`."""
        parts = self._loops.setdefault(asyncio.get_running_loop(), {})
        found = parts.get(name)
        if found is None:
            found = parts[name] = create()
        return found

    def parts(self) -> dict[str, object]:
        """The running loop's parts, by name (read-only use: tests, diagnostics)."""
        return dict(self._loops.get(asyncio.get_running_loop(), {}))

    def forget(self, name: str) -> None:
        """Drop the running loop's part `name` (it closed itself)."""
        self._loops.get(asyncio.get_running_loop(), {}).pop(name, None)

    async def close_loop(self) -> None:
        """Close the running loop's parts, newest first, and forget them."""
        parts = self._loops.pop(asyncio.get_running_loop(), {})
        for part in reversed(list(parts.values())):
            close = getattr(part, "aclose", None)
            if close is not None:
                await close()


_current: Runtime | None = None
_lock = threading.Lock()


def start(role: str) -> Runtime:
    """The process's runtime for `role` (a second start keeps the first one's state)."""
    global _current
    # Both roles run an event loop beside database threads; a thread waking from a
    # query's network wait needs the GIL, and with the default 5 ms switch interval a
    # busy loop makes it wait up to 5 ms per query (measured: bench/results/).
    sys.setswitchinterval(0.001)
    with _lock:
        if _current is None:
            _current = Runtime(role)
        _current.role = role
        return _current


def current() -> Runtime:
    """The process's runtime (a role-less one where no role started: commands, tests)."""
    global _current
    if _current is None:
        with _lock:
            if _current is None:
                _current = Runtime(None)
    return _current
