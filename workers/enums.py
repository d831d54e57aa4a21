from django.db import models


class WorkerStatus(models.TextChoices):
    APPLICANT = "applicant", "Applicant"
    VETTING = "vetting", "Vetting"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    BANNED = "banned", "Banned"


# Which status a worker may move to from each status (ban is possible from any but banned).
WORKER_TRANSITIONS: dict[str, set[str]] = {
    WorkerStatus.APPLICANT: {WorkerStatus.VETTING, WorkerStatus.BANNED},
    WorkerStatus.VETTING: {WorkerStatus.ACTIVE, WorkerStatus.APPLICANT, WorkerStatus.BANNED},
    WorkerStatus.ACTIVE: {WorkerStatus.SUSPENDED, WorkerStatus.BANNED},
    WorkerStatus.SUSPENDED: {WorkerStatus.ACTIVE, WorkerStatus.BANNED},
    WorkerStatus.BANNED: set(),
}


class Clearance(models.TextChoices):
    """Ordered: a worker cleared for a level may see every level below it."""

    NONE = "none", "None"
    CONFIDENTIAL = "confidential", "Confidential"
    PII = "pii", "Personal data (PII)"
    PHI = "phi", "Health data (PHI)"


CLEARANCE_ORDER = [Clearance.NONE, Clearance.CONFIDENTIAL, Clearance.PII, Clearance.PHI]


class SkillSource(models.TextChoices):
    """How a level was earned; only exam, gold and admin levels are verified."""

    CLAIMED = "claimed", "Claimed by the worker"
    EXAM = "exam", "Qualification exam"
    GOLD = "gold", "Gold record"
    ADMIN = "admin", "Set by an admin"


VERIFIED_SOURCES = [SkillSource.EXAM, SkillSource.GOLD, SkillSource.ADMIN]


class ApplicationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class AuditAction(models.TextChoices):
    APPLIED = "applied", "Applied"
    APPROVED = "approved", "Application approved"
    REJECTED = "rejected", "Application rejected"
    SUSPENDED = "suspended", "Suspended"
    REINSTATED = "reinstated", "Reinstated"
    BANNED = "banned", "Banned"
    SKILL_LEVEL_SET = "skill_level_set", "Verified skill level set"
    CLEARANCE_GRANTED = "clearance_granted", "Clearance granted"
    TERMS_ACCEPTED = "terms_accepted", "Confidentiality terms accepted"
    EXAM_PASSED = "exam_passed", "Exam passed"
    EXAM_FAILED = "exam_failed", "Exam failed"
    BLOCKED = "blocked", "Blocked by an organization"
    UNBLOCKED = "unblocked", "Unblocked by an organization"
    ERASED = "erased", "Personal data erased"


class ExamAttemptStatus(models.TextChoices):
    STARTED = "started", "Started"
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired"
