"""Prometheus metrics: how Moa declares them, and the two places they are read.

Each process has its own registry (prometheus-client's default one) and is scraped as
a target of its own: the web role at `GET /metrics` (project/http_metrics.py), the
worker on its own listener (`listen`). Moa scales by processes, one Daphne per
instance or container and one worker per channel set, so a target per process is
what Prometheus expects and sums by itself; prometheus-client's multiprocess mode (a
directory of mmap files shared by forked children) is for pre-forking servers, which
Moa does not run. docs/observability.md lists every metric.

Instruments are declared like loggers, once at the top of the module that measures,
through `counter`, `gauge` and `histogram`. A declaration reads no settings (the web
server's module declares its drain metrics before Django is set up): it becomes a
real prometheus-client instrument, or with METRICS_ENABLED=0 one whose calls do
nothing, the first time it is used or when the role starts (`start`), whichever comes
first. After that a call costs what the instrument's own method costs (the methods
are bound onto the declaration): about a microsecond for a counter or a histogram.
prometheus-client's registry is process-wide by design; it is the one state kept
outside the process's runtime (project/runtime.py).
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Sequence
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import prometheus_client
from django.conf import settings
from django.db import connections
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

# A series per label set and a `_created` sample beside each is noise for Moa's
# counters: Prometheus' functions take resets from the values themselves.
prometheus_client.disable_created_metrics()

# Seconds: a WebSocket op's commit takes milliseconds, an HTTP request tens of them.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                   10.0)
# Seconds: a job runs for a fraction of a second (a small import) to hours (a video).
JOB_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400)
# Seconds a job waits for a worker.
WAIT_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)

_METHODS = ("labels", "inc", "dec", "set", "observe", "set_function")


class _Off:
    """An instrument while metrics are off: every call does nothing."""

    def labels(self, *args, **kwargs) -> _Off:
        return self

    def inc(self, *args, **kwargs) -> None:
        pass

    dec = set = observe = set_function = inc


_OFF = _Off()


class Instrument:
    """A declared instrument, made real (or off) on first use; see the module's text."""

    def __init__(self, make: Callable[[], object]):
        self._make = make
        self._made = False
        self._lock = threading.Lock()

    def __getattr__(self, attribute: str):
        # Called only while the methods are not bound yet: the first use binds them.
        if attribute not in _METHODS:
            raise AttributeError(attribute)
        self.materialize()
        try:
            return self.__dict__[attribute]
        except KeyError:  # a counter has no `set`, a gauge no `observe`
            raise AttributeError(attribute) from None

    def materialize(self) -> None:
        with self._lock:
            if self._made:
                return
            real = self._make() if enabled() else _OFF
            for method in _METHODS:
                found = getattr(real, method, None)
                if found is not None:
                    setattr(self, method, found)
            self._made = True


_declared: list[Instrument] = []


def _declare(make: Callable[[], object]) -> Instrument:
    instrument = Instrument(make)
    _declared.append(instrument)
    return instrument


def counter(name: str, documentation: str, labels: Sequence[str] = ()) -> Instrument:
    return _declare(lambda: prometheus_client.Counter(name, documentation, labels))


def gauge(name: str, documentation: str, labels: Sequence[str] = ()) -> Instrument:
    return _declare(lambda: prometheus_client.Gauge(name, documentation, labels))


def histogram(name: str, documentation: str, labels: Sequence[str] = (),
              buckets: Sequence[float] = LATENCY_BUCKETS) -> Instrument:
    return _declare(lambda: prometheus_client.Histogram(name, documentation, labels,
                                                        buckets=buckets))


def enabled() -> bool:
    return settings.METRICS_ENABLED


def start() -> None:
    """Make every instrument declared so far real (a role's start, project/roles.py), so
    a series without labels is exposed as 0 from the first scrape, not from its first
    event."""
    for instrument in _declared:
        instrument.materialize()


def register_collector(collector: Collector) -> None:
    """Add a collector computed at scrape time (when metrics are on). It must define
    `describe()`, so registering it does not collect (query) at once."""
    if enabled():
        prometheus_client.REGISTRY.register(collector)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args) -> None:  # a line per scrape is noise
        pass


def listen(port: int, bind: str) -> WSGIServer:
    """Serve this process's metrics over plain HTTP on `bind`:`port` from a thread of its
    own (the worker role: WORKER_METRICS_PORT, METRICS_BIND). No authentication: the
    listener binds to the loopback by default (docs/observability.md). Returns the
    server (`shutdown()` stops it); OSError when the port is taken."""
    app = prometheus_client.make_wsgi_app()

    def closing_connections(environ, start_response):
        # Each scrape runs in a thread of its own: the database connection a collector
        # opened there is returned at once, not left to the thread's end.
        try:
            return app(environ, start_response)
        finally:
            connections.close_all()

    class Server(ThreadingWSGIServer):
        address_family = socket.AF_INET6 if ":" in bind else socket.AF_INET

    server = make_server(bind, port, closing_connections, Server, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="moa-metrics", daemon=True).start()
    logger.info("metrics served on %s port %d", bind, server.server_port)
    return server
