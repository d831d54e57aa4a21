"""Escrow: launch reserves tasks x overlap x (pay + fee) or answers 402; overlap raises
reserve more or say no; cancel and completion give back what is not owed."""
import pytest

from conftest import client_for
from marketplace.enums import ProjectStatus
from marketplace.models import Project
from config.errors import Conflict, PaymentRequired
from payments import ledger
from payments.enums import JournalKind
from payments.models import Journal
from payments.services import (
    assignment_cost_cents,
    escrow_release_closed_projects,
    escrow_release_unspent,
    escrow_reserve_more,
)

from .factories import (
    approved,
    claim,
    fund,
    make_project,
    make_requester,
    make_worker,
    org_available,
    set_status,
    submitted,
)
from flows import decisions
from flows import projects as projects_flow

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fee(settings):
    settings.PLATFORM_FEE_PERCENT = 20


def escrow(project) -> int:
    return ledger.balance_of(ledger.project_escrow(project))


def test_launch_reserves_every_slot_at_full_pay_plus_fee():
    requester = make_requester(funds_cents=1000)

    # 5 items in tasks of 2 -> 3 tasks; overlap 2 -> 6 slots; 10 + 2 fee each.
    project = make_project(requester, items=5, overlap=2, reward_cents=10, gold_per_task=0)

    assert escrow(project) == 72
    assert org_available(requester) == 1000 - 72
    journal = Journal.objects.get(kind=JournalKind.ESCROW_RESERVE)
    assert journal.key == f"escrow_reserve:{project.pk}:1"
    assert journal.project_id == project.pk


def test_hourly_launch_reserves_the_capped_time_at_the_rate():
    requester = make_requester(funds_cents=10_000)

    # 2 tasks x overlap 1 x (1200/h for at most 10 min = 200, + 40 fee).
    project = make_project(requester, items=4, pay_model="hourly", reward_cents=None,
                           hourly_rate_cents=1200, max_seconds_per_assignment=600)

    assert escrow(project) == 2 * 240
    assert assignment_cost_cents(project=project) == 240


def test_launch_without_enough_funds_is_402_and_changes_nothing():
    requester = make_requester(funds_cents=71)
    project = make_project(requester, items=5, overlap=2, launch=False)

    response = client_for(requester).post(f"/api/v1/projects/{project.pk}/launch")

    assert response.status_code == 402
    body = response.json()["error"]
    assert body["code"] == "insufficient_funds"
    assert "needs 72 cents" in body["message"] and "71 cents available" in body["message"]
    project.refresh_from_db()
    assert project.status == ProjectStatus.DRAFT and project.launched_at is None
    assert org_available(requester) == 71
    assert not Journal.objects.filter(kind=JournalKind.ESCROW_RESERVE).exists()


def test_launch_over_the_project_budget_is_409():
    requester = make_requester(funds_cents=1000)
    project = make_project(requester, items=5, overlap=2, budget_cents=50, launch=False)

    response = client_for(requester).post(f"/api/v1/projects/{project.pk}/launch")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "over_budget"
    assert org_available(requester) == 1000


def test_reserve_more_moves_funds_into_escrow():
    requester = make_requester(funds_cents=100)
    project = make_project(requester, items=2)  # 12 reserved

    assert escrow_reserve_more(project=project, amount_cents=12) is True

    assert escrow(project) == 24
    assert org_available(requester) == 76
    assert Journal.objects.filter(kind=JournalKind.ESCROW_RESERVE).count() == 2


def test_reserve_more_says_no_and_writes_nothing_when_funds_are_short():
    requester = make_requester(funds_cents=20)
    project = make_project(requester, items=2)  # 12 reserved, 8 left

    assert escrow_reserve_more(project=project, amount_cents=12) is False

    assert escrow(project) == 12
    assert org_available(requester) == 8
    assert Journal.objects.filter(kind=JournalKind.ESCROW_RESERVE).count() == 1


def test_reserve_more_respects_the_budget():
    requester = make_requester(funds_cents=1000)
    project = make_project(requester, items=2, budget_cents=20)  # 12 committed

    assert escrow_reserve_more(project=project, amount_cents=12) is False
    assert escrow_reserve_more(project=project, amount_cents=8) is True


def test_cancel_gives_back_all_but_what_work_in_progress_may_cost():
    requester = make_requester(funds_cents=1000)
    project = make_project(requester, items=6, overlap=2)  # 6 slots x 12 = 72
    approved(make_worker(), project, requester)  # 12 spent
    submitted(make_worker(), project)  # 12 still owed if approved
    claim(make_worker(), project)  # 12 still owed if submitted and approved

    response = client_for(requester).post(f"/api/v1/projects/{project.pk}/cancel")

    assert response.status_code == 200
    assert escrow(project) == 24
    assert org_available(requester) == 1000 - 72 + 36


def test_released_work_pays_from_escrow_and_the_sweep_returns_the_rest():
    requester = make_requester(funds_cents=1000)
    project = make_project(requester, items=4)  # 2 slots x 12
    pending = submitted(make_worker(), project)
    projects_flow.cancel(project=project, actor=requester)
    assert escrow(project) == 12

    decisions.reject(assignment_id=pending.pk, actor=requester, reason="Wrong answers")
    released = escrow_release_closed_projects()

    assert released == 12
    assert escrow(project) == 0
    assert org_available(requester) == 1000


def test_release_unspent_is_idempotent_and_only_for_closed_projects():
    requester = make_requester(funds_cents=1000)
    project = make_project(requester, items=4)
    set_status(project, ProjectStatus.COMPLETED)

    assert escrow_release_unspent(project=project) == 24
    assert escrow_release_unspent(project=project) == 0
    assert org_available(requester) == 1000

    active = make_project(requester, items=2)
    with pytest.raises(Conflict) as refused:
        escrow_release_unspent(project=active)
    assert refused.value.error_code == "project_not_closed"


def test_a_draft_cancelled_without_launch_has_nothing_to_release():
    requester = make_requester(funds_cents=100)
    project = make_project(requester, items=2, launch=False)

    projects_flow.cancel(project=project, actor=requester)

    assert Project.objects.get(pk=project.pk).status == ProjectStatus.CANCELLED
    assert org_available(requester) == 100
    assert not Journal.objects.filter(kind=JournalKind.ESCROW_RELEASE).exists()


def test_relaunch_after_402_succeeds_once_funded():
    requester = make_requester(funds_cents=10)
    project = make_project(requester, items=2, launch=False)
    with pytest.raises(PaymentRequired):
        projects_flow.launch(project=project, actor=requester)

    fund(requester.membership.organization, 2)
    projects_flow.launch(project=project, actor=requester)

    assert escrow(project) == 12
    assert org_available(requester) == 0
