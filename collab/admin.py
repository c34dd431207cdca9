"""The ops console's teams, memberships and maps (docs/operations.md, "The ops
console").

A membership is added (in the memberships list) through membership_ensure (a new
owner's jobs socket follows the team) and removed through team_actions.membership_end
(the person's sockets of that team close with 4403; a team's last owner stays), from
the team's inline (read-only rows with a *Delete* box) or the memberships list; roles
change by the list's actions (membership_role_change), never by a field. Teams and
maps are soft-deleted and restored by actions, through the services owners use (their
sockets close 4404): the operator acts with an owner's rights (`actor_id=None`,
collab/team_actions.py). A raw delete, which would cascade to every op, job and video
under them, is off, and `is_deleted` is read-only.
"""

from __future__ import annotations

from django.contrib import admin

from collab import team_actions
from collab.actions import membership_ensure
from collab.models import Membership, Mindmap, Team
from project.console import Operated, console_action, console_run
from project.refusals import Refusal

OPERATOR = None  # team_actions' actor for the console: an owner's rights on any team


def _add(membership: Membership) -> None:
    """Through membership_ensure; the admin's unsaved instance takes the row's id (the
    admin links to it and logs it)."""
    membership.pk = membership_ensure(team=membership.team, user=membership.user,
                                      role=membership.role).pk


def _remove(membership: Membership) -> None:
    team_actions.membership_end(team_id=membership.team_id, actor_id=OPERATOR,
                                user_id=membership.user_id)


def _role_setter(role: str):
    def set_role(membership: Membership) -> None:
        team_actions.membership_role_change(team_id=membership.team_id, actor_id=OPERATOR,
                                            user_id=membership.user_id, role=role)
    return set_role


def _soft_delete_and_restore(noun: str, delete, restore) -> tuple:
    """The pair of actions of teams and of maps: through the owners' services."""
    return (
        console_action(name="soft_delete", verb=f"Delete {noun}", apply=delete,
                       description=f"Soft delete the selected {noun}s (their sockets close)",
                       refusals=(Refusal,)),
        console_action(name="restore", verb=f"Restore {noun}", apply=restore,
                       description=f"Restore the selected deleted {noun}s",
                       refusals=(Refusal,)))


class MembershipInline(admin.TabularInline):
    """A team's members, read-only (one query for all: a raw-id widget would look each
    one up), each with its *Delete* box; members are added from the memberships list."""

    model = Membership
    fields = readonly_fields = ("user", "role", "created_at")
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Team)
class TeamAdmin(Operated, admin.ModelAdmin):
    list_display = ("name", "id", "created_at", "is_deleted")
    list_filter = ("is_deleted",)
    search_fields = ("name",)
    readonly_fields = ("is_deleted", "deleted_at", "created_at")
    inlines = (MembershipInline,)
    actions = _soft_delete_and_restore(
        "team", lambda team: team_actions.team_delete(team_id=team.pk, actor_id=OPERATOR),
        lambda team: team_actions.team_undelete(team_id=team.pk))

    def has_delete_permission(self, request, obj=None):
        return False

    def save_formset(self, request, form, formset, change):
        """The inline's removals, each through its service."""
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)  # fills deleted_objects, writes nothing
        if formset.deleted_objects:
            console_run(request, formset.deleted_objects, verb="Remove member",
                        apply=_remove, refusals=(Refusal,))


@admin.register(Membership)
class MembershipAdmin(Operated, admin.ModelAdmin):
    list_display = ("user", "team", "role", "created_at")
    list_filter = ("role", ("team", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("user", "team")
    search_fields = ("user__username", "team__name")
    fields = ("team", "user", "role")
    raw_id_fields = ("user", "team")

    actions = (
        console_action(name="make_owner", verb="Make owner",
                       description="Make the selected members owners",
                       apply=_role_setter(Membership.Role.OWNER), refusals=(Refusal,)),
        console_action(name="make_member", verb="Make member",
                       description="Make the selected owners members (a team keeps one "
                                   "owner)",
                       apply=_role_setter(Membership.Role.MEMBER), refusals=(Refusal,)),
        console_action(name="remove", verb="Remove member",
                       description="Remove the selected members from their teams (their "
                                   "sockets of the team close)",
                       apply=_remove, refusals=(Refusal,)),
    )

    def has_change_permission(self, request, obj=None):
        return False  # added and removed, roles by the actions: never a field edit

    def has_delete_permission(self, request, obj=None):
        # Removed by the action, which reports what it did; the stock delete would
        # also announce "deleted" for a last owner the service kept.
        return False

    def save_model(self, request, obj, form, change):
        console_run(request, [obj], verb="Add member", apply=_add, refusals=())


@admin.register(Mindmap)
class MindmapAdmin(Operated, admin.ModelAdmin):
    list_display = ("title", "team", "node_count", "seq", "created_at", "is_deleted")
    list_filter = ("is_deleted", ("team", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("team",)
    search_fields = ("title", "team__name")
    fields = ("title", "team", "created_by", "node_count", "content_bytes", "seq",
              "trimmed_seq", "created_at", "is_deleted", "deleted_at")
    # The title is edited on the board (an op); the rest is the op log's bookkeeping.
    readonly_fields = fields

    actions = _soft_delete_and_restore(
        "map", lambda mindmap: team_actions.map_delete(map_id=mindmap.pk, actor_id=OPERATOR),
        lambda mindmap: team_actions.map_undelete(map_id=mindmap.pk, actor_id=OPERATOR))

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
