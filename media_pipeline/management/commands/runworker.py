"""The worker role: `python manage.py runworker jobs.video jobs.excel`.

Replaces Channels' runworker (same command line): it checks the worker role's
configuration first, then runs Moa's JobRunner, which listens on the named channels
for wake-ups and sweeps the job table for work whose wake-up was lost.
"""

import asyncio
import signal

from django.core.management.base import BaseCommand, CommandError

from media_pipeline.jobs import registry
from project import roles


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
        asyncio.run(self.run(channels))

    async def run(self, channels: list[str]) -> None:
        from media_pipeline.jobs.worker import JobRunner

        runner = JobRunner(channels)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, runner.stop)
        await runner.serve()
