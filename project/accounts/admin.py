from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from project.accounts.actions import sockets_revoke
from project.accounts.models import ApiToken, User


@admin.register(User)
class MoaUserAdmin(UserAdmin):
    list_display = ("username", "email", "is_active", "is_deleted", "email_verified_at")
    list_filter = ("is_active", "is_deleted", "is_staff")
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            sockets_revoke(user_id=obj.pk)  # deactivated here: end their sockets too

    fieldsets = (*UserAdmin.fieldsets,
                 ("Moa", {"fields": ("display_name", "is_deleted", "deleted_at",
                                     "email_verified_at", "invitation_pending",
                                     "invited_at")}))


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "expires_at")
    readonly_fields = ("prefix", "digest")
