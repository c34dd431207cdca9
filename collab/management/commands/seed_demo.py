"""Create, idempotently, a demo team with N users and one map (load tests start here)."""

import json
import secrets

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from collab import actions
from collab.models import Membership, Mindmap, Team
from project.accounts.actions import token_create
from project.accounts.models import ApiToken, User

TEAM_NAME = "Demo team"
MAP_TITLE = "Demo map"
TOKEN_NAME = "seed_demo"  # noqa: S105 (a label, not a secret)
DEVELOPMENT_PASSWORD = "moa-demo-password"  # noqa: S105 (development only, by design)


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=3, help="number of demo users")
        parser.add_argument("--password", help="their password (default: fixed in "
                            "development, random in production)")
        parser.add_argument("--json", action="store_true", dest="as_json",
                            help="print team, map, users, passwords and fresh tokens as JSON")

    def handle(self, *args, users: int, password: str | None, as_json: bool, **options):
        if users < 1:
            self.stderr.write("--users must be at least 1")
            raise SystemExit(2)
        password = password or (secrets.token_urlsafe(12) if settings.PRODUCTION
                                else DEVELOPMENT_PASSWORD)
        with transaction.atomic():
            report = self.seed(users, password)
        if as_json:
            self.stdout.write(json.dumps(report, indent=2))
        else:
            self.stdout.write(
                f"Demo team {report['team_id']}, map {report['map_id']}; users "
                f"{', '.join(u['username'] for u in report['users'])} with password "
                f"{password!r}"
            )

    def seed(self, count: int, password: str) -> dict:
        hashed = make_password(password)  # hash once: a hash costs ~0.3 s, users may be 500
        people = [self.demo_user(index, hashed) for index in range(1, count + 1)]
        team = (Team.objects.filter(name=TEAM_NAME, is_deleted=False,
                                    memberships__user=people[0],
                                    memberships__role=Membership.Role.OWNER)
                .order_by("pk").first())
        if team is None:
            team = actions.team_create(name=TEAM_NAME, owner=people[0])
        for user in people[1:]:
            actions.membership_ensure(team=team, user=user)
        mindmap = (Mindmap.objects.filter(team=team, title=MAP_TITLE, is_deleted=False)
                   .order_by("pk").first())
        if mindmap is None:
            mindmap = actions.map_create(team=team, title=MAP_TITLE, actor=people[0])
        # Tokens are stored hashed, so each run replaces the demo tokens with new ones.
        ApiToken.objects.filter(user__in=people, name=TOKEN_NAME).delete()
        return {
            "team_id": team.pk,
            "map_id": mindmap.pk,
            "users": [
                {"id": user.pk, "username": user.username, "password": password,
                 "token": token_create(user=user, name=TOKEN_NAME)[1]}
                for user in people
            ],
        }

    def demo_user(self, index: int, hashed_password: str) -> User:
        username = f"demo{index}"
        user = User.objects.live().filter(username__iexact=username).first()
        if user is None:
            user = User(username=username, email=f"{username}@demo.moa.invalid",
                        display_name=f"Demo {index}")
        user.is_active = True
        user.email_verified_at = user.email_verified_at or timezone.now()
        user.password = hashed_password
        user.save()
        return user
