"""Earnings: every approval path pays once (escrow -> worker pending, fee -> platform),
hourly work pays measured time capped, the hold job makes earnings available, bonuses."""
from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import client_for
from marketplace.enums import AssignmentStatus
from marketplace.models import Assignment, Item
from marketplace.services.pseudonyms import worker_pseudonym_for
from payments import ledger
from payments.enums import EarningKind, JournalKind
from payments.errors import ApprovalUnfunded
from payments.models import Bonus, Earning, Journal
from payments.services import approval_pay, earnings_release_due

from .factories import (
    add_items,
    add_unreserved_task,
    approved,
    make_project,
    make_requester,
    make_worker,
    org_available,
    submitted,
)
from flows import decisions

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _money_settings(settings):
    settings.PLATFORM_FEE_PERCENT = 20
    settings.EARNINGS_HOLD_SECONDS = 3600


def pending(worker) -> int:
    return ledger.balance_of(ledger.worker_pending(worker.pk))


def available(worker) -> int:
    return ledger.balance_of(ledger.worker_available(worker.pk))


def escrow(project) -> int:
    return ledger.balance_of(ledger.project_escrow(project))


def test_requester_approval_pays_the_worker_and_the_fee_from_escrow():
    requester = make_requester(funds_cents=1000)
    project = make_project(requester, items=4, reward_cents=25)  # 2 x 30 reserved
    worker = make_worker()
    assignment = submitted(worker, project)

    response = client_for(requester).post(f"/api/v1/assignments/{assignment.pk}/approve")

    assert response.status_code == 200
    assert pending(worker) == 25
    assert ledger.balance_of(ledger.PLATFORM_FEES) == 5
    assert escrow(project) == 30
    earning = Earning.objects.get(assignment=assignment)
    assert (earning.kind, earning.amount_cents, earning.fee_cents) == (EarningKind.TASK, 25, 5)
    assert earning.available_at > timezone.now() + timedelta(minutes=59)
    assert Journal.objects.get(kind=JournalKind.APPROVAL).key == f"approval:{assignment.pk}"


def test_a_rejection_pays_nothing_and_reserves_its_replacement():
    requester = make_requester(funds_cents=1000)
    project = make_project(requester, items=2)
    worker = make_worker()

    decisions.reject(assignment_id=submitted(worker, project).pk, actor=requester, reason="Spam")

    assert pending(worker) == 0
    assert not Journal.objects.filter(kind=JournalKind.APPROVAL).exists()
    assert escrow(project) == 24  # launch reserved 12; the replacement label 12 more


def test_auto_approval_pays():
    requester = make_requester(funds_cents=1000)
    project = make_project(requester, items=2)
    worker = make_worker()
    assignment = submitted(worker, project)

    assert decisions.auto_approve_due(now=timezone.now() + timedelta(days=30)) == 1

    assert pending(worker) == 10
    assert Earning.objects.get().assignment_id == assignment.pk


def test_an_overturned_rejection_pays_once():
    requester = make_requester(funds_cents=1000)
    project = make_project(requester, items=2)
    worker = make_worker()
    assignment = submitted(worker, project)
    decisions.reject(assignment_id=assignment.pk, actor=requester, reason="Looked wrong")

    decisions.overturn(assignment_id=assignment.pk, actor=requester, note="It was right")

    assert pending(worker) == 10
    assert Earning.objects.filter(assignment=assignment).count() == 1


def test_paying_the_same_assignment_again_changes_nothing():
    requester = make_requester(funds_cents=1000)
    project = make_project(requester, items=2)
    worker = make_worker()
    assignment = approved(worker, project, requester)

    assert approval_pay(assignment=Assignment.objects.select_related("project")
                        .get(pk=assignment.pk)) is None

    assert pending(worker) == 10
    assert Journal.objects.filter(kind=JournalKind.APPROVAL).count() == 1


def test_hourly_work_pays_measured_active_seconds_capped():
    requester = make_requester(funds_cents=10_000)
    project = make_project(requester, items=4, pay_model="hourly", reward_cents=None,
                           hourly_rate_cents=1800, max_seconds_per_assignment=600)
    short, long = make_worker(), make_worker()

    approved(short, project, requester, active_seconds=130)
    approved(long, project, requester, active_seconds=5000)

    # 130 s at $18/h = 65 cents; 5000 s capped at 600 s = 300 cents.
    assert pending(short) == 65
    assert pending(long) == 300
    earning = Earning.objects.get(worker=long)
    assert (earning.kind, earning.active_seconds, earning.hourly_rate_cents,
            earning.fee_cents) == (EarningKind.HOURLY, 600, 1800, 60)
    assert escrow(project) == 2 * 360 - (65 + 13) - (300 + 60)


