"""Money under real concurrency, on PostgreSQL: real threads, one connection each."""
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from config.errors import Conflict
from marketplace.models import Assignment
from payments import ledger
from payments.enums import JournalKind
from payments.models import Earning, Journal, Payout, TopUp
from payments.selectors import ledger_check
from payments.services import (
    earnings_release_due,
    payout_account_setup,
    payouts_run,
    stripe_event_receive,
)

from .factories import approved, make_project, make_requester, make_worker, submitted
from flows import decisions
from conftest import requires_postgresql

pytestmark = [
    requires_postgresql,
    pytest.mark.slow,
    # serialized_rollback: the skill taxonomy comes from a data migration that the flush
    # after a transactional test would otherwise wipe for the tests that follow.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def run_threads(target, count: int) -> list:
    """Run ``target(index)`` in ``count`` threads released together; return results, an
    exception standing in for a result where one was raised."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def body(index):
        try:
            barrier.wait(timeout=30)
            results[index] = target(index)
        except BaseException as exc:  # reported through the results, never lost
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=body, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return results


def test_twenty_concurrent_approvals_of_one_assignment_pay_once(settings):
    settings.PLATFORM_FEE_PERCENT = 20
    requester = make_requester(funds_cents=1000)
    project = make_project(requester, items=2, reward_cents=50)
    worker = make_worker()
    assignment = submitted(worker, project)

    results = run_threads(lambda index: decisions.approve(
        assignment_id=assignment.pk, actor=requester), 20)

    approvals = [result for result in results if isinstance(result, Assignment)]
    refusals = [result for result in results if isinstance(result, Conflict)]
    assert (len(approvals), len(refusals)) == (1, 19), results
    assert Earning.objects.filter(assignment=assignment).count() == 1
    assert Journal.objects.filter(kind=JournalKind.APPROVAL).count() == 1
    assert ledger.balance_of(ledger.worker_pending(worker.pk)) == 50
    assert ledger.balance_of(ledger.PLATFORM_FEES) == 10
    assert ledger_check()["ok"] is True


def test_concurrent_deliveries_of_one_stripe_event_credit_once():
    requester = make_requester()
    organization = requester.membership.organization
    topup = TopUp.objects.create(organization=organization, created_by=requester,
                                 amount_cents=5000, stripe_payment_intent_id="pi_concurrent")
    event = {"id": "evt_concurrent", "type": "payment_intent.succeeded",
             "data": {"object": {"id": "pi_concurrent", "amount": 5000, "currency": "usd",
                                 "status": "succeeded",
                                 "metadata": {"topup_id": str(topup.pk)}}}}

    results = run_threads(lambda index: stripe_event_receive(event=event), 10)

    assert sorted(results) == ["credited"] + ["duplicate"] * 9
    assert ledger.balance_of(ledger.organization_available(organization.pk)) == 5000


def test_overlapping_payout_runs_pay_each_worker_once(settings):
    settings.PAYOUT_PROVIDER = "manual"
    settings.EARNINGS_HOLD_SECONDS = 0
    settings.MIN_PAYOUT_CENTS = 100
    requester = make_requester(funds_cents=100_000)
    workers = [make_worker() for _ in range(6)]
    for worker in workers:
        approved(worker, make_project(requester, items=2, reward_cents=300), requester)
        payout_account_setup(worker=worker)
    earnings_release_due(now=timezone.now() + timedelta(seconds=1))

    results = run_threads(lambda index: payouts_run(), 4)

    assert not [result for result in results if isinstance(result, BaseException)], results
    assert sorted(Payout.objects.values_list("worker_id", flat=True)) == sorted(
        worker.pk for worker in workers)
    assert sum(run.payouts_created for run in results) == 6
    for worker in workers:
        assert ledger.balance_of(ledger.payout_in_flight(worker.pk)) == 300
        assert ledger.balance_of(ledger.worker_available(worker.pk)) == 0
    assert ledger_check()["ok"] is True
