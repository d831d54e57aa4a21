"""Starting a payout run: the run row commits first, its job is enqueued after commit
(a run whose enqueue was lost is started by the reconcile job). The job releases every
earning whose hold has ended, then pays (payments/services/payouts.py)."""
from django.db import transaction

from accounts.models import User
from payments import services as payments
from payments.models import PayoutRun
from payments.tasks import run_payouts


def start_run(*, actor: User | None) -> PayoutRun:
    with transaction.atomic(durable=True):
        run = payments.payout_run_start(actor=actor)
        run_id = run.pk
        transaction.on_commit(lambda: run_payouts.delay(run_id))
    return run
