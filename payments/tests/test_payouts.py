"""Payouts: exactly once through Stripe Connect transfers (over HTTP to the test server),
whatever fails - a definite refusal returns the money, an unknown outcome (500, timeout,
a crash before our commit) leaves it in flight until the reconcile job settles it."""
import csv
import io
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import client_for
from payments import ledger
from payments.enums import JournalKind, PayoutStatus
from payments.models import Journal, Payout, PayoutAccount, PayoutRun
from payments.selectors import ledger_check
from payments.services import (
    earnings_release_due,
    payout_account_setup,
    payouts_pay_batch,
    payouts_reconcile,
    payouts_run,
)
from payments.services import payouts as payout_services

from .factories import approved, make_project, make_requester, make_staff, make_worker

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _money_settings(settings):
    settings.PLATFORM_FEE_PERCENT = 20
    settings.EARNINGS_HOLD_SECONDS = 0
    settings.MIN_PAYOUT_CENTS = 1000
    settings.PAYOUT_PROVIDER = "stripe"


def _earn(worker, cents: int) -> None:
    """``cents`` of approved work, past its hold: available for payout."""
    requester = make_requester(funds_cents=cents * 2)
    project = make_project(requester, items=2, reward_cents=cents)
    approved(worker, project, requester)
    earnings_release_due(now=timezone.now() + timedelta(seconds=1))


def _onboarded(worker, stripe_server) -> PayoutAccount:
    account, _url = payout_account_setup(worker=worker)
    stripe_server.onboard(account.stripe_account_id)
    account, url = payout_account_setup(worker=worker)
    assert (account.status, url) == ("active", None)
    return account


def _balances(worker) -> tuple[int, int]:
    return (ledger.balance_of(ledger.worker_available(worker.pk)),
            ledger.balance_of(ledger.payout_in_flight(worker.pk)))


def _transfers_to(stripe_server, account) -> list[dict]:
    return [t for t in stripe_server.transfers() if t["destination"] == account.stripe_account_id]


# --- Payout accounts -------------------------------------------------------------------------

def test_a_worker_onboards_a_stripe_connect_account(stripe_server):
    worker = make_worker()
    client = client_for(worker.user)

    first = client.post("/api/v1/worker/payout-account")
    again = client.post("/api/v1/worker/payout-account")
    account = PayoutAccount.objects.get(worker=worker)
    stripe_server.onboard(account.stripe_account_id)
    done = client.post("/api/v1/worker/payout-account")

    assert first.status_code == 200
    assert first.json()["provider"] == "stripe" and first.json()["status"] == "onboarding"
    assert first.json()["onboarding_url"].startswith("https://connect.stripe.test/setup/")
    assert PayoutAccount.objects.count() == 1 and again.json()["status"] == "onboarding"
    assert done.json() == {"provider": "stripe", "status": "active", "onboarding_url": None}
    assert client.get("/api/v1/worker/payout-account").json()["status"] == "active"


def test_a_manual_payout_account_is_active_at_once(settings):
    settings.PAYOUT_PROVIDER = "manual"
    worker = make_worker()

    response = client_for(worker.user).post("/api/v1/worker/payout-account")

    assert response.json() == {"provider": "manual", "status": "active", "onboarding_url": None}


def test_only_workers_have_payout_accounts():
    assert client_for(make_requester()).post("/api/v1/worker/payout-account").status_code == 403


# --- Runs ----------------------------------------------------------------------------------

def test_a_run_pays_each_due_worker_once_and_skips_the_rest(stripe_server):
    due, small, no_account, onboarding = (make_worker() for _ in range(4))
    for worker, cents in [(due, 1500), (small, 999), (no_account, 2000), (onboarding, 2000)]:
        _earn(worker, cents)
    account = _onboarded(due, stripe_server)
    _onboarded(small, stripe_server)
    payout_account_setup(worker=onboarding)

    run = payouts_run()
    second = payouts_run()

    payout = Payout.objects.get()
    assert (payout.worker_id, payout.amount_cents, payout.status) == (due.pk, 1500, "paid")
    assert payout.provider_reference.startswith("tr_")
    assert (run.payouts_created, run.payouts_paid, run.status) == (1, 1, "finished")
    assert second.payouts_created == 0
    transfers = _transfers_to(stripe_server, account)
    assert [(t["amount"], t["idempotency_key"], t["transfer_group"]) for t in transfers] == [
        (1500, f"payout:{payout.pk}", f"payout_{payout.pk}")]
    assert len(stripe_server.transfers()) == 1
    assert _balances(due) == (0, 0)
    assert ledger.balance_of(ledger.EXTERNAL_PAYOUTS) == 1500
    assert _balances(small) == (999, 0)
    assert [j.key for j in Journal.objects.filter(payout=payout)] == [
        f"payout:{payout.pk}", f"payout_settle:{payout.pk}"]
    assert ledger_check()["ok"] is True


