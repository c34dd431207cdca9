"""The autoscaling signal: the workers publish their channels' backlog to CloudWatch.

A worker Auto Scaling group scales on a figure CloudWatch holds (deploy/autoscaling/),
and the workers know it first. When CLOUDWATCH_NAMESPACE is set, every worker of a
channel runs a chore (registry.Chore: at start, then about every
CLOUDWATCH_INTERVAL_SECONDS) that reads the backlog (queries.backlog: pending and
running jobs per kind, live workers per channel) and publishes, for its channel:

- `PendingJobs` and `RunningJobs`, dimension `Kind`, for each kind of the channel;
- `WorkersAlive`, dimension `Channel`: the channel's live workers;
- `BacklogPerWorker`, dimension `Channel`: the channel's pending and running jobs per
  live worker (a worker runs one job at a time: 1 means every worker busy and none
  waiting), what a target-tracking policy holds at its target.

Each figure also carries the CLOUDWATCH_DIMENSIONS. Every worker of a channel publishes
the same figures, so a policy reads their Average, never their Sum. The publisher counts
itself alive (its first heartbeat may not be written yet): a starting worker never
reports a channel without workers, and BacklogPerWorker never divides by zero. A
failed publication is logged and the next one tries again; it never stops the worker.
"""

from __future__ import annotations

import functools
import logging

from django.conf import settings
from django.utils import timezone

from media_pipeline.jobs import cloudwatch, queries, registry
from media_pipeline.jobs.cloudwatch import Figure
from media_pipeline.jobs.registry import Chore

logger = logging.getLogger(__name__)


def chores() -> tuple[Chore, ...]:
    """A publishing chore per channel of the kinds registered so far; none when no
    namespace is configured."""
    if not settings.CLOUDWATCH_NAMESPACE:
        return ()
    return tuple(Chore(f"backlog to CloudWatch ({channel})", channel=channel,
                       run=functools.partial(backlog_publish, channel=channel),
                       every_seconds=settings.CLOUDWATCH_INTERVAL_SECONDS)
                 for channel in registry.all_channels())


def backlog_figures(backlog: dict, channel: str) -> list[Figure]:
    """`channel`'s figures from `backlog` (queries.backlog's shape)."""
    alive = max(1, backlog["workers_alive"].get(channel, 0))
    figures, unfinished = [], 0
    for kind in registry.kinds_of([channel]):
        counts = backlog[kind]
        figures += [Figure("PendingJobs", counts["pending"], {"Kind": kind}),
                    Figure("RunningJobs", counts["running"], {"Kind": kind})]
        unfinished += counts["pending"] + counts["running"]
    return [*figures, Figure("WorkersAlive", alive, {"Channel": channel}),
            Figure("BacklogPerWorker", unfinished / alive, {"Channel": channel})]


def backlog_publish(*, channel: str) -> None:
    """Publish `channel`'s figures now (a chore: in a thread of its own). CloudWatch's
    failures are logged here; the database's reach the chore's loop, which logs them."""
    read_at = timezone.now()
    figures = backlog_figures(queries.backlog(), channel)
    target = cloudwatch.Target(namespace=settings.CLOUDWATCH_NAMESPACE,
                               dimensions=settings.CLOUDWATCH_DIMENSIONS,
                               region=settings.CLOUDWATCH_REGION,
                               endpoint_url=settings.CLOUDWATCH_ENDPOINT_URL)
    try:
        cloudwatch.put(target, figures, read_at)
    except cloudwatch.PublishError as error:
        logger.warning("autoscaling: the backlog of %s was not published to CloudWatch "
                       "(namespace %s, region %s): %s", channel, target.namespace,
                       target.region or "the SDK's default", error)
