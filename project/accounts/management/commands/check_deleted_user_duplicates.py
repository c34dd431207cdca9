"""Report usernames and emails shared by several accounts; --fix scrubs the deleted ones.

Exit status 1 when two live accounts share one (the constraints should make that
impossible: it means a database restored from before them), which --fix cannot decide.
"""

from django.core.management.base import BaseCommand

from project.accounts.maintenance import users_find_duplicates, users_scrub_deleted


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true",
                            help="replace the deleted holders' username and email")
        parser.add_argument("--dry-run", action="store_true",
                            help="with --fix, say what would change without changing it")

    def handle(self, *args, fix: bool, dry_run: bool, **options):
        groups = users_find_duplicates()
        for group in groups:
            self.stdout.write(f"{group.field} {group.value!r}: live {group.live or '-'}, "
                              f"deleted {group.deleted or '-'}")
        to_scrub = sorted({pk for group in groups for pk in group.deleted})
        if fix and dry_run:
            self.stdout.write(f"would scrub {len(to_scrub)} deleted account(s): {to_scrub}")
        elif fix:
            count = users_scrub_deleted(user_ids=to_scrub)
            self.stdout.write(f"scrubbed {count} deleted account(s)")
        else:
            self.stdout.write(f"{len(groups)} shared name(s)/email(s); "
                              f"{len(to_scrub)} deleted account(s) to scrub with --fix")
        live_clashes = [group for group in groups if len(group.live) > 1]
        if live_clashes:
            self.stderr.write(f"{len(live_clashes)} value(s) held by several LIVE accounts: "
                              "resolve them by hand, then run migrate to restore constraints")
            raise SystemExit(1)
