from django.conf import settings
from django.db import models
from django.db.models import Q

from .enums import (
    DisputeOutcome,
    DisputeStatus,
    QualityActionKind,
    QualityRule,
    ReviewStatus,
    Verdict,
)


class QualitySettings(models.Model):
    """A project's quality rules and grading tolerances; defaults apply without a row."""

    project = models.OneToOneField("marketplace.Project", on_delete=models.CASCADE,
                                   related_name="quality_settings")
    min_gold_before_suspension = models.PositiveIntegerField(default=10)
    fast_seconds_per_item = models.FloatField(null=True, blank=True,
                                              help_text="Flag submissions faster than this")
    max_return_rate = models.FloatField(default=0.5)
    min_claims_for_return_rule = models.PositiveIntegerField(default=10)
    max_disagreement_rate = models.FloatField(default=0.6)
    min_items_for_disagreement_rule = models.PositiveIntegerField(default=20)
    spot_check_rate = models.FloatField(default=0.0, help_text="Share of submissions reviewed")
    multi_choice_min_jaccard = models.FloatField(default=1.0)
    rating_max_distance = models.PositiveIntegerField(default=0)
    text_min_similarity = models.FloatField(default=0.9)
    spans_min_f1 = models.FloatField(default=0.8)
    bbox_min_iou = models.FloatField(default=0.5)
    ranking_min_kendall_tau = models.FloatField(default=0.8)

    def __str__(self) -> str:
        return f"Quality settings {self.pk}, project {self.project_id}"


class WorkerProjectStats(models.Model):
    # uniq_worker_project_stats leads with the worker: no index of its own.
    worker = models.ForeignKey("workers.WorkerProfile", on_delete=models.CASCADE,
                               related_name="+", db_index=False)
    project = models.ForeignKey("marketplace.Project", on_delete=models.CASCADE,
                                related_name="+")
    gold_seen = models.PositiveIntegerField(default=0)
    gold_correct = models.PositiveIntegerField(default=0)
    accuracy_lower_bound = models.FloatField(
        null=True, blank=True, help_text="Wilson lower bound over gold and spot checks")
    submitted = models.PositiveIntegerField(default=0)
    fast_submissions = models.PositiveIntegerField(default=0)
    returned = models.PositiveIntegerField(default=0)
    claimed = models.PositiveIntegerField(default=0)
    items_compared = models.PositiveIntegerField(default=0)
    items_disagreed = models.PositiveIntegerField(default=0)
    reviews_passed = models.PositiveIntegerField(default=0)
    reviews_failed = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["worker", "project"],
                                               name="uniq_worker_project_stats")]

    # The worker's record on the project: gold answers and spot-check verdicts alike.
    @property
    def record_seen(self) -> int:
        return self.gold_seen + self.reviews_passed + self.reviews_failed

    @property
    def record_correct(self) -> int:
        return self.gold_correct + self.reviews_passed

    def counters(self) -> dict:
        """What rules count, frozen into a lifted suspension as its new starting point."""
        return {"record_seen": self.record_seen, "record_correct": self.record_correct,
                "claimed": self.claimed, "returned": self.returned,
                "items_compared": self.items_compared, "items_disagreed": self.items_disagreed}

    def __str__(self) -> str:
        return f"Worker project stats {self.pk}, project {self.project_id}"


class WorkerSkillStats(models.Model):
    worker = models.ForeignKey("workers.WorkerProfile", on_delete=models.CASCADE,
                               related_name="+")
    skill = models.ForeignKey("workers.Skill", on_delete=models.CASCADE, related_name="+")
    gold_seen = models.PositiveIntegerField(default=0)
    gold_correct = models.PositiveIntegerField(default=0)
    accuracy_lower_bound = models.FloatField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["worker", "skill"],
                                               name="uniq_worker_skill_stats")]

    def __str__(self) -> str:
        return f"Worker skill stats {self.pk}, worker {self.worker_id}"


class QualityAction(models.Model):
    """A quality rule that fired, with its reason; shown to the worker. A suspension stays
    in force until lifted by the requester or an admin."""

    worker = models.ForeignKey("workers.WorkerProfile", on_delete=models.CASCADE,
                               related_name="+")
    project = models.ForeignKey("marketplace.Project", on_delete=models.CASCADE,
                                related_name="+")
    rule = models.CharField(max_length=32, choices=QualityRule.choices)
    kind = models.CharField(max_length=16, choices=QualityActionKind.choices)
    reason = models.TextField()
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    lift_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One standing suspension per worker and project; a rule firing again while
            # suspended adds nothing.
            models.UniqueConstraint(
                fields=["worker", "project"],
                condition=Q(kind=QualityActionKind.SUSPENDED, lifted_at__isnull=True),
                name="one_live_suspension"),
        ]
        indexes = [models.Index(fields=["worker", "project", "kind"])]

    def __str__(self) -> str:
        return f"Quality action {self.pk} ({self.kind}), project {self.project_id}"


class ReviewerGrant(models.Model):
    worker = models.ForeignKey("workers.WorkerProfile", on_delete=models.CASCADE,
                               related_name="+")
    skill = models.ForeignKey("workers.Skill", on_delete=models.CASCADE, related_name="+")
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["worker", "skill"],
                                               name="uniq_reviewer_grant")]

    def __str__(self) -> str:
        return f"Reviewer grant {self.pk}, worker {self.worker_id}"


class Review(models.Model):
    """A spot check: a submission waiting for a reviewer's verdict."""

    assignment = models.OneToOneField("marketplace.Assignment", on_delete=models.CASCADE,
                                      related_name="review")
    project = models.ForeignKey("marketplace.Project", on_delete=models.CASCADE,
                                related_name="+")
    status = models.CharField(max_length=16, choices=ReviewStatus.choices,
                              default=ReviewStatus.PENDING)
    reviewer = models.ForeignKey("workers.WorkerProfile", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    claimed_until = models.DateTimeField(null=True, blank=True)
    verdict = models.CharField(max_length=16, choices=Verdict.choices, blank=True)
    reason = models.TextField(blank=True)
    # Set when a requester's rejection went past its rejection ceiling and became a
    # request for this spot check (flows.decisions.reject).
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    request_reason_code = models.CharField(max_length=32, blank=True)
    request_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"Review {self.pk} ({self.status}), project {self.project_id}"


class Dispute(models.Model):
    assignment = models.OneToOneField("marketplace.Assignment", on_delete=models.CASCADE,
                                      related_name="dispute")
    worker = models.ForeignKey("workers.WorkerProfile", on_delete=models.CASCADE,
                               related_name="+")
    message = models.TextField()
    status = models.CharField(max_length=16, choices=DisputeStatus.choices,
                              default=DisputeStatus.OPEN, db_index=True)
    outcome = models.CharField(max_length=16, choices=DisputeOutcome.choices, blank=True)
    note = models.TextField(blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Dispute {self.pk} ({self.status}), worker {self.worker_id}"
