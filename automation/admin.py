from django.contrib import admin

from .models import AutomationSettings, BuiltinModelRun, Prediction


@admin.register(AutomationSettings)
class AutomationSettingsAdmin(admin.ModelAdmin):
    list_display = ("project", "mode", "auto_accept_threshold", "spot_check_rate",
                    "accuracy_target", "paused_model_version", "paused_at")
    readonly_fields = ("paused_model_version", "paused_reason", "paused_at")


@admin.register(Prediction)
class PredictionAdmin(admin.ModelAdmin):
    list_display = ("item", "project", "model_version", "score", "state")
    list_filter = ("state",)
    raw_id_fields = ("project", "item")


@admin.register(BuiltinModelRun)
class BuiltinModelRunAdmin(admin.ModelAdmin):
    list_display = ("project", "model_version", "trained_on", "holdout_accuracy",
                    "predicted", "created_at")
