from rest_framework import serializers

from marketplace.enums import Sensitivity


class SensitivityInput(serializers.Serializer):
    sensitivity = serializers.ChoiceField(choices=Sensitivity.choices)
    reason = serializers.CharField(max_length=5000, required=False, allow_blank=True,
                                   default="", help_text="Required when lowering")


class ItemSensitivityOutput(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField(allow_null=True)
    sensitivity = serializers.CharField()
    pii_types = serializers.SerializerMethodField()

    def get_pii_types(self, item) -> list[str]:
        return sorted(item.pii_types)


class AccessRecordEntry(serializers.Serializer):
    assignment_id = serializers.IntegerField()
    worker_id = serializers.CharField(help_text="Per-project pseudonym (admins: worker id)")
    served_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    status = serializers.CharField()
    instructions_version = serializers.IntegerField()


class AccessRecordOutput(serializers.Serializer):
    item_id = serializers.IntegerField()
    sensitivity = serializers.CharField()
    masked_for_workers = serializers.BooleanField()
    access = AccessRecordEntry(many=True)


class ErasureInput(serializers.Serializer):
    external_ids = serializers.ListField(child=serializers.JSONField(), max_length=1000,
                                         allow_empty=False)
    reason = serializers.CharField(max_length=5000, required=False, allow_blank=True,
                                   default="")


class ErasureReceiptOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    project_id = serializers.IntegerField()
    reason = serializers.CharField()
    external_id_hashes = serializers.ListField(
        child=serializers.CharField(), help_text="SHA-256 of each external_id requested")
    counts = serializers.JSONField(help_text="What was erased, per place")
    created_at = serializers.DateTimeField()


class PrivacyEventOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    item_id = serializers.IntegerField(allow_null=True)
    actor_id = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField()
    details = serializers.JSONField()
    created_at = serializers.DateTimeField()
