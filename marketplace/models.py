from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .enums import (
    AssignmentStatus,
    ImportStatus,
    MemberRole,
    PayModel,
    PiiDetection,
    ProjectStatus,
    Sensitivity,
    TaskStatus,
    TaskType,
)


class Organization(models.Model):
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE,
                                     related_name="memberships")
    # One organization per requester account keeps every request's scope unambiguous.
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="membership")
    role = models.CharField(max_length=16, choices=MemberRole.choices,
                            default=MemberRole.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"


class Project(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT,
                                     related_name="projects")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    name = models.CharField(max_length=200)
    instructions = models.TextField(blank=True, help_text="Markdown shown to workers")
    task_type = models.CharField(max_length=20, choices=TaskType.choices)
    label_config = models.JSONField()
    domain = models.ForeignKey("workers.Domain", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="projects")
    sensitivity = models.CharField(max_length=16, choices=Sensitivity.choices,
                                   default=Sensitivity.PUBLIC)
    pay_model = models.CharField(max_length=16, choices=PayModel.choices)
    reward_cents = models.BigIntegerField(null=True, blank=True)
    hourly_rate_cents = models.BigIntegerField(null=True, blank=True)
    max_seconds_per_assignment = models.PositiveIntegerField(null=True, blank=True)
    items_per_task = models.PositiveIntegerField(default=1)
    gold_per_task = models.PositiveIntegerField(default=0)
    overlap = models.PositiveIntegerField(default=1)
    max_overlap = models.PositiveIntegerField(default=1)
    confidence_target = models.FloatField(null=True, blank=True)
    min_gold_accuracy = models.FloatField(null=True, blank=True)
    assignment_duration_seconds = models.PositiveIntegerField(default=3600)
    auto_approve_seconds = models.PositiveIntegerField(default=3 * 24 * 3600)
    budget_cents = models.BigIntegerField(null=True, blank=True)
    priority = models.IntegerField(default=0, help_text="Higher is routed first")
    # Fair work (issue 13): the launch floor check and the rejection ceiling.
    estimated_seconds_per_task = models.PositiveIntegerField(
        null=True, blank=True,
        help_text="The requester's estimate of active seconds per assignment; the launch "
        "pay-floor check uses it until real timings exist")
    min_effective_hourly_cents = models.BigIntegerField(
        null=True, blank=True,
        help_text="Raises the platform's MIN_EFFECTIVE_HOURLY_CENTS for this project "
        "(never lowers it)")
    rejection_ceiling_percent = models.PositiveSmallIntegerField(
        default=10,
        help_text="Share of one worker's submissions the requester may reject on its own "
        "say; beyond it a rejection becomes a spot-check review request")
    status = models.CharField(max_length=16, choices=ProjectStatus.choices,
                              default=ProjectStatus.DRAFT, db_index=True)
    status_reason = models.CharField(max_length=300, blank=True,
                                     help_text="Why the system paused the project")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    launched_at = models.DateTimeField(null=True, blank=True)
    # Sensitive data (privacy/): see the README section "Sensitive data".
    pii_detection = models.CharField(
        max_length=8, choices=PiiDetection.choices, default=PiiDetection.RAISE,
        help_text="Imports scan items for personal data: raise their sensitivity, refuse "
        "the upload, or do not scan")
    mask_pii_for_workers = models.BooleanField(
        default=False, help_text="Workers see detected personal data as [EMAIL], [PHONE]...")
    retention_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Item data and free-text answers are deleted this "
        "many days after the item is final (or the project ends); null keeps them")
    retention_keep_results = models.BooleanField(
        default=False, help_text="Keep aggregated results when retention deletes item data")
    instructions_version = models.PositiveIntegerField(
        default=1, help_text="Grows when the instructions of a launched project change")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(overlap__gte=1), name="project_overlap_min_1"),
            models.CheckConstraint(condition=Q(max_overlap__gte=models.F("overlap")),
                                   name="project_max_overlap_ge_overlap"),
            models.CheckConstraint(condition=Q(items_per_task__gte=1),
                                   name="project_items_per_task_min_1"),
        ]

    def __str__(self) -> str:
        return self.name