def test_hold_release_makes_earnings_available_after_the_hold_once():
    requester = make_requester(funds_cents=1000)
    project = make_project(requester, items=4)
    worker = make_worker()
    approved(worker, project, requester)
    approved(worker, make_project(requester, items=2), requester)

    assert earnings_release_due() == 0
    later = timezone.now() + timedelta(hours=2)
    assert earnings_release_due(now=later) == 2
    assert earnings_release_due(now=later) == 0

    assert (pending(worker), available(worker)) == (0, 20)
    assert Journal.objects.filter(kind=JournalKind.HOLD_RELEASE).count() == 1
    assert not Earning.objects.filter(released_at__isnull=True).exists()


def test_work_beyond_escrow_is_paid_from_the_organization_balance():
    requester = make_requester(funds_cents=30)
    project = make_project(requester, items=2)  # 12 reserved, 18 left
    add_unreserved_task(project, 2)  # a second task no escrow covers
    first, second = make_worker(), make_worker()

    approved(first, project, requester)
    approved(second, project, requester)

    assert pending(first) == pending(second) == 10
    assert escrow(project) == 0
    assert org_available(requester) == 6


def test_an_approval_nobody_can_fund_is_402_and_changes_nothing():
    requester = make_requester(funds_cents=12)
    project = make_project(requester, items=2)  # all 12 reserved
    add_unreserved_task(project, 2)
    approved(make_worker(), project, requester)
    worker = make_worker()
    assignment = submitted(worker, project)

    response = client_for(requester).post(f"/api/v1/assignments/{assignment.pk}/approve")

    assert response.status_code == 402
    assert response.json()["error"]["code"] == "insufficient_funds"
    assert Assignment.objects.get(pk=assignment.pk).status == AssignmentStatus.SUBMITTED
    assert pending(worker) == 0
    assert not Earning.objects.filter(assignment=assignment).exists()
    # The auto-approve sweep skips it (a Conflict to the sweep) until funds arrive.
    assert decisions.auto_approve_due(now=timezone.now() + timedelta(days=30)) == 0
    with pytest.raises(ApprovalUnfunded):
        decisions.approve(assignment_id=assignment.pk, actor=requester)


# --- Bonuses -------------------------------------------------------------------------------

def _bonus_setup(funds_cents=1000):
    requester = make_requester(funds_cents=funds_cents)
    project = make_project(requester, items=2)
    worker = make_worker()
    approved(worker, project, requester)
    return requester, project, worker, worker_pseudonym_for(project=project, worker=worker)


def test_a_bonus_is_paid_from_the_organization_balance_with_the_fee():
    requester, project, worker, pseudonym = _bonus_setup()
    client = client_for(requester)

    response = client.post(f"/api/v1/projects/{project.pk}/bonuses", {
        "worker_id": pseudonym, "amount_cents": 50, "reason": "Great rationales"},
        format="json", HTTP_IDEMPOTENCY_KEY="bonus-1")
    replay = client.post(f"/api/v1/projects/{project.pk}/bonuses", {
        "worker_id": pseudonym, "amount_cents": 50, "reason": "Great rationales"},
        format="json", HTTP_IDEMPOTENCY_KEY="bonus-1")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert {k: body[k] for k in ("worker_id", "amount_cents", "fee_cents", "reason",
                                 "project_id")} == {
        "worker_id": pseudonym, "amount_cents": 50, "fee_cents": 10,
        "reason": "Great rationales", "project_id": project.pk}
    assert replay.json() == body
    assert Bonus.objects.count() == 1
    assert pending(worker) == 10 + 50
    assert org_available(requester) == 1000 - 12 - 60
    assert Earning.objects.get(bonus__isnull=False).kind == EarningKind.BONUS


