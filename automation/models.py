"""Model predictions on items and each project's automation settings.

Kept beside the marketplace rather than on its Item and Project rows: the marketplace owns
the labelling loop, this app owns what a model proposed and what auto-accept did with it.
"""
from django.conf import settings as django_settings
from django.db import models
from django.db.models import Q

from .enums import LIVE_RUN_STATUSES, AutomationMode, PredictionRunStatus, PredictionState

MODEL_VERSION_MAX = 100


class AutomationSettings(models.Model):
    project = models.OneToOneField("marketplace.Project", on_delete=models.CASCADE,
                                   related_name="automation_settings")
    mode = models.CharField(max_length=16, choices=AutomationMode.choices,
                            default=AutomationMode.OFF)
    auto_accept_threshold = models.FloatField(
        default=0.9, help_text="Predictions scoring at least this are auto-accepted")
    spot_check_rate = models.FloatField(
        default=0.1, help_text="Share of auto-accept candidates sent to the crowd instead")
    accuracy_target = models.FloatField(
        default=0.9, help_text="Auto-accept stops when the Wilson lower bound of the "
        "model's spot-checked accuracy falls under this")
    min_spot_checks = models.PositiveIntegerField(
        default=10, help_text="Spot checks judged before the gate may stop auto-accept")
    builtin_model = models.BooleanField(
        default=False, help_text="Train Quorum's TF-IDF + logistic regression model on "
        "the project's finalized results (single/multi-choice text projects)")
    paused_model_version = models.CharField(max_length=MODEL_VERSION_MAX, blank=True,
                                            help_text="The model version the gate stopped")
    paused_reason = models.CharField(max_length=300, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "automation settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(auto_accept_threshold__gte=0, auto_accept_threshold__lte=1)
                & Q(spot_check_rate__gte=0, spot_check_rate__lte=1)
                & Q(accuracy_target__gte=0, accuracy_target__lte=1),
                name="automation_settings_rates_0_1"),
        ]

    def __str__(self) -> str:
        return f"Automation {self.mode}, project {self.project_id}"


class Prediction(models.Model):
    """A model's answer for one item (the latest: a new upload replaces it)."""

    project = models.ForeignKey("marketplace.Project", on_delete=models.CASCADE,
                                related_name="+")
    item = models.OneToOneField("marketplace.Item", on_delete=models.CASCADE,
                                related_name="prediction")
    value = models.JSONField(help_text="Validated like a worker's answer")
    score = models.FloatField(help_text="The model's confidence, 0..1")
    probabilities = models.JSONField(
        null=True, blank=True, help_text="Class probabilities {choice: p} when the model "
        "gave them: active mode then ranks by their entropy")
    model_version = models.CharField(max_length=MODEL_VERSION_MAX)
    state = models.CharField(max_length=16, choices=PredictionState.choices,
                             default=PredictionState.NONE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["project", "model_version", "state"])]
        constraints = [
            models.CheckConstraint(condition=Q(score__gte=0, score__lte=1),
                                   name="prediction_score_0_1"),
        ]

    def __str__(self) -> str:
        return f"Prediction {self.model_version} on item {self.item_id}"


class BuiltinModelRun(models.Model):
    """One training of the built-in model: what it learned from and how it scored."""

    project = models.ForeignKey("marketplace.Project", on_delete=models.CASCADE,
                                related_name="+")
    model_version = models.CharField(max_length=MODEL_VERSION_MAX)
    trained_on = models.PositiveIntegerField()
    holdout_accuracy = models.FloatField(null=True, blank=True)
    predicted = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "-created_at", "-id"]


class PredictionEndpoint(models.Model):
    """A requester's model server: Quorum POSTs it batches of items waiting for a
    prediction and stores what it answers.

    Like a webhook endpoint it keeps no secret, only a nonce: requests are signed with the
    secret derived from it (marketplace/webhooks/signing.py), shown once when registered.
    """

    project = models.OneToOneField("marketplace.Project", on_delete=models.CASCADE,
                                   related_name="prediction_endpoint")
    created_by = models.ForeignKey(django_settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    url = models.URLField(max_length=2000, help_text="http(s) URL the batches are POSTed to")
    batch_size = models.PositiveIntegerField(default=50, help_text="Items per request")
    secret_nonce = models.CharField(max_length=64, help_text="Input of the secret derivation")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.url


class PredictionRun(models.Model):
    """One pass of sending a project's unpredicted items to its endpoint."""

    endpoint = models.ForeignKey(PredictionEndpoint, on_delete=models.CASCADE,
                                 related_name="runs")
    status = models.CharField(max_length=16, choices=PredictionRunStatus.choices,
                              default=PredictionRunStatus.QUEUED)
    trigger = models.CharField(max_length=16, help_text="import or manual")
    items_sent = models.PositiveIntegerField(default=0)
    predictions_stored = models.PositiveIntegerField(default=0)
    requests = models.PositiveIntegerField(default=0, help_text="HTTP attempts, retries "
                                           "included")
    errors = models.JSONField(default=list, help_text="[{item_id, field, message}], "
                              "bounded")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One live run per endpoint: two would send the same items twice.
            models.UniqueConstraint(fields=["endpoint"],
                                    condition=Q(status__in=LIVE_RUN_STATUSES),
                                    name="prediction_run_one_live_per_endpoint"),
        ]

    def __str__(self) -> str:
        return f"Prediction run {self.pk} ({self.status})"
