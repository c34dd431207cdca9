"""Purge for good the accounts deleted more than --days ago (the workers do it daily:
MAINTENANCE_PURGE_DELETED_USERS_EVERY; project/accounts/maintenance.py says what goes)."""

from django.core.management.base import BaseCommand, CommandError

from project.accounts.maintenance import PurgeIncomplete, users_purge_deleted


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, required=True)
        parser.add_argument("--dry-run", action="store_true",
                            help="list the accounts without purging them")

    def handle(self, *args, days: int, dry_run: bool, **options):
        if days < 1:
            raise CommandError("--days must be at least 1")
        try:
            purged = users_purge_deleted(days=days, dry_run=dry_run)
        except PurgeIncomplete as incomplete:
            self.report(incomplete.purged, days, dry_run)
            raise CommandError(str(incomplete)) from incomplete
        self.report(purged, days, dry_run)

    def report(self, users, days: int, dry_run: bool) -> None:
        for user in users:
            self.stdout.write(f"{user.pk}\t{user.username}\tdeleted {user.deleted_at:%Y-%m-%d}")
        verb = "would purge" if dry_run else "purged"
        self.stdout.write(f"{verb} {len(users)} account(s) deleted over {days} days ago")
