from rest_framework import serializers

from ..enums import AutomationMode
from ..services import MAX_ENDPOINT_BATCH_SIZE


class PredictionsInput(serializers.Serializer):
    # Entries are checked by automation.services.predictions_store (per task type, with
    # the item's data), so errors name predictions.<index>.<field>.
    predictions = serializers.ListField(
        child=serializers.JSONField(), allow_empty=False, max_length=10_000,
        help_text="[{external_id, value, score, model_version, probabilities?}]; replaces "
        "each item's earlier prediction. probabilities (optional, choice projects): "
        "{choice: p} summing to 1; active mode ranks by their entropy")


class PredictionsOutput(serializers.Serializer):
    updated = serializers.IntegerField(help_text="Predictions stored")


class SettingsInput(serializers.Serializer):
    automation = serializers.ChoiceField(choices=AutomationMode.choices, required=False,
                                         source="mode")
    auto_accept_threshold = serializers.FloatField(min_value=0, max_value=1, required=False)
    spot_check_rate = serializers.FloatField(min_value=0, max_value=1, required=False)
    accuracy_target = serializers.FloatField(min_value=0, max_value=1, required=False)
    min_spot_checks = serializers.IntegerField(min_value=1, max_value=100_000,
                                               required=False)
    builtin_model = serializers.BooleanField(required=False)


class CalibrationBucket(serializers.Serializer):
    score_from = serializers.FloatField()
    score_to = serializers.FloatField()
    items = serializers.IntegerField()
    accuracy = serializers.FloatField()


class ModelVersionReport(serializers.Serializer):
    model_version = serializers.CharField()
    items = serializers.IntegerField(help_text="Items carrying this version's prediction")
    compared_with_crowd = serializers.IntegerField()
    agreement = serializers.FloatField(allow_null=True,
                                       help_text="Share agreeing with the crowd's result")
    spot_checked = serializers.IntegerField()
    accuracy = serializers.FloatField(allow_null=True, help_text="On the spot-check sample")
    accuracy_lower_bound = serializers.FloatField(allow_null=True, help_text="Wilson")
    confusion = serializers.DictField(allow_null=True,
                                      help_text="predicted -> crowd result -> count")
    calibration = CalibrationBucket(many=True)
    auto_accepted = serializers.IntegerField()
    returned_to_crowd = serializers.IntegerField()
    saved_cents = serializers.IntegerField(help_text="What the crowd would have cost")


class PrelabelReport(serializers.Serializer):
    labels_on_predicted_items = serializers.IntegerField()
    kept = serializers.IntegerField()
    changed = serializers.IntegerField()
    change_rate = serializers.FloatField(allow_null=True)
    gold_answered = serializers.IntegerField()
    decoys_kept = serializers.IntegerField()


class BuiltinRun(serializers.Serializer):
    model_version = serializers.CharField()
    trained_on = serializers.IntegerField()
    holdout_accuracy = serializers.FloatField(allow_null=True)
    predicted = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class AutomationOutput(serializers.Serializer):
    automation = serializers.CharField()
    auto_accept_threshold = serializers.FloatField()
    spot_check_rate = serializers.FloatField()
    accuracy_target = serializers.FloatField()
    min_spot_checks = serializers.IntegerField()
    builtin_model = serializers.BooleanField()
    paused = serializers.BooleanField()
    paused_model_version = serializers.CharField()
    paused_reason = serializers.CharField()
    paused_at = serializers.DateTimeField(allow_null=True)
    model_versions = ModelVersionReport(many=True)
    prelabel = PrelabelReport()
    builtin_model_runs = BuiltinRun(many=True)


class PredictionEndpointInput(serializers.Serializer):
    url = serializers.CharField(max_length=2000, help_text="http(s) URL of the model server; "
                                "public addresses only (SSRF guard, as for webhooks)")
    batch_size = serializers.IntegerField(min_value=1, max_value=MAX_ENDPOINT_BATCH_SIZE,
                                          default=50,
                                          help_text="Items per request")


class PredictionRunError(serializers.Serializer):
    item_id = serializers.IntegerField(allow_null=True)
    field = serializers.CharField(allow_null=True)
    message = serializers.CharField()


class PredictionRunOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField(help_text="queued, running, succeeded or failed")
    trigger = serializers.CharField(help_text="import or manual")
    items_sent = serializers.IntegerField()
    predictions_stored = serializers.IntegerField()
    requests = serializers.IntegerField(help_text="HTTP attempts, retries included")
    errors = PredictionRunError(many=True, help_text="Bad answers per item, and why a "
                                "failed run stopped (at most 100)")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class PredictionEndpointRegistered(serializers.Serializer):
    url = serializers.CharField()
    batch_size = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class PredictionEndpointOutput(PredictionEndpointRegistered):
    runs = PredictionRunOutput(many=True, help_text="The latest runs, newest first")


class PredictionEndpointCreated(PredictionEndpointRegistered):
    secret = serializers.CharField(help_text="Shown once: verify the Quorum-Signature "
                                   "header of Quorum's requests with it")
