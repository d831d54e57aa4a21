from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import IdempotencyRecord, User


@admin.register(User)
class QuorumUserAdmin(UserAdmin):
    list_display = ("email", "role", "is_staff", "is_active", "date_joined")
    list_filter = ("role", "is_staff", "is_active")
    search_fields = ("email",)
    ordering = ("email",)
    fieldsets = (
        (None, {"fields": ("email", "password", "role")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups",
                                    "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",),
                             "fields": ("email", "role", "password1", "password2")}),)


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    list_display = ("key", "user", "method", "path", "response_status", "created_at")
    search_fields = ("key", "user__email")
    readonly_fields = [f.name for f in IdempotencyRecord._meta.fields]