class ProjectInstructions(models.Model):
    """Every version of a project's instructions; assignments name the one they were
    served with, so answers (and gold accuracy) can be read per version."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE,
                                related_name="instruction_versions")
    version = models.PositiveIntegerField()
    instructions = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "version"]
        constraints = [
            models.UniqueConstraint(fields=["project", "version"],
                                    name="uniq_project_instructions_version"),
        ]


class ProjectSkillRequirement(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE,
                                related_name="skill_requirements")
    skill = models.ForeignKey("workers.Skill", on_delete=models.PROTECT, related_name="+")
    min_level = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "skill"], name="uniq_project_skill"),
        ]


class Task(models.Model):
    # Its lookups use the (project, status) index: one index fewer to keep up on the
    # claim's update of ``filled`` (so on every index: the update is not HOT).
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tasks",
                                db_index=False)
    overlap = models.PositiveIntegerField(help_text="Assignments this task needs now")
    # Live-or-finished assignments (assigned, submitted, approved, rejected). Claims raise
    # it only while it is below overlap; the check constraint is the last line of defence.
    filled = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=TaskStatus.choices,
                              default=TaskStatus.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    # Active learning (automation mode "active"): the lowest certainty among the task's
    # items' predictions (score, or 1 - normalised entropy of class probabilities), kept
    # up to date when predictions are stored; null without predictions (served last).
    routing_score = models.FloatField(
        null=True, blank=True,
        help_text="Lowest prediction certainty of the task's items; active mode serves "
        "the lowest first")

    class Meta:
        indexes = [
            models.Index(fields=["project", "status"]),
            # The routing scan: open tasks of a project, most started first.
            # Only tasks with a free slot: full tasks waiting for their last submission
            # or their aggregation would otherwise be walked past on every claim.
            models.Index(fields=["project", "-filled", "id"],
                         condition=Q(status="open", filled__lt=models.F("overlap")),
                         name="task_routing_free_idx"),
            # The routing scan of an "active" project: most uncertain first, as an index
            # scan (a new prediction moves a task in the index: no queue to rebuild).
            models.Index(fields=["project", "routing_score", "id"],
                         condition=Q(status="open", filled__lt=models.F("overlap")),
                         name="task_active_routing_idx"),
            # The tasks nobody has started, in that order: where the claim of a worker far
            # ahead of the crowd goes (services/claim_sql.py). A task leaves it with its
            # first slot taken, and a partial index gets no entry for a row outside it.
            models.Index(fields=["project", "routing_score", "id"],
                         condition=Q(status="open", filled=0),
                         name="task_fresh_active_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(filled__lte=models.F("overlap")),
                                   name="task_filled_within_overlap"),
        ]

    def __str__(self) -> str:
        return f"Task {self.pk} ({self.status}), project {self.project_id}"


class Item(models.Model):
    # Served by the (project, is_gold) index: one index fewer for an import's COPY.
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="items",
                                db_index=False)
    task = models.ForeignKey(Task, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="items")
    external_id = models.CharField(max_length=255, null=True, blank=True)
    data = models.JSONField()
    is_gold = models.BooleanField(default=False)
    gold_answer = models.JSONField(null=True, blank=True,
                                   help_text="Never leaves the server towards workers")
    result = models.JSONField(null=True, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    finalized_at = models.DateTimeField(null=True, blank=True,
                                        help_text="Set when the result is final")
    revision = models.PositiveIntegerField(
        default=0, help_text="How many times the result was announced: 1 at the first "
                             "finalisation, +1 whenever a later decision changes it")
    sensitivity = models.CharField(max_length=16, choices=Sensitivity.choices,
                                   default=Sensitivity.PUBLIC)
    # Detected personal data: entity type -> count, and [path, start, end, type] offsets
    # into ``data`` for masking. Never the values themselves.
    pii_types = models.JSONField(default=dict, blank=True)
    pii_spans = models.JSONField(default=list, blank=True)
    retired_at = models.DateTimeField(
        null=True, blank=True, help_text="Gold only: retired by the requester, never served again")
    erased_at = models.DateTimeField(null=True, blank=True,
                                     help_text="When retention or an erasure request "
                                     "deleted the item's data")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "external_id"],
                                    condition=Q(external_id__isnull=False),
                                    name="uniq_item_external_id_per_project"),
            models.CheckConstraint(
                condition=Q(is_gold=False, gold_answer__isnull=True)
                | Q(is_gold=True, task__isnull=True),
                name="item_gold_has_no_task",
            ),
        ]
        indexes = [models.Index(fields=["project", "is_gold"])]

    def __str__(self) -> str:
        return f"Item {self.pk}, project {self.project_id}"


class ItemImport(models.Model):
    """A large upload processed by Celery; the raw payload waits here for the worker."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="imports")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    is_gold = models.BooleanField(default=False)
    file_format = models.CharField(max_length=8)
    payload = models.BinaryField(help_text="Raw upload; cleared once processed")
    status = models.CharField(max_length=16, choices=ImportStatus.choices,
                              default=ImportStatus.QUEUED)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    items_created = models.PositiveIntegerField(default=0)
    tasks_created = models.PositiveIntegerField(default=0)
    pii_raised = models.PositiveIntegerField(
        default=0, help_text="Items whose sensitivity detected personal data raised")
    errors = models.JSONField(default=list, blank=True)
    # Which delivery of the Celery job owns the import; see services/imports.py.
    attempt = models.PositiveIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Item import {self.pk} ({self.status}), project {self.project_id}"


