"""Account clean-ups operators run (management commands): unverified sign-ups purged,
names and emails held by several accounts found, deleted accounts scrubbed."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Count
from django.db.models.functions import Upper
from django.utils import timezone

from project.accounts.models import User

logger = logging.getLogger(__name__)


def users_purge_unverified(*, days: int, dry_run: bool) -> list[User]:
    """Hard-delete self-signed-up accounts that never verified within `days`.

    Only accounts that never became active and never signed in qualify; members
    created by an import are active, so they are never purged here.
    """
    cutoff = timezone.now() - timedelta(days=days)
    stale = User.objects.filter(
        email_verified_at__isnull=True, is_active=False, last_login__isnull=True,
        date_joined__lt=cutoff,
    )
    victims = list(stale.order_by("pk"))
    if not dry_run and victims:
        User.objects.filter(pk__in=[user.pk for user in victims]).delete()
        logger.info("purged %d unverified accounts older than %d days", len(victims), days)
    return victims


@dataclass(frozen=True)
class DuplicateGroup:
    """Accounts sharing a username or email (case-insensitively)."""

    field: str
    value: str
    live: list[int]
    deleted: list[int]


def users_find_duplicates() -> list[DuplicateGroup]:
    """Names or emails held by more than one account, live or deleted.

    Two live holders cannot exist where the constraints are in place; they are
    reported anyway, for databases restored from before them.
    """
    groups = []
    for field in ("username", "email"):
        shared = (
            User.objects.exclude(**{field: ""})
            .annotate(key=Upper(field)).values("key")
            .annotate(n=Count("pk")).filter(n__gt=1).values("key")
        )
        holders: dict[str, list[tuple[int, bool]]] = {}
        rows = (User.objects.annotate(key=Upper(field)).filter(key__in=shared)
                .order_by("key", "pk").values_list("key", "pk", "is_deleted"))
        for key, pk, deleted in rows:
            holders.setdefault(key, []).append((pk, deleted))
        groups.extend(
            DuplicateGroup(
                field=field, value=key,
                live=[pk for pk, deleted in accounts if not deleted],
                deleted=[pk for pk, deleted in accounts if deleted],
            )
            for key, accounts in holders.items()
        )
    return groups


def users_scrub_deleted(*, user_ids: list[int]) -> int:
    """Replace deleted accounts' username and email with placeholders.

    Frees the name for good (even on a database without the conditional
    constraints) and keeps no personal data on accounts nobody can use.
    """
    scrubbed = 0
    with transaction.atomic():
        for user in User.objects.select_for_update().filter(pk__in=user_ids, is_deleted=True):
            user.username = f"deleted-{user.pk}"
            user.email = ""
            user.save(update_fields=["username", "email"])
            scrubbed += 1
    return scrubbed
