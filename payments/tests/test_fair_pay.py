"""Fair pay, enforced (issue 13): the floor refuses a launch that cannot meet it (with the
numbers), and approvals under it are topped up once, from escrow, on their own ledger
line; funds short pause the project with a reason."""
import json

import pytest

from conftest import client_for
from marketplace.models import Project, WebhookDelivery
from marketplace.webhooks.services import webhook_endpoint_create
from payments import ledger, selectors
from payments.enums import EarningKind, JournalKind
from payments.models import Earning, Journal
from payments.services import approval_pay, fair_pay_adjust

from .factories import (
    approved,
    balance,
    make_project,
    make_requester,
    make_worker,
    org_available,
    submitted,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _money_settings(settings):
    settings.PLATFORM_FEE_PERCENT = 20
    settings.MIN_EFFECTIVE_HOURLY_CENTS = 1200
    settings.EARNINGS_HOLD_SECONDS = 0


def _launch(requester, project):
    return client_for(requester).post(f"/api/v1/projects/{project.pk}/launch")


def test_launch_refused_under_the_floor_at_the_estimate_with_the_numbers():
    requester = make_requester(funds_cents=10_000)
    project = make_project(requester, launch=False, reward_cents=10,
                           estimated_seconds_per_task=60)

    response = _launch(requester, project)

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "below_pay_floor"
    assert error["details"] == {
        "pay_model": "per_task", "reward_cents": 10, "estimated_seconds_per_task": 60,
        "implied_hourly_cents": 600, "min_effective_hourly_cents": 1200,
        "suggested_reward_cents": 20}
    assert error["fields"] == {"reward_cents": ["At least 20 at 60 s per task."]}
    project.refresh_from_db()
    assert project.status == "draft"
    assert not Journal.objects.filter(project=project).exists()
    assert org_available(requester) == 10_000


def test_launch_at_exactly_the_floor_goes_ahead():
    requester = make_requester(funds_cents=10_000)
    project = make_project(requester, launch=False, reward_cents=20,
                           estimated_seconds_per_task=60)

    assert _launch(requester, project).status_code == 200


def test_a_project_override_raises_the_floor_but_never_lowers_it(settings):
    settings.MIN_EFFECTIVE_HOURLY_CENTS = 600
    requester = make_requester(funds_cents=10_000)
    stricter = make_project(requester, launch=False, reward_cents=10,
                            estimated_seconds_per_task=60, min_effective_hourly_cents=1800)
    laxer = make_project(requester, launch=False, reward_cents=5,
                         estimated_seconds_per_task=60, min_effective_hourly_cents=100)

    strict_error = _launch(requester, stricter).json()["error"]
    lax_error = _launch(requester, laxer).json()["error"]

    assert (strict_error["code"], strict_error["details"]["min_effective_hourly_cents"],
            strict_error["details"]["suggested_reward_cents"]) == ("below_pay_floor", 1800, 30)
    assert (lax_error["details"]["min_effective_hourly_cents"],
            lax_error["details"]["implied_hourly_cents"]) == (600, 300)


def test_hourly_rate_under_the_floor_is_refused_at_launch():
    requester = make_requester(funds_cents=10_000)
    project = make_project(requester, launch=False, pay_model="hourly", reward_cents=None,
                           hourly_rate_cents=1000, max_seconds_per_assignment=600)

    response = _launch(requester, project)

    assert response.status_code == 409
    assert response.json()["error"]["details"] == {
        "pay_model": "hourly", "hourly_rate_cents": 1000, "min_effective_hourly_cents": 1200,
        "suggested_hourly_rate_cents": 1200}
    assert Project.objects.get(pk=project.pk).status == "draft"


def test_adjustment_tops_an_approval_up_to_the_floor_once_from_escrow(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    requester = make_requester(funds_cents=1000)
    organization = requester.membership.organization
    webhook_endpoint_create(organization=organization, actor=requester,
                            url="http://127.0.0.1:9/hooks", events=["project.pay_adjusted"])
    # 4 items in tasks of 2, overlap 1: 2 slots at 12 (10 + 20 % fee) = 24 reserved.
    project = make_project(requester, items=4, reward_cents=10)
    worker = make_worker()

    # 60 s measured: 10 cents is 600 an hour; the floor needs 20 cents.
    assignment = approved(worker, project, requester, active_seconds=60)

    adjustment = Earning.objects.get(adjusted_assignment=assignment)
    assert (adjustment.kind, adjustment.amount_cents, adjustment.fee_cents,
            adjustment.active_seconds, adjustment.hourly_rate_cents) == (
        EarningKind.FAIR_PAY, 10, 2, 60, 1200)
    journal = Journal.objects.get(key=f"fair_pay:{assignment.pk}")
    assert journal.kind == JournalKind.FAIR_PAY
    assert sum(journal.entries.values_list("amount_cents", flat=True)) == 0
    assert balance(ledger.worker_pending(worker.pk)) + balance(
        ledger.worker_available(worker.pk)) == 20
    # Escrow: 24 - 12 (reward) - 12 (adjustment) + 12 reserved again from the balance.
    assert balance(ledger.project_escrow(project)) == 12
    assert org_available(requester) == 1000 - 24 - 12
    # Exactly once: a replayed approval pays nothing, so it adjusts nothing; and even
    # handed the original earning again, the adjustment exists already.
    assert approval_pay(assignment=assignment) is None
    assert fair_pay_adjust(assignment=assignment, approval_earning=None) is None
    assert fair_pay_adjust(assignment=assignment,
                           approval_earning=Earning.objects.get(assignment=assignment)) is None
    assert Earning.objects.filter(adjusted_assignment=assignment).count() == 1
    assert selectors.ledger_check()["sum_cents"] == 0
    assert selectors.ledger_check()["negative_balances"] == 0
    # The requester is told once, with the numbers and the suggested reward.
    deliveries = list(WebhookDelivery.objects.filter(event="project.pay_adjusted"))
    assert len(deliveries) == 1
    assert json.loads(deliveries[0].body)["data"] == {
        "project_id": project.pk, "measured_hourly_cents": 600,
        "min_effective_hourly_cents": 1200, "reward_cents": 10, "suggested_reward_cents": 20}


def test_quick_work_on_an_underpaying_project_needs_no_adjustment():
    requester = make_requester(funds_cents=1000)
    project = make_project(requester, items=6, reward_cents=10)
    approved(make_worker(), project, requester, active_seconds=120)
    submitted(make_worker(), project, active_seconds=120)

    # The median is 120 s (300 an hour, under the floor), but 30 s at 10 cents is 1200.
    quick = approved(make_worker(), project, requester, active_seconds=30)

    assert not Earning.objects.filter(adjusted_assignment=quick).exists()
    assert Earning.objects.filter(project=project, kind=EarningKind.FAIR_PAY).count() == 1


def test_no_adjustment_while_the_median_meets_the_floor():
    requester = make_requester(funds_cents=1000)
    project = make_project(requester, items=6, reward_cents=10)
    submitted(make_worker(), project, active_seconds=20)
    submitted(make_worker(), project, active_seconds=20)

    slow = approved(make_worker(), project, requester, active_seconds=60)

    # Median 20 s: 1800 an hour. The project pays fairly; one slow worker is not topped up.
    assert not Earning.objects.filter(kind=EarningKind.FAIR_PAY).exists()
    assert Earning.objects.get(assignment=slow).amount_cents == 10


def test_adjustments_that_empty_escrow_pause_the_project_with_a_reason(
        django_capture_on_commit_callbacks):
    requester = make_requester(funds_cents=24)
    project = make_project(requester, items=4, reward_cents=10)  # reserves all 24
    worker = make_worker()

    with django_capture_on_commit_callbacks(execute=True):
        approved(worker, project, requester, active_seconds=60)

    project.refresh_from_db()
    assert project.status == "paused"
    assert "fair-pay adjustments" in project.status_reason
    assert balance(ledger.worker_pending(worker.pk)) + balance(
        ledger.worker_available(worker.pk)) == 20
    assert balance(ledger.project_escrow(project)) == 0
    assert org_available(requester) == 0


def test_progress_and_worker_earnings_show_the_adjustment():
    requester = make_requester(funds_cents=1000)
    project = make_project(requester, items=4, reward_cents=10)
    worker = make_worker()
    approved(worker, project, requester, active_seconds=60)

    progress = client_for(requester).get(f"/api/v1/projects/{project.pk}/progress").json()
    earnings = client_for(worker.user).get("/api/v1/worker/earnings").json()

    assert {name: progress[name] for name in (
        "min_effective_hourly_cents", "measured_hourly_cents", "fair_pay_adjustments",
        "fair_pay_adjusted_cents", "fair_pay_fees_cents", "suggested_reward_cents")} == {
        "min_effective_hourly_cents": 1200, "measured_hourly_cents": 600,
        "fair_pay_adjustments": 1, "fair_pay_adjusted_cents": 10, "fair_pay_fees_cents": 2,
        "suggested_reward_cents": 20}
    assert earnings["projects"] == [{
        "project_id": project.pk, "approved_assignments": 1, "active_seconds": 60,
        "earned_cents": 20, "fair_pay_adjusted_cents": 10, "effective_hourly_cents": 1200}]
    assert sorted((entry["kind"], entry["amount_cents"]) for entry in earnings["entries"]) == [
        ("fair_pay", 10), ("task", 10)]
