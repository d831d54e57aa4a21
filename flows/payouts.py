"""A payout run: the run row commits first, then the Celery job releases every earning
whose hold has ended, lists the workers due and fans them out to batch jobs
(payments.tasks); each payout row is the outbox its transfer is made from, so a lost or
repeated job pays nobody twice."""
from django.db import transaction

from accounts.models import User
from payments import services as payments
from payments.models import PayoutRun
from payments.tasks import run_payouts


def start_run(*, actor: User | None) -> PayoutRun:
    with transaction.atomic():
        run = payments.payout_run_start(actor=actor)
        run_id = run.pk
        transaction.on_commit(lambda: run_payouts.delay(run_id))
    return run