def test_a_definite_refusal_returns_the_money_with_the_reason(stripe_server):
    worker = make_worker()
    _earn(worker, 1500)
    _onboarded(worker, stripe_server)
    stripe_server.fault("decline")

    payouts_run()

    payout = Payout.objects.get()
    assert payout.status == PayoutStatus.FAILED
    assert "insufficient funds" in payout.failure_reason
    assert _balances(worker) == (1500, 0)
    assert Journal.objects.filter(kind=JournalKind.PAYOUT_RETURN, payout=payout).count() == 1
    # The next run pays it.
    payouts_run()
    assert Payout.objects.filter(status=PayoutStatus.PAID).count() == 1
    assert _balances(worker) == (0, 0)


@pytest.mark.parametrize("fault", ["error_before", "error_after"])
def test_a_provider_500_leaves_the_money_in_flight_until_reconcile_settles_it(
        stripe_server, fault):
    worker = make_worker()
    _earn(worker, 1500)
    account = _onboarded(worker, stripe_server)
    stripe_server.fault(fault)

    payouts_run()

    payout = Payout.objects.get()
    assert payout.status == PayoutStatus.IN_FLIGHT
    assert "500" in payout.last_error or "Simulated" in payout.last_error
    assert _balances(worker) == (0, 1500)
    assert payouts_run().payouts_created == 0  # the run leaves it to reconcile
    assert payouts_reconcile() == {}  # still inside the grace period

    assert payouts_reconcile(older_than_seconds=0) == {"paid": 1}

    payout.refresh_from_db()
    assert payout.status == PayoutStatus.PAID
    assert len(_transfers_to(stripe_server, account)) == 1
    assert _balances(worker) == (0, 0)
    assert ledger_check()["ok"] is True


@pytest.mark.parametrize("fault", ["timeout_before", "timeout_after"])
def test_a_provider_timeout_leaves_the_money_in_flight_until_reconcile_settles_it(
        stripe_server, fault):
    worker = make_worker()
    _earn(worker, 1500)
    account = _onboarded(worker, stripe_server)
    stripe_server.fault(fault, delay=1.5)  # the client gives up after 1 s

    payouts_run()

    payout = Payout.objects.get()
    assert payout.status == PayoutStatus.IN_FLIGHT
    assert _balances(worker) == (0, 1500)
    time.sleep(0.7)  # let the slow server call finish

    assert payouts_reconcile(older_than_seconds=0) == {"paid": 1}
    assert len(_transfers_to(stripe_server, account)) == 1
    assert _balances(worker) == (0, 0)


class _Crash(BaseException):
    """The worker process dies (not an Exception: nothing catches it)."""


def test_a_crash_between_the_transfer_and_its_commit_transfers_once(stripe_server,
                                                                    monkeypatch):
    worker = make_worker()
    _earn(worker, 1500)
    account = _onboarded(worker, stripe_server)
    real_settle = payout_services.payouts_settle_many

    def crash(**kwargs):
        raise _Crash()

    monkeypatch.setattr(payout_services, "payouts_settle_many", crash)
    with pytest.raises(_Crash):
        payouts_run()
    monkeypatch.setattr(payout_services, "payouts_settle_many", real_settle)

    payout = Payout.objects.get()
    assert payout.status == PayoutStatus.IN_FLIGHT
    assert len(_transfers_to(stripe_server, account)) == 1  # Stripe did transfer

    # Celery redelivers the killed job (acks_late): the re-run starts nothing new ...
    assert payouts_run().payouts_created == 0
    # ... and reconcile finds the transfer by its group and settles, without a second.
    assert payouts_reconcile(older_than_seconds=0) == {"paid": 1}

    payout.refresh_from_db()
    assert payout.status == PayoutStatus.PAID
    assert payout.provider_reference == _transfers_to(stripe_server, account)[0]["id"]
    assert len(_transfers_to(stripe_server, account)) == 1
    assert Payout.objects.count() == 1
    assert _balances(worker) == (0, 0)
    assert ledger_check()["ok"] is True


# --- Manual provider and admin endpoints ------------------------------------------------------

def test_manual_payouts_wait_for_an_admin_who_exports_and_marks_them(settings):
    settings.PAYOUT_PROVIDER = "manual"
    paid_worker, failed_worker = make_worker(), make_worker()
    for worker in (paid_worker, failed_worker):
        _earn(worker, 1200)
        payout_account_setup(worker=worker)
    staff = make_staff()
    client = client_for(staff)

    payouts_run()
    exported = client.get("/api/v1/admin/payouts/export.csv")
    first = Payout.objects.get(worker=paid_worker)
    second = Payout.objects.get(worker=failed_worker)
    paid = client.post(f"/api/v1/admin/payouts/{first.pk}/mark-paid",
                       {"reference": "SEPA-123"}, format="json")
    failed = client.post(f"/api/v1/admin/payouts/{second.pk}/mark-failed",
                         {"reason": "IBAN closed"}, format="json")
    twice = client.post(f"/api/v1/admin/payouts/{first.pk}/mark-paid", {}, format="json")

    rows = list(csv.reader(io.StringIO(exported.content.decode())))
    assert rows[0][:5] == ["payout_id", "worker_id", "worker_name", "worker_email",
                           "amount_cents"]
    assert sorted(int(row[0]) for row in rows[1:]) == sorted([first.pk, second.pk])
    assert paid.json()["status"] == "paid" and paid.json()["provider_reference"] == "SEPA-123"
    assert failed.json()["status"] == "failed"
    assert failed.json()["failure_reason"] == "IBAN closed"
    assert twice.status_code == 409
    assert _balances(paid_worker) == (0, 0)
    assert _balances(failed_worker) == (1200, 0)
    assert payouts_reconcile(older_than_seconds=0) == {}  # manual ones are the admin's


