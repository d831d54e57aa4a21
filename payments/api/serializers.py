from rest_framework import serializers

from ..services.earnings import MAX_BONUS_CENTS

# Stripe's minimum charge is 50 cents; the maximum keeps a typo from charging a fortune.
MIN_TOPUP_CENTS = 50
MAX_TOPUP_CENTS = 10_000_000
MAX_CREDIT_CENTS = 100_000_000


class BalanceOutput(serializers.Serializer):
    available_cents = serializers.IntegerField(help_text="Free to launch projects or pay bonuses")
    escrow_cents = serializers.IntegerField(help_text="Reserved for the organization's projects")
    spent_cents = serializers.IntegerField(help_text="Paid for approved work and bonuses, "
                                           "platform fees included")
    currency = serializers.CharField()


class TopUpInput(serializers.Serializer):
    amount_cents = serializers.IntegerField(min_value=MIN_TOPUP_CENTS, max_value=MAX_TOPUP_CENTS)


class TopUpOutput(serializers.Serializer):
    topup_id = serializers.IntegerField(source="pk")
    amount_cents = serializers.IntegerField()
    status = serializers.CharField(help_text="pending until Stripe reports the payment")
    client_secret = serializers.CharField(help_text="For Stripe.js to confirm the payment")
    created_at = serializers.DateTimeField()
    credited_cents = serializers.IntegerField()
    test_money = serializers.BooleanField(
        source="sandbox", help_text="Sandbox top-up (zero-setup mode): test money, credited "
        "at once; never real funds")


class TopUpListOutput(serializers.Serializer):
    id = serializers.IntegerField()
    amount_cents = serializers.IntegerField()
    credited_cents = serializers.IntegerField()
    status = serializers.CharField()
    failure_reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    succeeded_at = serializers.DateTimeField(allow_null=True)
    test_money = serializers.BooleanField(source="sandbox")


class BonusInput(serializers.Serializer):
    worker_id = serializers.CharField(max_length=64, help_text="The worker's pseudonym on "
                                      "this project, as shown on assignments")
    amount_cents = serializers.IntegerField(min_value=1, max_value=MAX_BONUS_CENTS)
    reason = serializers.CharField(max_length=2000)


class BonusOutput(serializers.Serializer):
    id = serializers.IntegerField()
    project_id = serializers.IntegerField()
    worker_id = serializers.CharField(source="pseudonym")
    amount_cents = serializers.IntegerField()
    fee_cents = serializers.IntegerField()
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class AssignmentCountsOutput(serializers.Serializer):
    assigned = serializers.IntegerField()
    submitted = serializers.IntegerField()
    approved = serializers.IntegerField()
    rejected = serializers.IntegerField()
    expired = serializers.IntegerField()
    returned = serializers.IntegerField()


