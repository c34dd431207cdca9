"""The ops console's teams, memberships and maps (docs/operations.md, "The ops
console").

A membership is added through membership_ensure (a new owner's jobs socket follows
the team) and removed through membership_remove (the person's sockets of that team
close with 4403), from the team's inline as from the memberships list; an existing
membership's user and role are read-only, for no service changes a role. Teams and
maps cannot be deleted here, nor their `is_deleted` flipped: Moa has no service that
deletes either with its side effects (closing the map's sockets), and a raw delete
would cascade to every op, job and video under them.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin

from collab.actions import membership_ensure, membership_remove
from collab.models import Membership, Mindmap, Team
from project.console import console_run


def _add(membership: Membership) -> None:
    """Through membership_ensure; the admin's unsaved instance takes the row's id (the
    admin links to it and logs it)."""
    membership.pk = membership_ensure(team=membership.team, user=membership.user,
                                      role=membership.role).pk


def _remove(membership: Membership) -> None:
    membership_remove(team=membership.team, user=membership.user)


class MembershipForm(forms.ModelForm):
    """An existing membership shows its user and role but cannot change them."""

    class Meta:
        model = Membership
        fields = ("user", "role")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            for field in self.fields.values():
                field.disabled = True


class MembershipInline(admin.TabularInline):
    model = Membership
    form = MembershipForm
    raw_id_fields = ("user",)
    extra = 0


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "id", "created_at", "is_deleted")
    list_filter = ("is_deleted",)
    search_fields = ("name",)
    readonly_fields = ("is_deleted", "deleted_at", "created_at")
    inlines = (MembershipInline,)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_formset(self, request, form, formset, change):
        """The inline's additions and removals, each through its service."""
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)  # fills new_objects and deleted_objects, writes nothing
        if formset.new_objects:
            console_run(request, formset.new_objects, verb="Add member", apply=_add,
                        refusals=())
        if formset.deleted_objects:
            console_run(request, formset.deleted_objects, verb="Remove member",
                        apply=_remove, refusals=())


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "team", "role", "created_at")
    list_filter = ("role", ("team", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("user", "team")
    search_fields = ("user__username", "team__name")
    fields = ("team", "user", "role")
    raw_id_fields = ("user", "team")

    def has_change_permission(self, request, obj=None):
        return False  # added and removed, never edited (no service changes a role)

    def save_model(self, request, obj, form, change):
        console_run(request, [obj], verb="Add member", apply=_add, refusals=())

    def delete_model(self, request, obj):
        console_run(request, [obj], verb="Remove member", apply=_remove, refusals=())

    def delete_queryset(self, request, queryset):
        console_run(request, queryset.select_related("team", "user"), verb="Remove member",
                    apply=_remove, refusals=())


@admin.register(Mindmap)
class MindmapAdmin(admin.ModelAdmin):
    list_display = ("title", "team", "node_count", "seq", "created_at", "is_deleted")
    list_filter = ("is_deleted", ("team", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("team",)
    search_fields = ("title", "team__name")
    fields = ("title", "team", "created_by", "node_count", "content_bytes", "seq",
              "trimmed_seq", "created_at", "is_deleted", "deleted_at")
    # The title is edited on the board (an op); the rest is the op log's bookkeeping.
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
