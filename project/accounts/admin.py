"""The ops console's accounts (docs/operations.md, "The ops console"): soft delete and
restore through their services (project/console.py runs and reports them). Deletion
is never a field edit: `is_deleted` and `deleted_at` are read-only, and the admin's
own delete (a hard delete, cascading to the person's memberships, jobs and videos
and skipping every side effect) is off."""

from functools import partial

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm

from project.accounts.actions import (
    AccountRefused,
    sockets_revoke,
    token_revoke,
    user_credentials_reset,
    user_restore,
    user_soft_delete,
)
from project.accounts.models import ApiToken, User
from project.console import OPERATE, Operated, console_run


class PasswordSetByStaffForm(AdminPasswordChangeForm):
    """A password set here is a reset: the person's API tokens are revoked and their
    sockets closed (their other sessions end through Django's session hash)."""

    def save(self, commit=True):
        user = super().save(commit=commit)
        if commit:
            user_credentials_reset(user=user)
        return user


def _soft_delete(request, user: User) -> None:
    if user.pk == request.user.pk:
        raise AccountRefused("This is your own account: another staff user must delete it.")
    user_soft_delete(user=user)


@admin.register(User)
class MoaUserAdmin(Operated, UserAdmin):
    list_display = ("username", "email", "is_active", "is_deleted", "email_verified_at")
    list_filter = ("is_active", "is_deleted", "is_staff")
    readonly_fields = ("is_deleted", "deleted_at")
    change_password_form = PasswordSetByStaffForm
    actions = ("soft_delete", "restore")
    fieldsets = (*UserAdmin.fieldsets,
                 ("Moa", {"fields": ("display_name", "is_deleted", "deleted_at",
                                     "email_verified_at", "invitation_pending",
                                     "invited_at")}))

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            sockets_revoke(user_id=obj.pk)  # deactivated here: end their sockets too

    def has_delete_permission(self, request, obj=None):
        return False  # soft delete (the action) instead: see the module's docstring

    @admin.action(permissions=OPERATE,
                  description="Soft delete the selected accounts (sessions, tokens and "
                              "sockets end)")
    def soft_delete(self, request, queryset):
        console_run(request, queryset.order_by("pk"), verb="Soft delete",
                    apply=partial(_soft_delete, request), refusals=(AccountRefused,))

    @admin.action(permissions=OPERATE, description="Restore the selected deleted accounts")
    def restore(self, request, queryset):
        console_run(request, queryset.order_by("pk"), verb="Restore",
                    apply=lambda user: user_restore(user_id=user.pk),
                    refusals=(AccountRefused,))


def _revoke(token: ApiToken) -> None:
    token_revoke(user=token.user, token_id=token.pk)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are made by their owner (the secret is shown once, to them); here they
    are listed and revoked through token_revoke (the sockets opened with one close)."""

    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "expires_at")
    list_select_related = ("user",)
    readonly_fields = ("user", "name", "prefix", "digest", "created_at", "last_used_at",
                       "expires_at")

    def has_add_permission(self, request):
        return False

    def delete_model(self, request, obj):
        console_run(request, [obj], verb="Revoke token", apply=_revoke, refusals=())

    def delete_queryset(self, request, queryset):
        console_run(request, queryset.select_related("user"), verb="Revoke token",
                    apply=_revoke, refusals=())
