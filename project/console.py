"""The ops console (the Django admin, staff only): how each of its actions runs.

A console action never edits a field: it calls the service the API calls, once per
selected object, so every side effect (sockets closed, events published, workers
woken) happens as it does anywhere else. `console_run` keeps the books: each object
done or refused (the service's own refusal, with its reason), one log line per
object naming the staff user (every line also carries the request id,
project/logcontext.py), and the operator told with admin messages how many were done
and which were skipped and why.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename
from django.http import HttpRequest

logger = logging.getLogger(__name__)


@dataclass
class Outcome:
    done: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (object, why)


def console_run(request: HttpRequest, objects: Iterable, *, verb: str,
                apply: Callable[[object], object],
                refusals: tuple[type[Exception], ...]) -> Outcome:
    """Apply `apply` to each object; a refusal (one of `refusals`) skips that object
    with its message as the reason, anything else is a fault and propagates (a 500
    with the request id: the log has the traceback)."""
    outcome = Outcome()
    staff = {"staff_user": request.user.get_username(), "staff_user_id": request.user.pk}
    for item in objects:
        try:
            apply(item)
        except refusals as refused:
            reason = str(refused)
            outcome.skipped.append((str(item), reason))
            logger.warning("console: %s %s by %s (id %s) refused: %s", verb, item,
                           staff["staff_user"], staff["staff_user_id"], reason, extra=staff)
        else:
            outcome.done.append(str(item))
            logger.info("console: %s %s by %s (id %s)", verb, item, staff["staff_user"],
                        staff["staff_user_id"], extra=staff)
    console_report(request, verb, outcome)
    return outcome


def console_report(request: HttpRequest, verb: str, outcome: Outcome) -> None:
    """One message with the count done, one warning per object skipped, with why."""
    if outcome.done or not outcome.skipped:
        messages.success(request, f"{verb}: {len(outcome.done)} done.")
    for item, reason in outcome.skipped:
        messages.warning(request, f"{verb}: {item} skipped: {reason}")


def console_action(*, name: str, description: str, verb: str,
                   apply: Callable[[object], object],
                   refusals: tuple[type[Exception], ...]) -> Callable:
    """An admin action (listed in a ModelAdmin's `actions`) that runs `apply` on each
    selected object, in primary-key order, through console_run."""
    @admin.action(description=description, permissions=OPERATE)
    def action(modeladmin, request, queryset):
        console_run(request, queryset.order_by("pk"), verb=verb, apply=apply,
                    refusals=refusals)
    action.__name__ = name
    return action


# An action's permission: Django offers an action without one to every staff user who
# may only view the list.
OPERATE = ("operate",)


class Operated:
    """Mixed into a ModelAdmin whose actions declare OPERATE: acting needs the model's
    *change* permission (superusers have it), so a staff user who may only view a list
    never runs its actions, even where the admin itself edits no field."""

    def has_operate_permission(self, request) -> bool:
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}."
                                     f"{get_permission_codename('change', opts)}")


class ReadOnlyAdmin(Operated, admin.ModelAdmin):
    """Rows that change only through their services (and the actions that call them):
    listed and shown, never added, edited or deleted here."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
