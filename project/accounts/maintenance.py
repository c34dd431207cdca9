"""Account clean-ups (management commands, and the workers' maintenance schedule):
unverified sign-ups purged, accounts deleted long ago purged, names and emails held by
several accounts found, deleted accounts scrubbed."""

from __future__ import annotations

import logging
from collections.abc import Callable
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
    created by an import are active, so they are never purged here. A soft-deleted
    account is inactive too, but it is users_purge_deleted's, after its retention (it
    may be restored until then, and its erasers must run).
    """
    cutoff = timezone.now() - timedelta(days=days)
    stale = User.objects.filter(
        email_verified_at__isnull=True, is_active=False, last_login__isnull=True,
        is_deleted=False, date_joined__lt=cutoff,
    )
    victims = list(stale.order_by("pk"))
    if not dry_run and victims:
        User.objects.filter(pk__in=[user.pk for user in victims]).delete()
        logger.info("purged %d unverified accounts older than %d days", len(victims), days)
    return victims


# What another app keeps of an account beyond its rows (a video's stored files), erased
# before the account's row goes. Accounts import no app above them, so each app declares
# its own once, when Django starts (media_pipeline/apps.py); an eraser is idempotent and
# raises when it cannot finish, which keeps the account for the next purge.
AccountEraser = Callable[..., None]  # called as eraser(user=user)
_erasers: list[AccountEraser] = []


def erasers_register(*erasers: AccountEraser) -> None:
    _erasers.extend(eraser for eraser in erasers if eraser not in _erasers)


class PurgeIncomplete(Exception):
    """Some accounts could not be purged (an eraser failed); they are kept, whole, for
    the next purge. `purged` lists those that were."""

    def __init__(self, purged: list[User], failures: list[str]):
        self.purged, self.failures = purged, failures
        super().__init__(f"{len(failures)} account(s) kept for the next purge: "
                         + "; ".join(failures))


def users_purge_deleted(*, days: int, dry_run: bool) -> list[User]:
    """Purge for good the accounts deleted (user_soft_delete) more than `days` ago.

    Until then an account can be restored; after, nothing personal remains: the user
    row goes, and with it (on_delete=CASCADE) its memberships, API tokens, jobs, video
    rows and admin log entries; the apps' erasers first remove what the rows only point
    to (each video's stored original and HLS, through the storage layer). What other
    people made with the account stays: its maps and their ops are kept, naming no
    author (Mindmap.created_by and Op.actor are SET_NULL). Its username and email are
    free afterwards even where the conditional unique constraints are missing.

    Each account is purged in a transaction of its own, under its row's lock, and only
    if it is still deleted then (a restore that came first wins). The lock is held while
    the erasers call storage, unlike elsewhere: only a restore of this very account
    waits, and it never finds an account half erased. Raises PurgeIncomplete after
    trying every account if some could not be purged.
    """
    cutoff = timezone.now() - timedelta(days=days)
    due = list(User.objects.filter(is_deleted=True, deleted_at__lt=cutoff).order_by("pk"))
    if dry_run:
        return due
    purged, failures = [], []
    for user in due:
        try:
            if _purge_one(user.pk, cutoff):
                purged.append(user)
        except Exception as error:  # an eraser's storage, a database error: next time
            logger.exception("user_id=%s: purge failed; the account is kept", user.pk)
            failures.append(f"user {user.pk}: {type(error).__name__}: {error}")
    if purged:
        logger.info("purged %d account(s) deleted over %d days ago", len(purged), days)
    if failures:
        raise PurgeIncomplete(purged, failures)
    return purged


def _purge_one(user_id: int, cutoff) -> bool:
    with transaction.atomic():
        user = (User.objects.select_for_update()
                .filter(pk=user_id, is_deleted=True, deleted_at__lt=cutoff).first())
        if user is None:  # restored meanwhile, or purged by another run
            return False
        for erase in _erasers:
            erase(user=user)
        User.objects.filter(pk=user_id).delete()
    logger.info("user_id=%s purged (deleted %s)", user_id, user.deleted_at.isoformat())
    return True


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
