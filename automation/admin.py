from django.contrib import admin

from .models import (
    AutomationSettings,
    BuiltinModelRun,
    Prediction,
    PredictionEndpoint,
    PredictionRun,
)


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


@admin.register(PredictionEndpoint)
class PredictionEndpointAdmin(admin.ModelAdmin):
    list_display = ("project", "url", "batch_size", "created_at")
    raw_id_fields = ("project", "created_by")
    # The nonce is the input of the signing secret: never shown.
    exclude = ("secret_nonce",)
    readonly_fields = ("created_at",)

    def has_add_permission(self, request):
        return False  # registered through the API, which shows the secret once


@admin.register(PredictionRun)
class PredictionRunAdmin(admin.ModelAdmin):
    list_display = ("endpoint", "status", "trigger", "items_sent", "predictions_stored",
                    "requests", "created_at", "finished_at")
    list_filter = ("status",)
    readonly_fields = [field.name for field in PredictionRun._meta.fields]
