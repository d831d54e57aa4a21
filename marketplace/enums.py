from django.db import models


class MemberRole(models.TextChoices):
    OWNER = "owner", "Owner"
    MEMBER = "member", "Member"


class ProjectStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


# Which status a project may move to from each status. "completed" is reached by the
# system (all items final), never by a requester call.
PROJECT_TRANSITIONS: dict[str, set[str]] = {
    ProjectStatus.DRAFT: {ProjectStatus.ACTIVE, ProjectStatus.CANCELLED},
    ProjectStatus.ACTIVE: {ProjectStatus.PAUSED, ProjectStatus.CANCELLED,
                           ProjectStatus.COMPLETED},
    ProjectStatus.PAUSED: {ProjectStatus.ACTIVE, ProjectStatus.CANCELLED},
    ProjectStatus.COMPLETED: set(),
    ProjectStatus.CANCELLED: set(),
}


class TaskType(models.TextChoices):
    SINGLE_CHOICE = "single_choice", "Single choice"
    MULTI_CHOICE = "multi_choice", "Multiple choice"
    RATING = "rating", "Rating"
    TEXT = "text", "Free text"
    SPANS = "spans", "Text spans"
    BBOX = "bbox", "Bounding boxes"
    PAIRWISE = "pairwise", "Pairwise comparison"
    RANKING = "ranking", "Ranking"


class Sensitivity(models.TextChoices):
    PUBLIC = "public", "Public"
    CONFIDENTIAL = "confidential", "Confidential"
    PII = "pii", "Personal data (PII)"
    PHI = "phi", "Health data (PHI)"


# Ordered from least to most sensitive: an item or project is "raised" to a later one.
SENSITIVITY_ORDER = ("public", "confidential", "pii", "phi")


class PiiDetection(models.TextChoices):
    RAISE = "raise", "Detect and raise item sensitivity"
    REFUSE = "refuse", "Detect and refuse the upload"
    OFF = "off", "Off"


class PayModel(models.TextChoices):
    PER_TASK = "per_task", "Per task"
    HOURLY = "hourly", "Hourly"


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    COMPLETE = "complete", "Complete"


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class AssignmentStatus(models.TextChoices):
    ASSIGNED = "assigned", "Assigned"
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Expired"
    RETURNED = "returned", "Returned"


class RejectionReason(models.TextChoices):
    GOLD_FAILED = "gold_failed", "Missed gold items"
    INSTRUCTIONS_IGNORED = "instructions_ignored", "Instructions ignored"
    SPAM_OR_RANDOM = "spam_or_random", "Spam or random answers"
    INCOMPLETE = "incomplete", "Incomplete"
    OTHER = "other", "Other"


# Statuses that hold one of the task's overlap slots.
SLOT_HOLDING_STATUSES = (AssignmentStatus.ASSIGNED, AssignmentStatus.SUBMITTED,
                         AssignmentStatus.APPROVED, AssignmentStatus.REJECTED)
# The labels that count towards a result: submitted work not (or not yet) rejected.
LABELLED_STATUSES = (AssignmentStatus.SUBMITTED, AssignmentStatus.APPROVED)
