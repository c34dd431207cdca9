"""The one place that sends on the channel layer, always after the commit.

A broadcast that fails (Redis down, channel full) is logged and never fails the
transaction that caused it: the database stays the source of truth and receivers
heal from it (collab's hub refills gaps from the op log; workers sweep for jobs).
"""

import contextvars
import logging
from collections.abc import Callable

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

# Set while an action runs for an async caller: its broadcasts wait there instead of
# blocking the database thread on a hop to the event loop.
_outbox: contextvars.ContextVar[list | None] = contextvars.ContextVar("outbox", default=None)


def group_name(kind: str, key: object) -> str:
    """Channel-layer group names are ASCII, dotted: map.12, user.7."""
    return f"{kind}.{key}"


def send_group(group: str, message: dict) -> bool:
    """Send now; return False (and log why) instead of raising."""
    try:
        async_to_sync(get_channel_layer().group_send)(group, message)
    except Exception:  # any layer failure: logged, receivers heal from the database
        logger.exception("channel layer: group_send to %s failed (type %s)", group,
                         message.get("type"))
        return False
    return True


def send_channel(channel: str, message: dict) -> bool:
    """Send to one channel now (a worker wake-up); False, logged, when it cannot.

    ChannelFull and a Redis outage are expected here: a wake-up is only a nudge.
    """
    try:
        async_to_sync(get_channel_layer().send)(channel, message)
    except ChannelFull:
        # Plenty of nudges are already waiting there: the workers are busy, not deaf.
        logger.info("channel layer: %s is full; %s not sent", channel, message.get("type"))
        return False
    except Exception:  # any layer failure: logged, the workers' sweep finds the job
        logger.exception("channel layer: send to %s failed (type %s)", channel,
                         message.get("type"))
        return False
    return True


def publish_on_commit(group: str, message: dict) -> None:
    """Send `message` to `group` once the current transaction commits (now if none)."""
    transaction.on_commit(lambda: _deliver(group, message), robust=True)


def _deliver(group: str, message: dict) -> None:
    outbox = _outbox.get()
    if outbox is None:
        send_group(group, message)
    else:
        outbox.append((group, message))


async def run_action(action: Callable, /, **kwargs):
    """Run a sync action in the database thread; send its committed broadcasts from here.

    For consumers: the database thread (one per process, shared by every socket) is
    released as soon as the transaction commits, and the group sends happen on the
    event loop where they cost no thread hop.
    """
    outbox: list = []

    def call():
        _outbox.set(outbox)
        return action(**kwargs)

    try:
        return await database_sync_to_async(call)()
    finally:
        layer = get_channel_layer()
        for group, message in outbox:
            try:
                await layer.group_send(group, message)
            except Exception:  # any layer failure: logged, receivers heal from the database
                logger.exception("channel layer: group_send to %s failed (type %s)", group,
                                 message.get("type"))
