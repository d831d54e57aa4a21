from django.conf import settings
from django.db import models

from .enums import Clearance, SkillSource, WorkerStatus


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


class WorkerProfile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                related_name="worker_profile")
    status = models.CharField(max_length=16, choices=WorkerStatus.choices,
                              default=WorkerStatus.APPLICANT)
    bio = models.TextField(blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    languages = models.JSONField(default=list, blank=True)
    clearance = models.CharField(max_length=16, choices=Clearance.choices,
                                 default=Clearance.NONE)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"worker {self.pk}"


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
            models.CheckConstraint(condition=models.Q(level__lte=100),
                                   name="worker_skill_level_max_100"),
        ]
