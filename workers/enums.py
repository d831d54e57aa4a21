from django.db import models


class WorkerStatus(models.TextChoices):
    APPLICANT = "applicant", "Applicant"
    VETTING = "vetting", "Vetting"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    BANNED = "banned", "Banned"


class Clearance(models.TextChoices):
    """Ordered: a worker cleared for a level may see every level below it."""

    NONE = "none", "None"
    CONFIDENTIAL = "confidential", "Confidential"
    PII = "pii", "Personal data (PII)"
    PHI = "phi", "Health data (PHI)"


class SkillSource(models.TextChoices):
    """How a level was earned; only the last three are verified."""

    CLAIMED = "claimed", "Claimed by the worker"
    EXAM = "exam", "Qualification exam"
    GOLD = "gold", "Gold record"
    ADMIN = "admin", "Set by an admin"