class PayWarningOutput(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    min_effective_hourly_cents = serializers.IntegerField()


class ProgressOutput(serializers.Serializer):
    status = serializers.CharField()
    items_total = serializers.IntegerField()
    items_done = serializers.IntegerField(help_text="Items with a final result")
    tasks_open = serializers.IntegerField()
    assignments = AssignmentCountsOutput()
    spent_cents = serializers.IntegerField()
    escrow_cents = serializers.IntegerField()
    eta_seconds = serializers.IntegerField(allow_null=True)
    gold_accuracy_mean = serializers.FloatField(allow_null=True,
                                                help_text="Share of graded gold answers correct")
    agreement = serializers.FloatField(allow_null=True, help_text="Not computed yet (null)")
    effective_hourly_cents = serializers.IntegerField(
        allow_null=True, help_text="Per-task: reward per median active hour")
    min_effective_hourly_cents = serializers.IntegerField(
        help_text="The project's pay floor per hour of active time (platform minimum or "
        "the project's higher override)")
    pay_warning = PayWarningOutput(allow_null=True)
    measured_hourly_cents = serializers.IntegerField(
        allow_null=True, help_text="Per-task: reward over the median measured active time "
        "(uncached)")
    fair_pay_adjustments = serializers.IntegerField(
        help_text="Approvals topped up to the floor so far")
    fair_pay_adjusted_cents = serializers.IntegerField()
    fair_pay_fees_cents = serializers.IntegerField()
    suggested_reward_cents = serializers.IntegerField(
        allow_null=True, help_text="The per-task reward that meets the floor at the median "
        "measured time (the estimate before any)")


class PayoutOutput(serializers.Serializer):
    id = serializers.IntegerField()
    worker_id = serializers.IntegerField()
    amount_cents = serializers.IntegerField()
    status = serializers.CharField()
    provider = serializers.CharField()
    provider_reference = serializers.CharField(allow_null=True)
    failure_reason = serializers.CharField(allow_null=True)
    run_id = serializers.IntegerField(allow_null=True)
    transfer_attempts = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    settled_at = serializers.DateTimeField(allow_null=True)


class EarningEntryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    project_id = serializers.IntegerField()
    assignment_id = serializers.IntegerField(allow_null=True)
    amount_cents = serializers.IntegerField()
    active_seconds = serializers.IntegerField(allow_null=True)
    hourly_rate_cents = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField()
    status = serializers.CharField(help_text="pending (on hold) or available")
    available_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()


class ProjectPayOutput(serializers.Serializer):
    project_id = serializers.IntegerField()
    approved_assignments = serializers.IntegerField()
    active_seconds = serializers.IntegerField()
    earned_cents = serializers.IntegerField()
    fair_pay_adjusted_cents = serializers.IntegerField()
    effective_hourly_cents = serializers.IntegerField(allow_null=True)


class EarningsOutput(serializers.Serializer):
    pending_cents = serializers.IntegerField()
    available_cents = serializers.IntegerField()
    in_flight_cents = serializers.IntegerField()
    paid_cents = serializers.IntegerField()
    currency = serializers.CharField()
    min_payout_cents = serializers.IntegerField()
    entries = EarningEntryOutput(many=True)
    payouts = PayoutOutput(many=True)
    projects = ProjectPayOutput(many=True, help_text="Per project: measured effective "
                                "hourly, fair-pay adjustments included")


class PayoutAccountOutput(serializers.Serializer):
    provider = serializers.CharField()
    status = serializers.CharField(help_text="none, onboarding, active or disabled")
    onboarding_url = serializers.CharField(allow_null=True)


class PayoutRunOutput(serializers.Serializer):
    run_id = serializers.IntegerField(source="pk")
    status = serializers.CharField()


class PayoutRunDetailOutput(serializers.Serializer):
    id = serializers.IntegerField()
    run_id = serializers.IntegerField(source="id")
    status = serializers.CharField(help_text="queued, running or finished")
    earnings_released = serializers.IntegerField(
        help_text="Earnings whose hold ended, released by the run before paying")
    payouts_created = serializers.IntegerField()
    payouts_paid = serializers.IntegerField()
    payouts_failed = serializers.IntegerField()
    payouts_in_flight = serializers.IntegerField(
        help_text="Of this run's payouts, those still waiting (manual, or outcome unknown)")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class MarkPaidInput(serializers.Serializer):
    # Required by the service (payout_mark_paid), which answers 409 first when the payout
    # is no longer in flight.
    reference = serializers.CharField(max_length=255, required=False, allow_blank=True,
                                      default="", help_text="The bank transfer's reference "
                                      "(required)")


class PayoutFailureInput(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class CreditInput(serializers.Serializer):
    amount_cents = serializers.IntegerField(min_value=1, max_value=MAX_CREDIT_CENTS)
    reason = serializers.CharField(max_length=2000)


class CreditOutput(serializers.Serializer):
    credit_id = serializers.IntegerField(source="pk")
    organization_id = serializers.IntegerField()
    amount_cents = serializers.IntegerField()
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()
