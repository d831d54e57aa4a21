from django.db import models


class AccountKind(models.TextChoices):
    ORGANIZATION_AVAILABLE = "org_available", "Organization available"
    PROJECT_ESCROW = "project_escrow", "Project escrow"
    WORKER_PENDING = "worker_pending", "Worker pending (on hold)"
    WORKER_AVAILABLE = "worker_available", "Worker available"
    PAYOUT_IN_FLIGHT = "payout_in_flight", "Payout in flight"
    PLATFORM_FEES = "platform_fees", "Platform fees"
    EXTERNAL_FUNDING = "external_funding", "External: funding received"
    EXTERNAL_PAYOUTS = "external_payouts", "External: payouts sent"


# The two accounts that mirror money outside the platform (Stripe, bank transfers). Their
# balances are the negative image of what came in and went out, so they alone may be
# negative; every other balance is money the platform holds for someone and never is.
EXTERNAL_KINDS = (AccountKind.EXTERNAL_FUNDING, AccountKind.EXTERNAL_PAYOUTS)


class JournalKind(models.TextChoices):
    TOPUP = "topup", "Stripe top-up"
    MANUAL_CREDIT = "manual_credit", "Manual credit (invoiced)"
    ESCROW_RESERVE = "escrow_reserve", "Escrow reserve"
    ESCROW_RELEASE = "escrow_release", "Escrow release"
    APPROVAL = "approval", "Approved assignment"
    BONUS = "bonus", "Bonus"
    HOLD_RELEASE = "hold_release", "Hold period over"
    PAYOUT_START = "payout_start", "Payout started"
    PAYOUT_SETTLE = "payout_settle", "Payout settled"
    PAYOUT_RETURN = "payout_return", "Payout failed, money returned"
    FAIR_PAY = "fair_pay", "Fair-pay adjustment"


class TopUpStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"


class EarningKind(models.TextChoices):
    TASK = "task", "Per-task reward"
    HOURLY = "hourly", "Hourly (measured active time)"
    BONUS = "bonus", "Bonus"
    FAIR_PAY = "fair_pay", "Fair-pay adjustment (to the hourly floor)"


class PayoutProvider(models.TextChoices):
    STRIPE = "stripe", "Stripe Connect"
    MANUAL = "manual", "Manual (CSV export)"
    SANDBOX = "sandbox", "Sandbox (test money, zero-setup mode)"


class PayoutAccountStatus(models.TextChoices):
    ONBOARDING = "onboarding", "Onboarding"
    ACTIVE = "active", "Active"
    DISABLED = "disabled", "Disabled"


class PayoutStatus(models.TextChoices):
    IN_FLIGHT = "in_flight", "In flight"
    PAID = "paid", "Paid"
    FAILED = "failed", "Failed (money returned)"


class PayoutRunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    FINISHED = "finished", "Finished"
