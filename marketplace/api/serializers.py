from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from automation.enums import AutomationMode
from automation.models import AutomationSettings
from config.input_rules import MAX_BIGINT

from ..enums import PayModel, PiiDetection, Sensitivity, TaskType
from ..services.projects import MAX_ASSIGNMENT_DURATION_SECONDS


class SkillRequirementField(serializers.Serializer):
    skill = serializers.SlugField(help_text="Skill slug from GET /api/v1/skills")
    min_level = serializers.IntegerField(min_value=0, max_value=100, default=0)


class ProjectInput(serializers.Serializer):
    """Types and ranges; rules spanning fields live in services.projects."""

    name = serializers.CharField(max_length=200)
    instructions = serializers.CharField(allow_blank=True, default="",
                                         help_text="Markdown shown to workers")
    task_type = serializers.ChoiceField(choices=TaskType.choices)
    label_config = serializers.JSONField(help_text="Shape depends on task_type")
    required_skills = SkillRequirementField(many=True, default=list)
    domain = serializers.SlugField(required=False, allow_null=True)
    sensitivity = serializers.ChoiceField(choices=Sensitivity.choices,
                                          default=Sensitivity.PUBLIC)
    pay_model = serializers.ChoiceField(choices=PayModel.choices)
    reward_cents = serializers.IntegerField(min_value=0, max_value=10_000_000,
                                            required=False, allow_null=True)
    hourly_rate_cents = serializers.IntegerField(min_value=0, max_value=10_000_000,
                                                 required=False, allow_null=True)
    max_seconds_per_assignment = serializers.IntegerField(min_value=1, max_value=7 * 24 * 3600,
                                                          required=False, allow_null=True)
    items_per_task = serializers.IntegerField(min_value=1, max_value=1000, default=1)
    gold_per_task = serializers.IntegerField(min_value=0, max_value=100, default=0)
    overlap = serializers.IntegerField(min_value=1, max_value=100, default=1)
    max_overlap = serializers.IntegerField(min_value=1, max_value=100, required=False)
    confidence_target = serializers.FloatField(min_value=0.0, max_value=1.0, required=False,
                                               allow_null=True)
    min_gold_accuracy = serializers.FloatField(min_value=0.0, max_value=1.0, required=False,
                                               allow_null=True)
    assignment_duration_seconds = serializers.IntegerField(
        min_value=30, max_value=MAX_ASSIGNMENT_DURATION_SECONDS, default=3600)
    auto_approve_seconds = serializers.IntegerField(min_value=0, max_value=90 * 24 * 3600,
                                                    default=3 * 24 * 3600)
    budget_cents = serializers.IntegerField(min_value=0, max_value=MAX_BIGINT, required=False,
                                            allow_null=True)
    priority = serializers.IntegerField(min_value=-1000, max_value=1000, default=0)
    pii_detection = serializers.ChoiceField(
        choices=PiiDetection.choices, default=PiiDetection.RAISE,
        help_text="raise: items with personal data get sensitivity pii (default); refuse: "
        "such uploads answer 400; off: no scan")
    mask_pii_for_workers = serializers.BooleanField(
        default=False, help_text="Workers see detected values as [EMAIL], [PHONE]...")
    retention_days = serializers.IntegerField(
        min_value=1, max_value=36500, required=False, allow_null=True,
        help_text="Delete item data and free-text answers this many days after completion")
    retention_keep_results = serializers.BooleanField(
        default=False, help_text="Keep aggregated results when retention deletes the data")
    estimated_seconds_per_task = serializers.IntegerField(
        min_value=1, max_value=7 * 24 * 3600, required=False, allow_null=True,
        help_text="Active seconds one assignment takes; checked against the pay floor at "
        "launch")
    min_effective_hourly_cents = serializers.IntegerField(
        min_value=0, max_value=10_000_000, required=False, allow_null=True,
        help_text="A higher pay floor than the platform's for this project")
    rejection_ceiling_percent = serializers.IntegerField(
        min_value=0, max_value=100, required=False,
        help_text="Rejections of one worker beyond this share become review requests")
    # Stored by the automation app (flows.projects); the rest of its settings, the report
    # and the predictions are under /projects/{id}/automation and /predictions.
    automation = serializers.ChoiceField(
        choices=AutomationMode.choices, required=False,
        help_text="off | prelabel | auto_accept | active")
    auto_accept_threshold = serializers.FloatField(
        min_value=0, max_value=1, required=False,
        help_text="auto_accept: predictions scoring at least this are final")
    spot_check_rate = serializers.FloatField(
        min_value=0, max_value=1, required=False,
        help_text="auto_accept: share of confident predictions the crowd checks")

    def validate(self, attrs):
        unknown = set(self.initial_data) - set(self.fields) if isinstance(
            self.initial_data, dict) else set()
        if unknown:
            raise serializers.ValidationError(
                {name: ["Unknown field."] for name in sorted(unknown)})
        return attrs


class ProjectOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    instructions = serializers.CharField()
    task_type = serializers.CharField()
    label_config = serializers.JSONField()
    required_skills = serializers.SerializerMethodField()
    domain = serializers.SlugField(source="domain.slug", allow_null=True, default=None)
    sensitivity = serializers.CharField()
    pay_model = serializers.CharField()
    reward_cents = serializers.IntegerField(allow_null=True)
    hourly_rate_cents = serializers.IntegerField(allow_null=True)
    max_seconds_per_assignment = serializers.IntegerField(allow_null=True)
    items_per_task = serializers.IntegerField()
    gold_per_task = serializers.IntegerField()
    overlap = serializers.IntegerField()
    max_overlap = serializers.IntegerField()
    confidence_target = serializers.FloatField(allow_null=True)
    min_gold_accuracy = serializers.FloatField(allow_null=True)
    assignment_duration_seconds = serializers.IntegerField()
    auto_approve_seconds = serializers.IntegerField()
    budget_cents = serializers.IntegerField(allow_null=True)
    priority = serializers.IntegerField()
    estimated_seconds_per_task = serializers.IntegerField(allow_null=True)
    min_effective_hourly_cents = serializers.IntegerField(allow_null=True)
    rejection_ceiling_percent = serializers.IntegerField()
    status = serializers.CharField()
    status_reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    launched_at = serializers.DateTimeField(allow_null=True)
    pii_detection = serializers.CharField()
    mask_pii_for_workers = serializers.BooleanField()
    retention_days = serializers.IntegerField(allow_null=True)
    retention_keep_results = serializers.BooleanField()
    instructions_version = serializers.IntegerField(
        help_text="Starts at 1; grows when a launched project's instructions change")
    automation = serializers.SerializerMethodField()
    auto_accept_threshold = serializers.SerializerMethodField()
    spot_check_rate = serializers.SerializerMethodField()

    @staticmethod
    def _automation(project) -> AutomationSettings:
        # Joined in by the selectors (select_related); a project without a row has the
        # defaults.
        return getattr(project, "automation_settings", None) or AutomationSettings()

    def get_automation(self, project) -> str:
        return self._automation(project).mode

    def get_auto_accept_threshold(self, project) -> float:
        return self._automation(project).auto_accept_threshold

    def get_spot_check_rate(self, project) -> float:
        return self._automation(project).spot_check_rate

    def get_required_skills(self, project) -> list[dict]:
        return [{"skill": requirement.skill.slug, "min_level": requirement.min_level}
                for requirement in project.skill_requirements.all()]


class ItemsUploadInput(serializers.Serializer):
    items = serializers.ListField(child=serializers.JSONField(), required=False)
    file = serializers.FileField(required=False, help_text=".jsonl, .csv or .json")


class ImportCreatedOutput(serializers.Serializer):
    created = serializers.IntegerField()
    tasks_created = serializers.IntegerField()
    pii_raised = serializers.IntegerField(
        help_text="Items whose sensitivity was raised because personal data was found")


class ImportQueuedOutput(serializers.Serializer):
    import_id = serializers.IntegerField()
    status = serializers.CharField()


class ImportOutput(serializers.Serializer):
    id = serializers.IntegerField()
    project_id = serializers.IntegerField()
    kind = serializers.SerializerMethodField()
    status = serializers.CharField()
    rows_total = serializers.IntegerField()
    rows_done = serializers.IntegerField()
    items_created = serializers.IntegerField()
    tasks_created = serializers.IntegerField()
    pii_raised = serializers.IntegerField(
        help_text="Items whose sensitivity was raised because personal data was found")
    errors = serializers.JSONField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)

    def get_kind(self, item_import) -> str:
        return "gold" if item_import.is_gold else "items"


class PredictionShown(serializers.Serializer):
    value = serializers.JSONField()
    score = serializers.FloatField()
    model_version = serializers.CharField()


class ItemOutput(serializers.Serializer):
    """Requester view of an item; gold answers are the requester's own data."""

    id = serializers.IntegerField()
    external_id = serializers.CharField(allow_null=True)
    data = serializers.JSONField()
    is_gold = serializers.BooleanField()
    gold_answer = serializers.JSONField(allow_null=True)
    task_id = serializers.IntegerField(allow_null=True)
    result = serializers.JSONField(allow_null=True)
    confidence = serializers.FloatField(allow_null=True)
    sensitivity = serializers.CharField()
    pii_types = serializers.SerializerMethodField(
        help_text="Entity types of the personal data found in the item (never the values)")
    pii_counts = serializers.JSONField(source="pii_types",
                                       help_text="Entity type -> occurrences")
    erased_at = serializers.DateTimeField(allow_null=True)
    prediction = serializers.SerializerMethodField(
        help_text="The latest model prediction {value, score, model_version}, or null")

    def get_pii_types(self, item) -> list[str]:
        return sorted(item.pii_types)

    @extend_schema_field(PredictionShown(allow_null=True))
    def get_prediction(self, item) -> dict | None:
        prediction = getattr(item, "prediction", None)  # reverse one-to-one: may be absent
        if prediction is None:
            return None
        return {"value": prediction.value, "score": prediction.score,
                "model_version": prediction.model_version}


class TaskOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    overlap = serializers.IntegerField()
    item_ids = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_item_ids(self, task) -> list[int]:
        return [item.pk for item in task.items.all()]


class InstructionsVersionOutput(serializers.Serializer):
    version = serializers.IntegerField()
    instructions = serializers.CharField()
    created_at = serializers.DateTimeField()
    gold_graded = serializers.IntegerField(help_text="Gold answers graded under this version")
    gold_correct = serializers.IntegerField()
    gold_accuracy = serializers.FloatField(allow_null=True)
