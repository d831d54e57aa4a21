import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

from .enums import (
    ApplicationStatus,
    AuditAction,
    Clearance,
    ExamAttemptStatus,
    SkillSource,
    WorkerStatus,
)


class Domain(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name


class Skill(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="skills")

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


def new_worker_pseudonym() -> str:
    return f"wk_{secrets.token_hex(8)}"


class WorkerProfile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                related_name="worker_profile")
    # Stands in for the person on records that outlive an erasure (answers, ledger).
    pseudonym = models.CharField(max_length=32, unique=True, default=new_worker_pseudonym,
                                 editable=False)
    status = models.CharField(max_length=16, choices=WorkerStatus.choices,
                              default=WorkerStatus.APPLICANT, db_index=True)
    full_name = models.CharField(max_length=200, blank=True)
    bio = models.TextField(blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    languages = models.JSONField(default=list, blank=True,
                                 help_text="ISO 639-1 codes, e.g. ['en', 'de']")
    domains = models.ManyToManyField(Domain, blank=True, related_name="+")
    clearance = models.CharField(max_length=16, choices=Clearance.choices,
                                 default=Clearance.NONE)
    terms_version_accepted = models.CharField(max_length=32, blank=True)
    terms_accepted_at = models.DateTimeField(null=True, blank=True)
    status_reason = models.TextField(blank=True)
    erased_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"worker {self.pk} ({self.pseudonym})"


class WorkerSkill(models.Model):
    worker = models.ForeignKey(WorkerProfile, on_delete=models.CASCADE, related_name="skills")
    skill = models.ForeignKey(Skill, on_delete=models.PROTECT, related_name="+")
    level = models.PositiveSmallIntegerField(default=0, help_text="0-100")
    source = models.CharField(max_length=16, choices=SkillSource.choices,
                              default=SkillSource.CLAIMED)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["worker", "skill"], name="uniq_worker_skill"),
            models.CheckConstraint(condition=Q(level__lte=100),
                                   name="worker_skill_level_max_100"),
        ]


class WorkerApplication(models.Model):
    worker = models.ForeignKey(WorkerProfile, on_delete=models.CASCADE,
                               related_name="applications")
    statement = models.TextField()
    credentials = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=ApplicationStatus.choices,
                              default=ApplicationStatus.PENDING, db_index=True)
    reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["worker"],
                                    condition=Q(status=ApplicationStatus.PENDING),
                                    name="one_pending_application_per_worker"),
        ]

    def __str__(self) -> str:
        return f"Worker application {self.pk} ({self.status}), worker {self.worker_id}"


class WorkerAuditEvent(models.Model):
    """Append-only: who did what to which worker, when and why."""

    worker = models.ForeignKey(WorkerProfile, on_delete=models.CASCADE,
                               related_name="audit_events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=32, choices=AuditAction.choices)
    reason = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["worker", "created_at"])]

    def __str__(self) -> str:
        return f"Worker audit event {self.pk} ({self.action}), worker {self.worker_id}"


class WorkerBlock(models.Model):
    """An organization no longer wants this worker on any of its projects."""

    organization = models.ForeignKey("marketplace.Organization", on_delete=models.CASCADE,
                                     related_name="worker_blocks")
    worker = models.ForeignKey(WorkerProfile, on_delete=models.CASCADE, related_name="blocks")
    pseudonym = models.CharField(max_length=32, help_text="How the requester named the worker")
    project = models.ForeignKey("marketplace.Project", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+",
                                help_text="Where the requester made the decision")
    reason = models.TextField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "worker"],
                                    name="uniq_block_per_organization"),
        ]

    def __str__(self) -> str:
        return f"Worker block {self.pk}, project {self.project_id}"


class QualificationExam(models.Model):
    """A project of gold items only that workers take to prove a skill.

    A platform exam (no organization, made by staff) sets the worker's verified skill
    level. An organization's exam qualifies workers for that organization's projects that
    require it and leaves verified levels alone: a requester cannot certify skills for
    the whole marketplace.
    """

    project = models.OneToOneField("marketplace.Project", on_delete=models.CASCADE,
                                   related_name="exam")
    organization = models.ForeignKey("marketplace.Organization", null=True, blank=True,
                                     on_delete=models.CASCADE, related_name="exams")
    skill = models.ForeignKey(Skill, on_delete=models.PROTECT, related_name="exams")
    pass_mark = models.FloatField(help_text="Share of questions to get right, 0..1")
    question_count = models.PositiveIntegerField(help_text="Gold items per attempt")
    retake_cooldown_seconds = models.PositiveIntegerField(default=24 * 3600)
    time_limit_seconds = models.PositiveIntegerField(default=3600)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    @property
    def is_platform(self) -> bool:
        return self.organization_id is None


class ExamAttempt(models.Model):
    exam = models.ForeignKey(QualificationExam, on_delete=models.CASCADE,
                             related_name="attempts")
    worker = models.ForeignKey(WorkerProfile, on_delete=models.CASCADE,
                               related_name="exam_attempts")
    status = models.CharField(max_length=16, choices=ExamAttemptStatus.choices,
                              default=ExamAttemptStatus.STARTED)
    item_ids = models.JSONField(help_text="The gold items served, in order")
    answers = models.JSONField(default=list, blank=True)
    score = models.FloatField(null=True, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One attempt in progress at a time; two racing "start" calls cannot both win.
            models.UniqueConstraint(fields=["exam", "worker"],
                                    condition=Q(status=ExamAttemptStatus.STARTED),
                                    name="one_open_attempt_per_exam"),
        ]
        indexes = [models.Index(fields=["worker", "exam", "status"])]

    def __str__(self) -> str:
        return f"Exam attempt {self.pk} ({self.status}), worker {self.worker_id}"


class ProjectExamRequirement(models.Model):
    """Workers must have passed ``exam`` before they get tasks of ``project``."""

    project = models.ForeignKey("marketplace.Project", on_delete=models.CASCADE,
                                related_name="exam_requirements")
    exam = models.ForeignKey(QualificationExam, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "exam"], name="uniq_project_exam"),
        ]

    def __str__(self) -> str:
        return f"Project exam requirement {self.pk}, project {self.project_id}"
