from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.input_rules import MAX_BIGINT
from marketplace.selectors import rejection_evidence

from ..enums import DisputeOutcome, Verdict


class QualityActionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    project_id = serializers.IntegerField()
    rule = serializers.CharField()
    kind = serializers.CharField()
    reason = serializers.CharField()
    details = serializers.JSONField()
    created_at = serializers.DateTimeField()
    lifted_at = serializers.DateTimeField(allow_null=True)
    lift_reason = serializers.CharField()


class RequesterQualityActionOutput(QualityActionOutput):
    worker_id = serializers.CharField(source="worker_pseudonym", allow_null=True,
                                      help_text="Per-project pseudonym")


class QualitySettingsIO(serializers.Serializer):
    min_gold_before_suspension = serializers.IntegerField(min_value=1, max_value=10_000)
    fast_seconds_per_item = serializers.FloatField(min_value=0, allow_null=True)
    max_return_rate = serializers.FloatField(min_value=0, max_value=1)
    min_claims_for_return_rule = serializers.IntegerField(min_value=1, max_value=10_000)
    max_disagreement_rate = serializers.FloatField(min_value=0, max_value=1)
    min_items_for_disagreement_rule = serializers.IntegerField(min_value=1, max_value=100_000)
    spot_check_rate = serializers.FloatField(min_value=0, max_value=1)
    multi_choice_min_jaccard = serializers.FloatField(min_value=0, max_value=1)
    rating_max_distance = serializers.IntegerField(min_value=0, max_value=1000)
    text_min_similarity = serializers.FloatField(min_value=0, max_value=1)
    spans_min_f1 = serializers.FloatField(min_value=0, max_value=1)
    bbox_min_iou = serializers.FloatField(min_value=0, max_value=1)
    ranking_min_kendall_tau = serializers.FloatField(min_value=-1, max_value=1)

    def validate(self, attrs):
        unknown = set(self.initial_data) - set(self.fields)
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."]
                                               for name in sorted(unknown)})
        return attrs


class DisputeInput(serializers.Serializer):
    assignment_id = serializers.IntegerField(min_value=1, max_value=MAX_BIGINT)
    message = serializers.CharField(max_length=5000)


class DisputeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    assignment_id = serializers.IntegerField()
    worker_id = serializers.IntegerField()
    project_id = serializers.IntegerField(source="assignment.project_id")
    message = serializers.CharField()
    status = serializers.CharField()
    outcome = serializers.CharField(allow_blank=True)
    note = serializers.CharField(allow_blank=True)
    rejection_reason = serializers.CharField(source="assignment.review_reason")
    evidence = serializers.SerializerMethodField(
        help_text="The rejection's reason code and reason, and for gold_failed the gold "
        "items the work missed")

    @extend_schema_field({"type": "object", "nullable": True, "properties": {
        "reason_code": {"type": "string"}, "reason": {"type": "string"},
        "missed_gold": {"type": "array", "items": {"type": "object"}}}})
    def get_evidence(self, dispute):
        return rejection_evidence(assignment=dispute.assignment)
    created_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)


class ResolveInput(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=DisputeOutcome.choices)
    note = serializers.CharField(max_length=5000)


class VerdictInput(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=Verdict.choices)
    reason = serializers.CharField(max_length=5000, allow_blank=True, default="")


class GrantInput(serializers.Serializer):
    skill = serializers.SlugField()


class LiftInput(serializers.Serializer):
    reason = serializers.CharField(max_length=5000, allow_blank=True, default="")


class ResultAnnotationOutput(serializers.Serializer):
    worker_id = serializers.CharField(help_text="Per-project pseudonym")
    value = serializers.JSONField()


class ResultRowOutput(serializers.Serializer):
    """One item of GET /projects/{id}/results (format=json: a list of these; jsonl: one per
    line; csv: these columns, structures as JSON)."""

    item_id = serializers.IntegerField()
    external_id = serializers.CharField(allow_null=True)
    result = serializers.JSONField(allow_null=True)
    confidence = serializers.FloatField(allow_null=True)
    annotations = ResultAnnotationOutput(many=True)
