"""Money: a double-entry ledger and the records that cause its journals.

All amounts are integer cents. The ledger is append-only: a ``Journal`` holds two or more
``Entry`` rows that sum to zero (checked when posting and, on PostgreSQL, by a deferred
constraint trigger at commit; see migrations/0002). Each account caches its balance, which
is only ever changed under a row lock in the transaction that writes the entries
(``payments/ledger.py``).
"""
from django.conf import settings
from django.db import models
from django.db.models import Q

from .enums import (
    EXTERNAL_KINDS,
    AccountKind,
    EarningKind,
    JournalKind,
    PayoutAccountStatus,
    PayoutProvider,
    PayoutRunStatus,
    PayoutStatus,
    TopUpStatus,
)


class LedgerAccount(models.Model):
    # "org:12:available", "project:5:escrow", "worker:3:pending", "platform:fees", ... - one
    # row per key, created on first use; the unique key makes that creation race-free.
    key = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=20, choices=AccountKind.choices)
    organization = models.ForeignKey("marketplace.Organization", null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    project = models.ForeignKey("marketplace.Project", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    worker = models.ForeignKey("workers.WorkerProfile", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    balance_cents = models.BigIntegerField(default=0,
                                           help_text="Cached sum of this account's entries")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(balance_cents__gte=0) | Q(kind__in=EXTERNAL_KINDS),
                name="ledger_account_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.balance_cents}¢)"


class Journal(models.Model):
    """One business event's money movement. Never updated, never deleted."""

    # Derived from the domain id that caused it ("approval:<assignment id>",
    # "payout:<payout id>", "topup:<top-up id>"): a retried job cannot post twice.
    key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=JournalKind.choices)
    memo = models.CharField(max_length=500, blank=True)
    # What caused it (whichever apply).
    organization = models.ForeignKey("marketplace.Organization", null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    project = models.ForeignKey("marketplace.Project", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    worker = models.ForeignKey("workers.WorkerProfile", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    assignment = models.ForeignKey("marketplace.Assignment", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    topup = models.ForeignKey("TopUp", null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+", db_index=False)
    manual_credit = models.ForeignKey("ManualCredit", null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="+",
                                      db_index=False)
    bonus = models.ForeignKey("Bonus", null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+", db_index=False)
    payout = models.ForeignKey("Payout", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.key


class Entry(models.Model):
    journal = models.ForeignKey(Journal, on_delete=models.PROTECT, related_name="entries")
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT,
                                related_name="entries")
    amount_cents = models.BigIntegerField(help_text="Positive adds to the account")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount_cents=0), name="entry_not_zero"),
        ]
        indexes = [models.Index(fields=["account", "id"], name="entry_account_idx")]


class TopUp(models.Model):
    """A requester funding its organization through a Stripe PaymentIntent. The balance is
    credited only when Stripe says the intent succeeded (webhook or reconcile)."""

    organization = models.ForeignKey("marketplace.Organization", on_delete=models.PROTECT,
                                     related_name="topups")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    amount_cents = models.BigIntegerField()
    currency = models.CharField(max_length=3, default="usd")
    status = models.CharField(max_length=16, choices=TopUpStatus.choices,
                              default=TopUpStatus.PENDING)
    stripe_payment_intent_id = models.CharField(max_length=255, null=True, blank=True,
                                                unique=True)
    # Not a server secret: Stripe.js needs it in the browser to confirm the payment.
    client_secret = models.CharField(max_length=255, blank=True)
    # The client's Idempotency-Key, so a retried POST answers with the same top-up.
    request_key = models.CharField(max_length=255, null=True, blank=True)
    sandbox = models.BooleanField(default=False,
                                  help_text="Test money from the sandbox provider")
    credited_cents = models.BigIntegerField(default=0)
    failure_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="topup_amount_positive"),
            # Scoped per user, like every other Idempotency-Key (config/idempotency.py).
            models.UniqueConstraint(fields=["created_by", "request_key"],
                                    condition=Q(request_key__isnull=False),
                                    name="uniq_topup_user_request_key"),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="topup_status_idx")]

    def __str__(self) -> str:
        return f"Top up {self.pk} ({self.status}), organization {self.organization_id}"


class StripeEvent(models.Model):
    """Every Stripe webhook event received, once: the unique event id is the dedupe."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    payload = models.JSONField()
    outcome = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class ManualCredit(models.Model):
    """An admin crediting an invoiced customer: the audit record of who, how much, why."""

    organization = models.ForeignKey("marketplace.Organization", on_delete=models.PROTECT,
                                     related_name="manual_credits")
    amount_cents = models.BigIntegerField()
    reason = models.TextField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    # Set by callers that must credit once whatever happens (seed_demo's fixed key).
    key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount_cents__gt=0),
                                   name="manual_credit_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"Manual credit {self.pk}, organization {self.organization_id}"


class Bonus(models.Model):
    project = models.ForeignKey("marketplace.Project", on_delete=models.PROTECT,
                                related_name="bonuses")
    organization = models.ForeignKey("marketplace.Organization", on_delete=models.PROTECT,
                                     related_name="+")
    worker = models.ForeignKey("workers.WorkerProfile", on_delete=models.PROTECT,
                               related_name="bonuses")
    pseudonym = models.CharField(max_length=32, help_text="How the requester named the worker")
    amount_cents = models.BigIntegerField()
    fee_cents = models.BigIntegerField(default=0)
    reason = models.TextField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="bonus_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"Bonus {self.pk}, project {self.project_id}"


class Earning(models.Model):
    """What a worker earned from one approval or bonus, and when it leaves the hold."""

    worker = models.ForeignKey("workers.WorkerProfile", on_delete=models.PROTECT,
                               related_name="earnings")
    organization = models.ForeignKey("marketplace.Organization", on_delete=models.PROTECT,
                                     related_name="+")
    project = models.ForeignKey("marketplace.Project", on_delete=models.PROTECT,
                                related_name="earnings")
    kind = models.CharField(max_length=16, choices=EarningKind.choices)
    # One earning per approved assignment: the unique column is the exactly-once guard
    # behind the assignment row lock.
    assignment = models.OneToOneField("marketplace.Assignment", null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="earning")
    bonus = models.OneToOneField(Bonus, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="earning")
    # A fair-pay adjustment tops one approval up to the hourly floor: at most one per
    # approved assignment, guarded by this unique column and the journal key.
    adjusted_assignment = models.OneToOneField(
        "marketplace.Assignment", null=True, blank=True, on_delete=models.PROTECT,
        related_name="fair_pay_earning")
    amount_cents = models.BigIntegerField(help_text="To the worker")
    fee_cents = models.BigIntegerField(default=0, help_text="To the platform, on top")
    active_seconds = models.PositiveIntegerField(null=True, blank=True,
                                                 help_text="Hourly: seconds paid (capped)")
    hourly_rate_cents = models.BigIntegerField(null=True, blank=True)
    available_at = models.DateTimeField(help_text="End of the hold period")
    released_at = models.DateTimeField(null=True, blank=True)
    journal = models.ForeignKey(Journal, on_delete=models.PROTECT, related_name="+")
    release_journal = models.ForeignKey(Journal, null=True, blank=True,
                                        on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["available_at"], condition=Q(released_at__isnull=True),
                         name="earning_on_hold_idx"),
            models.Index(fields=["worker", "-created_at"], name="earning_worker_idx"),
        ]

    def __str__(self) -> str:
        return f"Earning {self.pk} ({self.kind}), project {self.project_id}"


class PayoutAccount(models.Model):
    worker = models.OneToOneField("workers.WorkerProfile", on_delete=models.PROTECT,
                                  related_name="payout_account")
    provider = models.CharField(max_length=16, choices=PayoutProvider.choices)
    status = models.CharField(max_length=16, choices=PayoutAccountStatus.choices,
                              default=PayoutAccountStatus.ONBOARDING)
    stripe_account_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Payout account {self.pk} ({self.status}), worker {self.worker_id}"


class PayoutRun(models.Model):
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=PayoutRunStatus.choices,
                              default=PayoutRunStatus.QUEUED)
    payouts_created = models.PositiveIntegerField(default=0)
    payouts_paid = models.PositiveIntegerField(default=0)
    payouts_failed = models.PositiveIntegerField(default=0)
    earnings_released = models.PositiveIntegerField(
        default=0, help_text="Earnings whose hold ended, released at the start of the run")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Payout run {self.pk} ({self.status})"


class Payout(models.Model):
    """A worker's available balance on its way out.

    Created in the same transaction that moves the money from available to in flight, and
    before the provider is called: the in-flight row is the outbox the reconcile job reads
    after a crash. The provider is called with ``payout:<id>`` as idempotency key.
    """

    worker = models.ForeignKey("workers.WorkerProfile", on_delete=models.PROTECT,
                               related_name="payouts")
    payout_account = models.ForeignKey(PayoutAccount, on_delete=models.PROTECT,
                                       related_name="payouts")
    run = models.ForeignKey(PayoutRun, null=True, blank=True, on_delete=models.PROTECT,
                            related_name="payouts")
    amount_cents = models.BigIntegerField()
    provider = models.CharField(max_length=16, choices=PayoutProvider.choices)
    status = models.CharField(max_length=16, choices=PayoutStatus.choices,
                              default=PayoutStatus.IN_FLIGHT)
    provider_reference = models.CharField(max_length=255, blank=True)
    failure_reason = models.TextField(blank=True)
    transfer_attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    settled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_cents__gt=0),
                                   name="payout_amount_positive"),
            # One payout in flight per worker: a second run cannot start another.
            models.UniqueConstraint(fields=["worker"],
                                    condition=Q(status=PayoutStatus.IN_FLIGHT),
                                    name="one_payout_in_flight_per_worker"),
        ]
        indexes = [
            models.Index(fields=["status", "last_attempt_at"], name="payout_status_idx"),
        ]

    def __str__(self) -> str:
        return f"Payout {self.pk} ({self.status}), worker {self.worker_id}"


class PaymentAuditEvent(models.Model):
    """Append-only: manual credits, payout runs, admin settlements - who, what, why."""

    kind = models.CharField(max_length=40)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    organization = models.ForeignKey("marketplace.Organization", null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    payout = models.ForeignKey(Payout, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="audit_events")
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Payment audit event {self.pk} ({self.kind}), organization {self.organization_id}"