class WorkerPseudonym(models.Model):
    """How a requester sees a worker on one project: stable, and unlinkable across projects.

    Stored (not only derived) so a requester's pseudonym can be resolved back to the worker
    for blocks and bonuses.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="pseudonyms")
    worker = models.ForeignKey("workers.WorkerProfile", on_delete=models.CASCADE,
                               related_name="+")
    pseudonym = models.CharField(max_length=32)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "worker"], name="uniq_project_worker"),
            models.UniqueConstraint(fields=["project", "pseudonym"],
                                    name="uniq_project_pseudonym"),
        ]


class Assignment(models.Model):
    """One worker's lease on one task: its items plus injected gold, in served order."""

    # No single-column indexes on these three: uniq_task_worker, (worker, status) and
    # (project, status) lead with them, and each index is written by the claim's insert
    # and again by the submit's update (status changes: not a HOT update).
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="assignments",
                             db_index=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="assignments",
                                db_index=False)
    worker = models.ForeignKey("workers.WorkerProfile", on_delete=models.PROTECT,
                               related_name="assignments", db_index=False)
    status = models.CharField(max_length=16, choices=AssignmentStatus.choices,
                              default=AssignmentStatus.ASSIGNED)
    # Set by the claim, so expires_at - created_at is exactly the lease duration.
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_heartbeat_at = models.DateTimeField()
    active_seconds = models.PositiveIntegerField(default=0)
    submitted_at = models.DateTimeField(null=True, blank=True)
    auto_approve_at = models.DateTimeField(null=True, blank=True,
                                           help_text="submitted_at + the project's "
                                           "auto_approve_seconds")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    review_reason = models.TextField(blank=True)
    review_reason_code = models.CharField(max_length=32, blank=True,
                                          help_text="Why it was rejected (RejectionReason)")
    reward_cents = models.BigIntegerField(null=True, blank=True,
                                          help_text="Per-task reward promised at claim time")
    graded_at = models.DateTimeField(null=True, blank=True)
    instructions_version = models.PositiveIntegerField(
        default=1, help_text="The project's instructions version when this was served")

    class Meta:
        constraints = [
            # A worker holds a task at most once, ever (a returned task never comes back).
            models.UniqueConstraint(fields=["task", "worker"], name="uniq_task_worker"),
        ]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="assignment_lease_idx"),
            models.Index(fields=["status", "auto_approve_at"], name="assignment_review_idx"),
            models.Index(fields=["worker", "status"]),
            models.Index(fields=["project", "status"]),
        ]


