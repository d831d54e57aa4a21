from django.db import models


class WebhookEvent(models.TextChoices):
    ASSIGNMENT_SUBMITTED = "assignment.submitted", "Assignment submitted"
    ITEM_FINALIZED = "item.finalized", "Items finalized (batched)"
    PROJECT_COMPLETED = "project.completed", "Project completed"
    PROJECT_PAY_ADJUSTED = "project.pay_adjusted", "Fair-pay adjustments started"
    # automation/: the model's spot-checked accuracy fell under the target.
    PROJECT_AUTOMATION_PAUSED = "project.automation_paused", "Auto-accept paused"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"          # waiting for its next attempt (next_attempt_at)
    DELIVERING = "delivering", "Delivering"  # claimed by one worker until lease_expires_at
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"              # gave up: attempts exhausted or endpoint disabled
