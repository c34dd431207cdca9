"""The one place that sends on the channel layer, always after the commit.

A broadcast that fails (Redis down, channel full) is logged and never fails the
transaction that caused it: the database stays the source of truth and receivers
heal from it (collab's hub refills gaps from the op log; workers sweep for jobs).
"""

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Callable
from concurrent.futures import Executor

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer
from django.db import transaction

from project import metrics

logger = logging.getLogger(__name__)

SEND_FAILURES = metrics.counter(
    "moa_channel_layer_send_failures_total", "Channel-layer sends that failed (receivers "
    "heal from the database), by operation (group_send, send) and reason (full: the "
    "channel's queue was at capacity; error: the layer failed; backlog: a worker's "
    "outbox overflowed and dropped it)", ("operation", "reason"))

# Set while an action runs for an async caller (a list, sent after the action) or in a
# worker (a LoopPublisher): broadcasts go there instead of blocking the database thread
# on a hop to the event loop.
_outbox: contextvars.ContextVar = contextvars.ContextVar("outbox", default=None)


def group_name(kind: str, key: object) -> str:
    """Channel-layer group names are ASCII, dotted: map.12, user.7."""
    return f"{kind}.{key}"


def revocation_applies(message: dict, *, team_id: int | None, session_key: str | None,
                       token_id: int | None) -> bool:
    """Whether a `user.revoke` message (project.accounts.actions.sockets_revoke) closes
    a socket of that user opened in `team_id` with `session_key` or `token_id`."""
    team, session, token = message.get("team"), message.get("session"), message.get("token")
    if team is not None and team_id != team:
        return False
    if session is not None and session_key != session:
        return False
    if token is not None and token_id != token:
        return False
    keep = message.get("keep_session")
    return keep is None or session_key != keep


def send_group(group: str, message: dict) -> bool:
    """Send now; return False (and log why) instead of raising."""
    try:
        async_to_sync(get_channel_layer().group_send)(group, message)
    except Exception:  # any layer failure: logged, receivers heal from the database
        logger.exception("channel layer: group_send to %s failed (type %s)", group,
                         message.get("type"))
        SEND_FAILURES.labels("group_send", "error").inc()
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
        SEND_FAILURES.labels("send", "full").inc()
        return False
    except Exception:  # any layer failure: logged, the workers' sweep finds the job
        logger.exception("channel layer: send to %s failed (type %s)", channel,
                         message.get("type"))
        SEND_FAILURES.labels("send", "error").inc()
        return False
    return True


def publish_on_commit(group: str, message: dict) -> None:
    """Send `message` to `group` once the current transaction commits (now if none)."""
    transaction.on_commit(lambda: _deliver(group, message), robust=True)


def broadcast_through(outbox) -> None:
    """From now on, in this task's context and every thread it calls into, broadcasts
    committed by actions go to `outbox` (a list, or a LoopPublisher) instead of being
    sent from the database thread."""
    _outbox.set(outbox)


def _deliver(group: str, message: dict) -> None:
    outbox = _outbox.get()
    if outbox is None:
        send_group(group, message)
    else:
        outbox.append((group, message))


async def run_action(action: Callable, /, *, executor: Executor | None = None,
                     before_broadcasts: Callable | None = None,
                     delivered_to: tuple[str, str] | None = None, **kwargs):
    """Run a sync action in the database thread (or a thread of `executor`, each with a
    database connection of its own); send its committed broadcasts from here, after
    `before_broadcasts(result)` when it succeeded (this process's own delivery need
    not wait for the channel layer's round trips). `delivered_to` is (group, channel)
    when that delivered the action's broadcasts to `group` to `channel` (this process's
    hub): they are not sent back there; the action's other broadcasts go out whole.

    For consumers: the database thread (one per process, shared by every socket) is
    released as soon as the transaction commits, and the group sends happen on the
    event loop where they cost no thread hop.
    """
    outbox: list = []
    delivered = None  # delivered_to, once the caller has delivered

    def call():
        broadcast_through(outbox)
        return action(**kwargs)

    try:
        result = await database_sync_to_async(call, thread_sensitive=executor is None,
                                              executor=executor)()
        if before_broadcasts is not None:
            before_broadcasts(result)
            delivered = delivered_to
        return result
    finally:
        layer = get_channel_layer()
        for group, message in outbox:
            skip = delivered[1] if delivered and delivered[0] == group else None
            await _group_send(layer, group, message, skip)


async def _group_send(layer, group: str, message: dict, skip: str | None = None) -> None:
    try:
        if skip is not None and hasattr(layer, "group_send_except"):  # Moa's Redis layer
            await layer.group_send_except(group, message, skip)
        else:  # the in-memory layer: the receiver drops what it has already
            await layer.group_send(group, message)
    except Exception:  # any layer failure: logged, receivers heal from the database
        logger.exception("channel layer: group_send to %s failed (type %s)", group,
                         message.get("type"))
        SEND_FAILURES.labels("group_send", "error").inc()


class LoopPublisher:
    """Broadcasts from sync code in threads, sent by one task on the event loop.

    For a worker: its job threads hand each committed event over and carry on, instead
    of blocking on a hop to the loop and a Redis round trip per event (measured as a
    third of a no-op job's time). One task sends them in the order they were made. A
    backlog past `limit` (Redis away for long) drops the newest, logged: clients
    order events by version and heal from the REST view.
    """

    def __init__(self, limit: int = 10_000):
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue = asyncio.Queue(limit)
        self.task = self.loop.create_task(self._send_all())

    def append(self, item: tuple[str, dict]) -> None:
        """Called from any thread (the outbox protocol of `_deliver`)."""
        self.loop.call_soon_threadsafe(self._put, item)

    def _put(self, item: tuple[str, dict]) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            logger.warning("channel layer: %d broadcasts waiting; %s to %s dropped",
                           self.queue.qsize(), item[1].get("type"), item[0])
            SEND_FAILURES.labels("group_send", "backlog").inc()

    async def _send_all(self) -> None:
        layer = get_channel_layer()
        while True:
            group, message = await self.queue.get()
            await _group_send(layer, group, message)
            self.queue.task_done()

    async def close(self, timeout: float) -> None:
        """Send what is waiting (for at most `timeout` seconds), then stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.queue.join(), timeout)
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
