"""Celery jobs of payments: ids in, one service call, idempotent.

All run with acks_late and task_reject_on_worker_lost (settings): a job whose worker dies
is delivered again, which is safe because every step is keyed or compare-and-swap.
"""
from celery import shared_task

from . import services


@shared_task(acks_late=True, reject_on_worker_lost=True)
def run_payouts(run_id: int | None = None) -> int:
    return services.payouts_run(run_id=run_id, send_batch=pay_payout_batch.delay).pk


@shared_task(acks_late=True, reject_on_worker_lost=True)
def pay_payout_batch(run_id: int, worker_ids: list[int]) -> dict:
    return services.payouts_pay_batch(run_id=run_id, worker_ids=worker_ids)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def reconcile_payouts() -> dict:
    return services.payouts_reconcile()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def reconcile_topups() -> dict:
    return services.topups_reconcile()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def release_held_earnings() -> int:
    return services.earnings_release_due()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def release_closed_project_escrow() -> int:
    return services.escrow_release_closed_projects()
