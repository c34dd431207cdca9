"""Create an API token for a user and print it once (it is stored hashed)."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from project.accounts.actions import token_create
from project.accounts.models import User


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="cli")
        parser.add_argument("--days", type=int, help="expire after this many days")

    def handle(self, *args, username: str, name: str, days: int | None, **options):
        user = User.objects.live().filter(username__iexact=username).first()
        if user is None:
            raise CommandError(f"no live user named {username!r}")
        expires = timezone.now() + timedelta(days=days) if days else None
        self.stdout.write(token_create(user=user, name=name, expires_at=expires)[1])
