from django.contrib import admin

from .models import (
    Item,
    ItemImport,
    Membership,
    Organization,
    Project,
    ProjectSkillRequirement,
    Task,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "created_at")
    search_fields = ("name",)
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "organization", "role")
    raw_id_fields = ("user", "organization")


class SkillRequirementInline(admin.TabularInline):
    model = ProjectSkillRequirement
    extra = 0


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "organization", "task_type", "status", "pay_model",
                    "overlap", "created_at")
    list_filter = ("status", "task_type", "pay_model", "sensitivity")
    search_fields = ("name", "organization__name")
    raw_id_fields = ("organization", "created_by")
    inlines = [SkillRequirementInline]
    # Status moves only through the services (launch/pause/...), never by editing here.
    readonly_fields = ("status", "launched_at", "created_at", "updated_at")


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "overlap", "status", "created_at")
    list_filter = ("status",)
    raw_id_fields = ("project",)


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "external_id", "is_gold", "task", "confidence")
    list_filter = ("is_gold",)
    search_fields = ("external_id",)
    raw_id_fields = ("project", "task")


@admin.register(ItemImport)
class ItemImportAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "is_gold", "status", "rows_total", "rows_done",
                    "created_at", "finished_at")
    list_filter = ("status", "is_gold")
    exclude = ("payload",)
    readonly_fields = ("project", "created_by", "is_gold", "file_format", "status",
                       "rows_total", "rows_done", "items_created", "tasks_created",
                       "errors", "attempt", "heartbeat_at", "finished_at")
