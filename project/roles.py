"""Which role this process plays (web or worker), checked before it serves anything.

The worker command claims its role before it loads the ASGI application, so the
application module can tell a Daphne process (web) from a worker without an env var.
Starting a role starts the process's runtime (project/runtime.py).
Either role makes itself non-dumpable first: its environment holds every secret.
"""

import ctypes
import logging

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from project import metrics, runtime
from project.config import ConfigError

logger = logging.getLogger(__name__)

PR_GET_DUMPABLE, PR_SET_DUMPABLE = 3, 4  # linux/prctl.h


def make_undumpable() -> bool:
    """Linux: no process of the same uid may read this one's /proc/<pid>/environ,
    mem, maps or fds, nor ptrace it (root's CAP_SYS_PTRACE still may): a parser
    child that runs an attacker's code as the worker's uid cannot take its secrets.
    Also means no core dump, and no py-spy/gdb attach but as root. Whether it held."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
        held = libc.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0
    except (OSError, AttributeError):  # not Linux
        held = False
    if not held:
        logger.warning("this process stays dumpable: a process of the same uid can read "
                       "its environment (secrets) through /proc")
    return held


def start(role: str) -> None:
    """Refuse to start `role` without every env name it needs (all named at once),
    then start the process's runtime and its metrics for it."""
    make_undumpable()
    try:
        settings.MOA_CONFIG.require(role)
    except ConfigError as error:
        raise ImproperlyConfigured(str(error)) from None
    runtime.start(role)
    metrics.start()


def current() -> str | None:
    return runtime.current().role
