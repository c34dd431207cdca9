"""The worker role: `python manage.py runworker jobs.video jobs.excel`.

Replaces Channels' runworker (same command line): it checks the worker role's
configuration first, starts its metrics listener (WORKER_METRICS_PORT on METRICS_BIND),
then runs Moa's JobRunner, which listens on the named channels for wake-ups and sweeps
the job table for work whose wake-up was lost.
"""

import asyncio
import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from media_pipeline.jobs import registry
from project import metrics, roles


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("channels", nargs="+", help="jobs.video and/or jobs.excel")

    def handle(self, *args, channels: list[str], **options):
        known = registry.all_channels()
        unknown = [channel for channel in channels if channel not in known]
        if unknown:
            raise CommandError(f"unknown channel(s) {', '.join(unknown)}; "
                               f"known: {', '.join(known)}")
        roles.start("worker")
        listener = self.listen()
        try:
            asyncio.run(self.run(channels))
        finally:
            if listener is not None:
                listener.shutdown()

    @staticmethod
    def listen():
        """The metrics listener, or None when off (METRICS_ENABLED=0 or
        WORKER_METRICS_PORT=0). A taken port stops the worker: two workers on one host
        need a port each, and one that serves no metrics would go unnoticed."""
        if not (metrics.enabled() and settings.WORKER_METRICS_PORT):
            return None
        try:
            return metrics.listen(settings.WORKER_METRICS_PORT, settings.METRICS_BIND)
        except OSError as error:
            raise CommandError(
                f"cannot serve metrics on {settings.METRICS_BIND} port "
                f"{settings.WORKER_METRICS_PORT} ({error}): give each worker process of "
                f"this host its own WORKER_METRICS_PORT, or 0 for none") from error

    async def run(self, channels: list[str]) -> None:
        from media_pipeline.jobs.worker import JobRunner

        runner = JobRunner(channels)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, runner.stop)
        await runner.serve()
