"""Payments write actions. Views, jobs and other apps call these."""
from .earnings import approval_pay, assignment_pay, bonus_grant, earnings_release_due
from .escrow import (
    assignment_cost_cents,
    escrow_estimate_cents,
    escrow_release_closed_projects,
    escrow_release_slots,
    escrow_release_unspent,
    escrow_reserve_for_launch,
    escrow_reserve_more,
    escrow_reserve_shortfall,
    outstanding_liability_cents,
)
from .fair_pay import (
    FairPayAdjustment,
    fair_pay_adjust,
    fair_pay_summary,
    measured_hourly_cents,
    pay_floor_cents,
    pay_floor_check,
)
from .funding import (
    organization_credit,
    stripe_event_receive,
    stripe_event_record_malformed,
    topup_create,
    topup_reconcile,
    topups_reconcile,
)
from .payouts import (
    payout_account_setup,
    payout_execute,
    payout_fail,
    payout_mark_failed,
    payout_mark_paid,
    payout_open,
    payout_reconcile,
    payout_retry,
    payout_run_release_holds,
    payout_run_start,
    payout_settle,
    payouts_reconcile,
    payouts_open_many,
    payouts_pay_batch,
    payouts_settle_many,
    payouts_run,
)

__all__ = [
    "approval_pay", "assignment_cost_cents", "assignment_pay", "bonus_grant",
    "earnings_release_due", "escrow_estimate_cents", "escrow_release_closed_projects", "escrow_release_slots",
    "escrow_release_unspent", "escrow_reserve_for_launch", "escrow_reserve_more",
    "escrow_reserve_shortfall", "FairPayAdjustment", "fair_pay_adjust", "fair_pay_summary",
    "measured_hourly_cents", "pay_floor_cents", "pay_floor_check",
    "organization_credit", "outstanding_liability_cents", "payout_account_setup",
    "payout_execute", "payout_fail", "payout_mark_failed", "payout_mark_paid", "payout_open",
    "payout_reconcile", "payout_retry", "payout_run_release_holds", "payout_run_start",
    "payout_settle", "payouts_open_many", "payouts_pay_batch", "payouts_reconcile",
    "payouts_run", "payouts_settle_many", "stripe_event_receive",
    "stripe_event_record_malformed", "topup_create", "topup_reconcile", "topups_reconcile",
]