def test_admin_payout_run_answers_202_and_runs_after_commit(stripe_server,
                                                            django_capture_on_commit_callbacks):
    worker = make_worker()
    _earn(worker, 1500)
    _onboarded(worker, stripe_server)
    client = client_for(make_staff())

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/admin/payouts/run")
    listed = client.get("/api/v1/admin/payouts?status=paid")

    assert response.status_code == 202
    run = PayoutRun.objects.get(pk=response.json()["run_id"])
    assert run.status == "finished" and run.payouts_paid == 1
    assert listed.json()["count"] == 1
    assert listed.json()["results"][0]["worker_id"] == worker.pk
    assert listed.json()["results"][0]["provider_reference"].startswith("tr_")


def test_admin_retry_reconciles_one_payout_now(stripe_server):
    worker = make_worker()
    _earn(worker, 1500)
    _onboarded(worker, stripe_server)
    stripe_server.fault("error_before")
    payouts_run()
    payout = Payout.objects.get()

    response = client_for(make_staff()).post(f"/api/v1/admin/payouts/{payout.pk}/retry")

    assert response.status_code == 200
    assert response.json()["status"] == "paid"
    assert response.json()["transfer_attempts"] == 2


@pytest.mark.parametrize("method, path", [
    ("post", "/api/v1/admin/payouts/run"),
    ("get", "/api/v1/admin/payouts"),
    ("get", "/api/v1/admin/payouts/export.csv"),
])
def test_payout_admin_endpoints_are_for_staff(method, path):
    for user in (make_requester(), make_worker().user):
        assert getattr(client_for(user), method)(path).status_code == 403
    assert not PayoutRun.objects.exists()


def test_a_run_whose_job_was_never_delivered_is_started_by_reconcile(settings):
    settings.PAYOUT_PROVIDER = "manual"
    worker = make_worker()
    _earn(worker, 1500)
    payout_account_setup(worker=worker)
    run = PayoutRun.objects.create()  # committed, but its enqueue was lost

    assert payouts_reconcile(older_than_seconds=0) == {"runs_started": 1}

    run.refresh_from_db()
    assert (run.status, run.payouts_created) == ("finished", 1)


def test_stripe_account_updates_arrive_by_webhook(api_client, stripe_server):
    worker = make_worker()
    account, _url = payout_account_setup(worker=worker)
    stripe_server.onboard(account.stripe_account_id)
    remote = stripe_server.session.get(
        f"{stripe_server.url}/v1/accounts/{account.stripe_account_id}").json()
    payload = stripe_server.event("account.updated", remote)

    response = api_client.post("/api/v1/payments/stripe/webhook", data=payload,
                               content_type="application/json",
                               HTTP_STRIPE_SIGNATURE=stripe_server.sign(payload))

    assert response.json()["outcome"] == "payout_account_active"
    account.refresh_from_db()
    assert account.status == "active"


def test_payout_account_setup_with_stripe_down_is_503(settings, stripe_server):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    worker = make_worker()

    response = client_for(worker.user).post("/api/v1/worker/payout-account")

    assert response.status_code == 503
    assert not PayoutAccount.objects.exists()


def test_a_redelivered_batch_settles_what_its_killed_delivery_left_in_flight(
        stripe_server, monkeypatch):
    worker = make_worker()
    _earn(worker, 1500)
    account = _onboarded(worker, stripe_server)
    real_settle = payout_services.payouts_settle_many

    def crash(**kwargs):
        raise _Crash()

    monkeypatch.setattr(payout_services, "payouts_settle_many", crash)
    with pytest.raises(_Crash):
        payouts_run()
    monkeypatch.setattr(payout_services, "payouts_settle_many", real_settle)
    payout = Payout.objects.get()
    assert len(_transfers_to(stripe_server, account)) == 1

    # The broker delivers the same batch again (acks_late, reject_on_worker_lost).
    counts = payouts_pay_batch(run_id=payout.run_id, worker_ids=[worker.pk])

    assert counts == {"created": 0, "reconciled": 1, "paid": 1, "failed": 0}
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.PAID
    assert payout.provider_reference == _transfers_to(stripe_server, account)[0]["id"]
    assert len(_transfers_to(stripe_server, account)) == 1
    assert Payout.objects.count() == 1
    assert _balances(worker) == (0, 0)
    assert ledger_check()["ok"] is True
