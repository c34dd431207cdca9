"""Trim the op log: ops older than the retention and not among a map's latest N.

Run it from cron (hourly is plenty). Clients resyncing from before the trimmed point
get a snapshot instead of ops.
"""

from django.conf import settings
from django.core.management.base import BaseCommand

from collab.history_actions import ops_trim


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--keep-seconds", type=int,
                            default=settings.COLLAB_KEEP_OPS_SECONDS)
        parser.add_argument("--keep-count", type=int, default=settings.COLLAB_KEEP_OPS_COUNT)
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, keep_seconds: int, keep_count: int, dry_run: bool, **options):
        trimmed = ops_trim(keep_seconds=keep_seconds, keep_count=keep_count, dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        for map_id, count in sorted(trimmed.items()):
            self.stdout.write(f"map {map_id}: {verb} {count} op(s)")
        self.stdout.write(f"{verb} {sum(trimmed.values())} op(s) in {len(trimmed)} map(s)")
