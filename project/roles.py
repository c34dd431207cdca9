"""Which role this process plays (web or worker), checked before it serves anything.

The worker command claims its role before it loads the ASGI application, so the
application module can tell a Daphne process (web) from a worker without an env var.
"""

import sys

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from project.config import ConfigError

_current: str | None = None


def start(role: str) -> None:
    """Refuse to start `role` without every env name it needs (all named at once)."""
    global _current
    # Both roles run an event loop beside database threads; a thread waking from a
    # query's network wait needs the GIL, and with the default 5 ms switch interval a
    # busy loop makes it wait up to 5 ms per query (measured: bench/results/).
    sys.setswitchinterval(0.001)
    try:
        settings.MOA_CONFIG.require(role)
    except ConfigError as error:
        raise ImproperlyConfigured(str(error)) from None
    _current = role


def current() -> str | None:
    return _current
