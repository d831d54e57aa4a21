"""The Django admin: payout actions call the services; the ledger is read-only."""
from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client
from django.utils import timezone

from accounts.models import User
from payments.models import Journal, Payout, PayoutRun
from payments.services import earnings_release_due, payout_account_setup, payouts_run

from .factories import approved, make_project, make_requester, make_worker

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_for_money(settings) -> Client:
    settings.PAYOUT_PROVIDER = "manual"
    settings.EARNINGS_HOLD_SECONDS = 0
    settings.MIN_PAYOUT_CENTS = 100
    client = Client()
    client.force_login(User.objects.create_superuser(email="ops@quorum.example",
                                                     password=None))
    return client


def _in_flight_payout() -> Payout:
    requester = make_requester(funds_cents=1000)
    worker = make_worker()
    approved(worker, make_project(requester, items=2, reward_cents=300), requester)
    earnings_release_due(now=timezone.now() + timedelta(seconds=1))
    payout_account_setup(worker=worker)
    payouts_run()
    return Payout.objects.get(worker=worker)


def test_payouts_and_the_ledger_are_browsable(admin_client_for_money):
    payout = _in_flight_payout()
    journal = Journal.objects.filter(payout=payout).first()

    for url in ["/admin/payments/payout/", f"/admin/payments/payout/{payout.pk}/change/",
                "/admin/payments/journal/", f"/admin/payments/journal/{journal.pk}/change/",
                "/admin/payments/ledgeraccount/", "/admin/payments/payout/run/"]:
        assert admin_client_for_money.get(url).status_code == 200, url


def test_mark_paid_action_asks_for_the_reference_then_settles(admin_client_for_money):
    payout = _in_flight_payout()

    asked = admin_client_for_money.post("/admin/payments/payout/", {
        "action": "mark_paid", ACTION_CHECKBOX_NAME: [payout.pk]})
    payout.refresh_from_db()
    assert asked.status_code == 200 and payout.status == "in_flight"
    admin_client_for_money.post("/admin/payments/payout/", {
        "action": "mark_paid", ACTION_CHECKBOX_NAME: [payout.pk],
        "_selected_action": [payout.pk], "apply": "1", "reference": "SEPA-9"})

    payout.refresh_from_db()
    assert (payout.status, payout.provider_reference) == ("paid", "SEPA-9")
    assert Journal.objects.filter(key=f"payout_settle:{payout.pk}").exists()


def test_mark_failed_action_asks_for_a_reason_then_returns_the_money(admin_client_for_money):
    payout = _in_flight_payout()

    asked = admin_client_for_money.post("/admin/payments/payout/", {
        "action": "mark_failed", ACTION_CHECKBOX_NAME: [payout.pk]})
    admin_client_for_money.post("/admin/payments/payout/", {
        "action": "mark_failed", ACTION_CHECKBOX_NAME: [payout.pk], "apply": "1",
        "_selected_action": [payout.pk], "reason": "Account closed"})

    assert b"reason" in asked.content
    payout.refresh_from_db()
    assert (payout.status, payout.failure_reason) == ("failed", "Account closed")


def test_run_button_starts_a_run(admin_client_for_money, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_for_money.post("/admin/payments/payout/run/")

    assert response.status_code == 302
    assert PayoutRun.objects.get().status == "finished"


def test_ledger_rows_cannot_be_edited_in_the_admin(admin_client_for_money):
    _in_flight_payout()
    journal = Journal.objects.first()

    response = admin_client_for_money.post(f"/admin/payments/journal/{journal.pk}/change/",
                                           {"memo": "edited"})

    assert response.status_code == 403
    assert admin_client_for_money.get("/admin/payments/journal/add/").status_code == 403
