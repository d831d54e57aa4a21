"""Money a newcomer can try (issue 13): the sandbox provider of zero-setup mode credits
top-ups through the Stripe webhook's own code path, labelled test money, and pays
sandbox payout accounts; a payout run releases holds that just ended before paying; an
unconfigured provider answers with its own error code, not a 503."""
import pytest

from conftest import client_for
from payments import ledger
from payments.enums import JournalKind, TopUpStatus
from payments.models import Journal, Payout, StripeEvent, TopUp
from payments.selectors import ledger_check
from payments.services import topup_reconcile

from .factories import approved, make_project, make_requester, make_staff, make_worker

pytestmark = pytest.mark.django_db


@pytest.fixture
def sandbox(settings):
    settings.PAYMENTS_SANDBOX = True
    settings.STRIPE_SECRET_KEY = ""
    settings.PAYOUT_PROVIDER = "sandbox"
    settings.PLATFORM_FEE_PERCENT = 20
    settings.MIN_EFFECTIVE_HOURLY_CENTS = 0
    settings.MIN_PAYOUT_CENTS = 100


def test_a_sandbox_top_up_is_credited_through_the_webhook_path_as_test_money(sandbox):
    requester = make_requester()
    client = client_for(requester)

    response = client.post("/api/v1/billing/topups", {"amount_cents": 5000}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["credited_cents"], body["test_money"]) == (
        "succeeded", 5000, True)
    topup = TopUp.objects.get(pk=body["topup_id"])
    assert topup.stripe_payment_intent_id == f"sandbox_pi_{topup.pk}"
    event = StripeEvent.objects.get(event_id=f"sandbox_evt_sandbox_pi_{topup.pk}")
    assert (event.type, event.outcome) == ("payment_intent.succeeded", "credited")
    journal = Journal.objects.get(key=f"topup:{topup.pk}")
    assert journal.memo == f"TEST MONEY (sandbox) sandbox_pi_{topup.pk}"
    assert client.get("/api/v1/billing/balance").json()["available_cents"] == 5000
    assert client.get("/api/v1/billing/topups").json()["results"][0]["test_money"] is True
    # The reconcile job asks the (sandbox) provider again: credited once, not twice.
    assert topup_reconcile(topup_id=topup.pk) == "already_credited"
    assert ledger.balance_of(ledger.organization_available(
        requester.membership.organization_id)) == 5000
    assert ledger_check()["sum_cents"] == 0


def test_without_a_provider_a_top_up_says_so_with_its_own_code(settings):
    settings.PAYMENTS_SANDBOX = False
    settings.STRIPE_SECRET_KEY = ""
    requester = make_requester()

    response = client_for(requester).post("/api/v1/billing/topups", {"amount_cents": 5000},
                                          format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "payment_provider_not_configured"
    topup = TopUp.objects.get(organization=requester.membership.organization)
    assert topup.status == TopUpStatus.FAILED
    assert not Journal.objects.filter(kind=JournalKind.TOPUP).exists()


def test_a_sandbox_payout_account_needs_the_sandbox_on(settings):
    settings.PAYMENTS_SANDBOX = False
    settings.PAYOUT_PROVIDER = "sandbox"
    worker = make_worker()

    response = client_for(worker.user).post("/api/v1/worker/payout-account")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "payment_provider_not_configured"


def test_fund_work_approve_and_a_run_pays_just_released_earnings_end_to_end(
        sandbox, settings, django_capture_on_commit_callbacks):
    settings.EARNINGS_HOLD_SECONDS = 0
    requester = make_requester()
    requester_client = client_for(requester)
    assert requester_client.post("/api/v1/billing/topups", {"amount_cents": 10_000},
                                 format="json").status_code == 201
    project = make_project(requester, items=2, reward_cents=500)
    worker = make_worker()
    worker_client = client_for(worker.user)
    account = worker_client.post("/api/v1/worker/payout-account").json()
    assert (account["provider"], account["status"]) == ("sandbox", "active")
    approved(worker, project, requester)
    # Approved just now: still pending, since no hold-release job has run.
    assert worker_client.get("/api/v1/worker/earnings").json()["pending_cents"] == 500
    admin = client_for(make_staff())

    with django_capture_on_commit_callbacks(execute=True):
        started = admin.post("/api/v1/admin/payouts/run")
    run = admin.get(f"/api/v1/admin/payouts/runs/{started.json()['run_id']}")

    assert started.status_code == 202
    assert run.status_code == 200
    body = run.json()
    del body["created_at"], body["started_at"], body["finished_at"]
    assert body == {"id": started.json()["run_id"], "run_id": started.json()["run_id"],
                    "status": "finished", "earnings_released": 1, "payouts_created": 1,
                    "payouts_paid": 1, "payouts_failed": 0, "payouts_in_flight": 0}
    payout = Payout.objects.get(worker=worker)
    assert (payout.status, payout.amount_cents, payout.provider_reference) == (
        "paid", 500, f"sandbox_tr_{payout.pk}")
    earnings = worker_client.get("/api/v1/worker/earnings").json()
    assert (earnings["pending_cents"], earnings["available_cents"], earnings["paid_cents"]) \
        == (0, 0, 500)
    assert [(entry["amount_cents"], entry["status"]) for entry in earnings["payouts"]] == [
        (500, "paid")]
    assert ledger_check()["sum_cents"] == 0


def test_an_unknown_run_is_404_and_runs_are_for_staff(sandbox):
    assert client_for(make_staff()).get("/api/v1/admin/payouts/runs/999999").status_code == 404
    assert client_for(make_worker().user).get(
        "/api/v1/admin/payouts/runs/1").status_code == 403
