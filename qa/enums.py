from django.db import models


class QualityRule(models.TextChoices):
    LOW_ACCURACY = "low_accuracy", "Gold accuracy below the project minimum"
    FAST_RESPONSES = "fast_responses", "Answers faster than humanly plausible"
    TOO_MANY_RETURNS = "too_many_returns", "Returns most of the tasks taken"
    DISAGREEMENT = "disagreement", "Persistently disagrees with the final answers"


class QualityActionKind(models.TextChoices):
    SUSPENDED = "suspended", "Suspended from the project"
    FLAGGED = "flagged", "Flagged for review"


class ReviewStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    CLAIMED = "claimed", "Claimed by a reviewer"
    DONE = "done", "Done"
    MOOT = "moot", "Decided elsewhere first"


class Verdict(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"


class DisputeStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"


class DisputeOutcome(models.TextChoices):
    UPHOLD = "uphold", "Rejection upheld"
    OVERTURN = "overturn", "Rejection overturned"
