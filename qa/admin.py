from django.contrib import admin, messages

from config.errors import ApiError

from flows import decisions

from . import services
from .enums import DisputeOutcome
from .models import (
    Dispute,
    QualityAction,
    QualitySettings,
    Review,
    ReviewerGrant,
    WorkerProjectStats,
    WorkerSkillStats,
)


@admin.register(QualitySettings)
class QualitySettingsAdmin(admin.ModelAdmin):
    list_display = ("project", "spot_check_rate", "min_gold_before_suspension",
                    "fast_seconds_per_item")
    raw_id_fields = ("project",)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WorkerProjectStats)
class WorkerProjectStatsAdmin(ReadOnlyAdmin):
    list_display = ("worker", "project", "gold_seen", "gold_correct", "accuracy_lower_bound",
                    "submitted", "returned", "items_disagreed")


@admin.register(WorkerSkillStats)
class WorkerSkillStatsAdmin(ReadOnlyAdmin):
    list_display = ("worker", "skill", "gold_seen", "gold_correct", "accuracy_lower_bound")


@admin.register(QualityAction)
class QualityActionAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "worker", "project", "rule", "kind", "lifted_at")
    list_filter = ("rule", "kind")
    actions = ["lift"]

    @admin.action(description="Lift selected suspensions")
    def lift(self, request, queryset):
        for action in queryset.filter(kind="suspended", lifted_at__isnull=True):
            services.suspension_lift(worker_id=action.worker_id, project_id=action.project_id,
                                     actor=request.user, reason="Lifted in admin")


@admin.register(ReviewerGrant)
class ReviewerGrantAdmin(admin.ModelAdmin):
    list_display = ("worker", "skill", "granted_by", "created_at")
    raw_id_fields = ("worker", "granted_by")


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ("assignment", "project", "status", "reviewer", "verdict", "decided_at")
    list_filter = ("status", "verdict")


@admin.register(Dispute)
class DisputeAdmin(admin.ModelAdmin):
    list_display = ("id", "assignment", "worker", "status", "outcome", "created_at")
    list_filter = ("status", "outcome")
    readonly_fields = ("assignment", "worker", "message", "status", "outcome", "note",
                       "resolved_by", "resolved_at", "created_at")
    actions = ["uphold", "overturn"]

    def _resolve(self, request, queryset, outcome):
        for dispute in queryset:
            try:
                decisions.dispute_resolve(dispute_id=dispute.pk, actor=request.user,
                                         outcome=outcome, note=f"{outcome} in admin")
            except ApiError as exc:
                self.message_user(request, f"{dispute}: {exc.detail}", messages.ERROR)

    @admin.action(description="Uphold the rejection")
    def uphold(self, request, queryset):
        self._resolve(request, queryset, DisputeOutcome.UPHOLD)

    @admin.action(description="Overturn: approve and pay")
    def overturn(self, request, queryset):
        self._resolve(request, queryset, DisputeOutcome.OVERTURN)
