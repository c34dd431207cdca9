from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from project.accounts.models import ApiToken, User


@admin.register(User)
class MoaUserAdmin(UserAdmin):
    list_display = ("username", "email", "is_active", "is_deleted", "email_verified_at")
    list_filter = ("is_active", "is_deleted", "is_staff")
    fieldsets = (*UserAdmin.fieldsets,
                 ("Moa", {"fields": ("display_name", "is_deleted", "deleted_at",
                                     "email_verified_at", "must_change_password")}))


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "expires_at")
    readonly_fields = ("prefix", "digest")
