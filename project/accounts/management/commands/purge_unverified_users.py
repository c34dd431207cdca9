"""Delete self-signed-up accounts that never verified their email within --days."""

from django.core.management.base import BaseCommand, CommandError

from project.accounts.maintenance import users_purge_unverified


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, required=True)
        parser.add_argument("--dry-run", action="store_true",
                            help="list the accounts without deleting them")

    def handle(self, *args, days: int, dry_run: bool, **options):
        if days < 1:
            raise CommandError("--days must be at least 1")
        victims = users_purge_unverified(days=days, dry_run=dry_run)
        for user in victims:
            self.stdout.write(f"{user.pk}\t{user.username}\t{user.email}\t"
                              f"joined {user.date_joined:%Y-%m-%d}")
        verb = "would delete" if dry_run else "deleted"
        self.stdout.write(f"{verb} {len(victims)} unverified account(s) older than {days} days")