class Answer(models.Model):
    """One served item of an assignment. Its pk is the opaque item id the worker sees, so
    gold items cannot be told apart by their ids."""

    # uniq_assignment_item leads with the assignment: no index of its own.
    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="answers",
                                   db_index=False)
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="answers")
    position = models.PositiveSmallIntegerField()
    is_gold = models.BooleanField(default=False)
    value = models.JSONField(null=True, blank=True)
    is_correct = models.BooleanField(null=True, blank=True, help_text="Gold only, once graded")

    class Meta:
        ordering = ["assignment", "position"]
        constraints = [
            models.UniqueConstraint(fields=["assignment", "item"], name="uniq_assignment_item"),
        ]
        indexes = [models.Index(fields=["item"], condition=Q(is_gold=False),
                                name="answer_item_idx")]


class GoldSeen(models.Model):
    """A gold item a worker was served, ever. The claim picks unseen gold with an
    anti-join on this table's unique index (one probe per gold item of the project)
    instead of walking every answer of the worker's past assignments."""

    # uniq_gold_seen leads with the worker: no index of its own.
    worker = models.ForeignKey("workers.WorkerProfile", on_delete=models.CASCADE,
                               related_name="+", db_index=False)
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["worker", "item"], name="uniq_gold_seen"),
        ]


class AssignmentEvent(models.Model):
    """Append-only history of assignment decisions; payments and qa act on the same
    events through marketplace.events.record."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=32)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]


# --- Requester webhooks (marketplace/webhooks/) -------------------------------------------
# Imported here rather than at the top so this block stays a self-contained append.
from .webhooks.enums import DeliveryStatus  # noqa: E402


class WebhookEndpoint(models.Model):
    """Where an organization wants events POSTed, and which ones.

    The signing secret is never stored: it is derived on demand from ``secret_nonce`` and
    settings.SECRET_KEY (marketplace/webhooks/signing.py), so a database leak alone reveals
    no secret, and rotating DJANGO_SECRET_KEY rotates every webhook secret.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE,
                                     related_name="webhook_endpoints")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    url = models.URLField(max_length=2000, help_text="http(s) URL the events are POSTed to")
    events = models.JSONField(default=list, help_text="Subscribed event names")
    secret_nonce = models.CharField(max_length=64, help_text="Input of the secret derivation")
    is_active = models.BooleanField(default=True)
    # Start of the current run of failed attempts; cleared by any success. 24 hours of
    # nothing but failures disables the endpoint (see webhooks/delivery.py).
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "is_active"],
                                name="webhook_endpoint_org_idx")]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event for one endpoint: the exact body, and where its delivery stands.

    Retries are scheduled on the row (``next_attempt_at``), not in the broker, so a crashed
    worker or a lost message delays a delivery but never loses it.
    """

    public_id = models.UUIDField(unique=True, help_text="Sent as Quorum-Delivery")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE,
                                 related_name="deliveries")
    event = models.CharField(max_length=64)
    body = models.TextField(help_text="The exact JSON sent on every attempt")
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices,
                              default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0, help_text="Attempts claimed so far")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="While delivering: when a lost attempt may be retried")
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_log_idx"),
            # The two scans of the beat job: due retries and expired leases.
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"),
                         name="webhook_delivery_due_idx"),
            models.Index(fields=["lease_expires_at"], condition=Q(status="delivering"),
                         name="webhook_delivery_lease_idx"),
        ]

    def __str__(self) -> str:
        return f"Webhook delivery {self.pk} ({self.status})"


class WebhookDeliveryAttempt(models.Model):
    """The log line of one attempt: what the receiver answered, or why nothing came back."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE,
                                 related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"],
                                    name="uniq_webhook_attempt_number"),
        ]
