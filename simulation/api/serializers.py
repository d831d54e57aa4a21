from rest_framework import serializers

from ..engine import MAX_ITEMS


class _MeanSd(serializers.Serializer):
    mean = serializers.FloatField()
    sd = serializers.FloatField(min_value=0)


class _Accuracy(_MeanSd):
    mean = serializers.FloatField(min_value=0, max_value=1)
    sd = serializers.FloatField(min_value=0, max_value=0.5)


class _Seconds(_MeanSd):
    mean = serializers.FloatField(min_value=1, max_value=86_400)
    sd = serializers.FloatField(min_value=0, max_value=86_400)


class SimulationInput(serializers.Serializer):
    workers = serializers.IntegerField(min_value=1, max_value=500)
    accuracy = _Accuracy()
    spammer_share = serializers.FloatField(min_value=0, max_value=1, default=0.0)
    spammer_kind = serializers.ChoiceField(choices=["random", "constant"], default="random")
    seconds_per_task = _Seconds()
    items = serializers.IntegerField(min_value=1, max_value=MAX_ITEMS, required=False,
                                     allow_null=True, default=None,
                                     help_text="Sample size; default all items")
    seed = serializers.IntegerField(min_value=0, max_value=2 ** 31 - 1, required=False,
                                    allow_null=True, default=None)
    sweep = serializers.BooleanField(default=True, help_text="Also try nearby overlap and "
                                     "gold share for recommendations")


class SimulationCreatedOutput(serializers.Serializer):
    id = serializers.IntegerField()


class ReportOutput(serializers.Serializer):
    cost_cents = serializers.IntegerField()
    hours_to_finish = serializers.FloatField(allow_null=True)
    accuracy = serializers.FloatField(allow_null=True)
    accuracy_interval = serializers.ListField(child=serializers.FloatField(), allow_null=True)
    spammer_labels_before_stop = serializers.IntegerField()
    spammer_paid_cents = serializers.IntegerField()
    extra_labels = serializers.IntegerField()
    effective_hourly_cents = serializers.IntegerField(allow_null=True)
    recommendations = serializers.ListField(child=serializers.CharField())


class SimulationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    project_id = serializers.IntegerField()
    status = serializers.CharField()
    progress = serializers.FloatField()
    params = serializers.JSONField()
    report = ReportOutput(allow_null=True)
    detail = serializers.JSONField(allow_null=True)
    error = serializers.CharField()
