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


# --- Requester webhooks (marketplace/webhooks/) -------------------------------------------
# Imported here so this block stays a self-contained append.
from .models import WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint  # noqa: E402
from .webhooks.services import webhook_endpoint_enable  # noqa: E402


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    """Read-only apart from re-enabling and deleting: endpoints are made through the API,
    where the URL passes the SSRF checks; the nonce (the secret's seed) is never shown."""

    list_display = ("id", "organization", "url", "is_active", "failing_since", "disabled_at",
                    "created_at")
    list_filter = ("is_active",)
    search_fields = ("url", "organization__name")
    exclude = ("secret_nonce",)
    readonly_fields = ("organization", "created_by", "url", "events", "is_active",
                       "failing_since", "disabled_at", "disabled_reason", "created_at")
    actions = ["enable_endpoints"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Re-enable selected endpoints")
    def enable_endpoints(self, request, queryset):
        for endpoint in queryset.filter(is_active=False):
            webhook_endpoint_enable(endpoint=endpoint, actor=request.user)


class WebhookDeliveryAttemptInline(admin.TabularInline):
    model = WebhookDeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = ("number", "started_at", "duration_ms", "status_code", "error")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("public_id", "endpoint", "event", "status", "attempts", "next_attempt_at",
                    "last_status_code", "created_at")
    list_filter = ("status", "event")
    search_fields = ("public_id",)
    inlines = [WebhookDeliveryAttemptInline]
    # The delivery state machine belongs to webhooks/delivery.py; this is a log viewer.
    readonly_fields = ("public_id", "endpoint", "event", "body", "status", "attempts",
                       "next_attempt_at", "lease_expires_at", "last_status_code",
                       "last_error", "created_at", "delivered_at")

    def has_add_permission(self, request) -> bool:
        return False