def test_a_bonus_the_organization_cannot_afford_is_402_and_writes_nothing():
    requester, project, worker, pseudonym = _bonus_setup(funds_cents=20)  # 8 left

    response = client_for(requester).post(f"/api/v1/projects/{project.pk}/bonuses", {
        "worker_id": pseudonym, "amount_cents": 8, "reason": "Thanks"}, format="json")

    assert response.status_code == 402
    assert response.json()["error"]["code"] == "insufficient_funds"
    assert not Bonus.objects.exists()
    assert not Journal.objects.filter(kind=JournalKind.BONUS).exists()
    assert pending(worker) == 10


@pytest.mark.parametrize("body, field", [
    ({"worker_id": "w_nobody", "amount_cents": 5, "reason": "x"}, "worker_id"),
    ({"worker_id": "w_x", "amount_cents": 0, "reason": "x"}, "amount_cents"),
    ({"worker_id": "w_x", "amount_cents": 5, "reason": ""}, "reason"),
])
def test_a_bad_bonus_is_400(body, field):
    requester, project, _worker, _pseudonym = _bonus_setup()

    response = client_for(requester).post(f"/api/v1/projects/{project.pk}/bonuses", body,
                                          format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not Bonus.objects.exists()


def test_another_organization_cannot_bonus_on_a_project():
    _requester, project, _worker, pseudonym = _bonus_setup()
    stranger = make_requester(funds_cents=1000)

    response = client_for(stranger).post(f"/api/v1/projects/{project.pk}/bonuses", {
        "worker_id": pseudonym, "amount_cents": 5, "reason": "x"}, format="json")

    assert response.status_code == 404
    assert not Bonus.objects.exists()


# --- What workers see -------------------------------------------------------------------------

def test_worker_earnings_show_balances_and_entries():
    requester, project, worker, pseudonym = _bonus_setup()
    client_for(requester).post(f"/api/v1/projects/{project.pk}/bonuses", {
        "worker_id": pseudonym, "amount_cents": 40, "reason": "Thanks"}, format="json")

    response = client_for(worker.user).get("/api/v1/worker/earnings")

    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("pending_cents", "available_cents", "in_flight_cents",
                                 "paid_cents")} == {
        "pending_cents": 50, "available_cents": 0, "in_flight_cents": 0, "paid_cents": 0}
    assert [(e["kind"], e["amount_cents"], e["status"], e["reason"])
            for e in body["entries"]] == [("bonus", 40, "pending", "Thanks"),
                                          ("task", 10, "pending", "")]


def test_worker_statement_lists_ledger_lines_with_opening_and_closing_balances():
    requester, project, worker, _pseudonym = _bonus_setup()
    earnings_release_due(now=timezone.now() + timedelta(hours=2))
    client = client_for(worker.user)

    statement = client.get("/api/v1/worker/statement").json()
    as_csv = client.get("/api/v1/worker/statement?format=csv")

    assert statement["earned_cents"] == 10
    assert statement["opening_balances"] == {"pending": 0, "available": 0, "in_flight": 0}
    assert statement["closing_balances"] == {"pending": 0, "available": 10, "in_flight": 0}
    assert [(line["kind"], line["account"], line["amount_cents"])
            for line in statement["lines"]] == [("approval", "pending", 10),
                                                ("hold_release", "pending", -10),
                                                ("hold_release", "available", 10)]
    assert as_csv.status_code == 200 and as_csv["Content-Type"] == "text/csv"
    assert as_csv.content.decode().count("\n") == 4


def test_statement_dates_are_validated():
    worker = make_worker()

    response = client_for(worker.user).get("/api/v1/worker/statement?from=yesterday")

    assert response.status_code == 400
    assert "from" in response.json()["error"]["fields"]


def test_items_uploaded_to_a_running_project_reserve_their_escrow():
    requester = make_requester(funds_cents=30)
    project = make_project(requester, items=2)  # 12 reserved, 18 left

    add_items(project, requester, 2)  # one more task: 12 more

    assert escrow(project) == 24
    assert org_available(requester) == 6


def test_items_a_running_project_cannot_fund_are_refused_with_402_and_nothing_stored():
    requester = make_requester(funds_cents=12)
    project = make_project(requester, items=2)  # all 12 reserved
    items_before = Item.objects.filter(project=project).count()

    response = client_for(requester).post(
        f"/api/v1/projects/{project.pk}/items",
        {"items": [{"data": {"text": "more"}}, {"data": {"text": "work"}}]}, format="json")

    assert response.status_code == 402
    assert response.json()["error"]["code"] == "insufficient_funds"
    assert Item.objects.filter(project=project).count() == items_before
    assert escrow(project) == 12
