from django.conf import settings
from rest_framework import serializers

from config.input_rules import MAX_BIGINT

from ..enums import Clearance


class SkillClaimInput(serializers.Serializer):
    skill = serializers.SlugField()
    level = serializers.IntegerField(min_value=0, max_value=100, required=False,
                                     help_text="Self-assessed; verified levels come from "
                                     "exams, gold record or admins")


class ProfileInput(serializers.Serializer):
    full_name = serializers.CharField(max_length=200, allow_blank=True, required=False)
    bio = serializers.CharField(max_length=5000, allow_blank=True, required=False)
    country = serializers.RegexField(r"^[A-Z]{2}$", allow_blank=True, required=False,
                                     help_text="ISO 3166-1 alpha-2, upper case")
    languages = serializers.ListField(child=serializers.RegexField(r"^[a-z]{2,3}$"),
                                      max_length=30, required=False)
    domains = serializers.ListField(child=serializers.SlugField(), max_length=20,
                                    required=False)
    skills = SkillClaimInput(many=True, required=False)

    def validate(self, attrs):
        unknown = set(self.initial_data) - set(self.fields) - {"status"}
        if unknown:
            raise serializers.ValidationError({name: ["Unknown or read-only field."]
                                               for name in sorted(unknown)})
        if "status" in self.initial_data:
            raise serializers.ValidationError({"status": ["Status changes through vetting."]})
        return attrs


class WorkerSkillOutput(serializers.Serializer):
    skill = serializers.SlugField(source="skill.slug")
    level = serializers.IntegerField()
    source = serializers.CharField()
    verified = serializers.SerializerMethodField()

    def get_verified(self, worker_skill) -> bool:
        return worker_skill.source != "claimed"


class ProfileOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    status_reason = serializers.CharField()
    email = serializers.EmailField(source="user.email")
    full_name = serializers.CharField()
    bio = serializers.CharField()
    country = serializers.CharField()
    languages = serializers.ListField(child=serializers.CharField())
    domains = serializers.SerializerMethodField()
    skills = serializers.SerializerMethodField()
    clearance = serializers.CharField()
    terms_version_accepted = serializers.CharField()
    terms_current_version = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_domains(self, worker) -> list[str]:
        return sorted(domain.slug for domain in worker.domains.all())

    def get_skills(self, worker) -> list[dict]:
        skills = sorted(worker.skills.all(), key=lambda ws: ws.skill.slug)
        return WorkerSkillOutput(skills, many=True).data

    def get_terms_current_version(self, worker) -> str:
        return settings.CONFIDENTIALITY_TERMS_VERSION


class ApplicationInput(serializers.Serializer):
    statement = serializers.CharField(max_length=10_000)
    credentials = serializers.ListField(child=serializers.JSONField(), max_length=50,
                                        default=list,
                                        help_text="Degrees, licences, links: free-form")


class ApplicationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    worker_id = serializers.IntegerField()
    email = serializers.EmailField(source="worker.user.email")
    statement = serializers.CharField()
    credentials = serializers.JSONField()
    status = serializers.CharField()
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)


class SkillLevelInput(serializers.Serializer):
    skill = serializers.SlugField()
    level = serializers.IntegerField(min_value=0, max_value=100)


class ApproveInput(serializers.Serializer):
    # The contract requires it: approving without verified skills activates a worker no
    # project can route to, and the real approval then meets a 409.
    skills = SkillLevelInput(many=True)
    clearance = serializers.ChoiceField(choices=Clearance.choices, required=False)
    note = serializers.CharField(allow_blank=True, default="", max_length=5000)

    def validate_skills(self, skills):
        if not skills:
            raise serializers.ValidationError(
                "At least one skill is required: approval sets the worker's verified levels.")
        return skills


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=5000)


class ClearanceInput(serializers.Serializer):
    clearance = serializers.ChoiceField(choices=Clearance.choices)
    reason = serializers.CharField(max_length=5000)


class AdminSkillInput(serializers.Serializer):
    skill = serializers.SlugField()
    level = serializers.IntegerField(min_value=0, max_value=100)
    reason = serializers.CharField(max_length=5000)


class TermsInput(serializers.Serializer):
    version = serializers.CharField(max_length=32)


class AdminWorkerOutput(ProfileOutput):
    user_id = serializers.IntegerField()
    pseudonym = serializers.CharField()
    erased_at = serializers.DateTimeField(allow_null=True)


class ExamInput(serializers.Serializer):
    skill = serializers.SlugField()
    pass_mark = serializers.FloatField(min_value=0.01, max_value=1.0)
    question_count = serializers.IntegerField(min_value=1, max_value=200)
    retake_cooldown_seconds = serializers.IntegerField(min_value=0, max_value=365 * 86400,
                                                       default=24 * 3600)
    time_limit_seconds = serializers.IntegerField(min_value=60, max_value=7 * 86400,
                                                  default=3600)


class AdminExamInput(ExamInput):
    project_id = serializers.IntegerField(min_value=1, max_value=MAX_BIGINT)


class ExamOutput(serializers.Serializer):
    id = serializers.IntegerField()
    project_id = serializers.IntegerField()
    skill = serializers.SlugField(source="skill.slug")
    pass_mark = serializers.FloatField()
    question_count = serializers.IntegerField()
    retake_cooldown_seconds = serializers.IntegerField()
    time_limit_seconds = serializers.IntegerField()
    scope = serializers.SerializerMethodField()

    def get_scope(self, exam) -> str:
        return "platform" if exam.is_platform else "organization"


class WorkerExamOutput(serializers.Serializer):
    id = serializers.IntegerField(source="exam.id")
    name = serializers.CharField(source="exam.project.name")
    skill = serializers.SlugField(source="exam.skill.slug")
    scope = serializers.SerializerMethodField()
    pass_mark = serializers.FloatField(source="exam.pass_mark")
    question_count = serializers.IntegerField(source="exam.question_count")
    time_limit_seconds = serializers.IntegerField(source="exam.time_limit_seconds")
    state = serializers.CharField(help_text="available | in_progress | passed | cooldown")
    retake_available_at = serializers.DateTimeField(allow_null=True)
    best_score = serializers.FloatField(allow_null=True)
    attempts = serializers.IntegerField()

    def get_scope(self, described) -> str:
        return "platform" if described["exam"].is_platform else "organization"


class AnswersInput(serializers.Serializer):
    answers = serializers.ListField(child=serializers.JSONField(), max_length=1000)


class BlockInput(serializers.Serializer):
    worker_id = serializers.CharField(max_length=64,
                                      help_text="The worker's pseudonym on this project")
    reason = serializers.CharField(max_length=5000)


class BlockOutput(serializers.Serializer):
    id = serializers.IntegerField()
    worker_id = serializers.CharField(source="pseudonym",
                                      help_text="The pseudonym the requester blocked")
    reason = serializers.CharField()
    project_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()


class RequiredExamInput(serializers.Serializer):
    exam_id = serializers.IntegerField(min_value=1, max_value=MAX_BIGINT)


class AuditEventOutput(serializers.Serializer):
    action = serializers.CharField()
    actor_id = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField()
    details = serializers.JSONField()
    created_at = serializers.DateTimeField()


class EligibleProjectOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    task_type = serializers.CharField()
    pay_model = serializers.CharField()
    reward_cents = serializers.IntegerField(allow_null=True)
    hourly_rate_cents = serializers.IntegerField(allow_null=True)
