"""The one place that sends on the channel layer, always after the commit.

A broadcast that fails (Redis down, channel full) is logged and never fails the
transaction that caused it: the database stays the source of truth and receivers
heal from it (collab's hub refills gaps from the op log; workers sweep for jobs).
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


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


def publish_on_commit(group: str, message: dict) -> None:
    """Send `message` to `group` once the current transaction commits (now if none)."""
    transaction.on_commit(lambda: send_group(group, message), robust=True)
