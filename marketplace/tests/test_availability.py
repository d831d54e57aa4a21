"""GET /api/v1/worker/availability: whether a claim would find work, and if not, why.

Each code is produced by the state it names, and the answer always agrees with what
POST /worker/tasks/next then does (same rules: routable_projects, claimable_tasks).
"""
import pytest

from conftest import client_for, make_worker
from marketplace.models import Assignment, Task
from marketplace.services import worker_pseudonym_for
from qa.enums import QualityActionKind, QualityRule
from qa.models import QualityAction
from workers.enums import WorkerStatus
from workers.models import WorkerApplication
from workers.services import application_submit, worker_ban, worker_block, worker_suspend
from workers.tests.factories import make_project, make_ready_worker, profile_of

URL = "/api/v1/worker/availability"
NEXT = "/api/v1/worker/tasks/next"
pytestmark = pytest.mark.django_db


def availability(user) -> dict:
    response = client_for(user).get(URL)
    assert response.status_code == 200, response.content
    return response.json()


def codes(body) -> list[str]:
    return [reason["code"] for reason in body["reasons"]]


def ready(email="dana@workers.example", **kwargs):
    user = make_worker(email)
    make_ready_worker(user, skills=kwargs.pop("skills", {"sentiment-en": 90}), **kwargs)
    return user


def test_an_eligible_worker_with_open_work_can_work_and_the_claim_agrees(requester):
    make_project(requester)
    user = ready()

    assert availability(user) == {"can_work": True, "reasons": []}
    assert client_for(user).post(NEXT, {}, format="json").status_code == 200


def test_a_worker_with_a_live_lease_can_work_even_when_no_other_task_is_open(requester):
    make_project(requester, items=2, items_per_task=2)
    user = ready()
    assert client_for(user).post(NEXT, {}, format="json").status_code == 200

    assert availability(user) == {"can_work": True, "reasons": []}


def test_applicant_without_application_is_not_vetted(db):
    user = make_worker("new@workers.example")

    body = availability(user)

    assert body["can_work"] is False
    assert codes(body) == ["not_vetted"]
    assert "application" in body["reasons"][0]["message"]


def test_pending_application(db):
    user = make_worker("new@workers.example")
    application_submit(worker=profile_of(user), statement="I label text.", credentials=[])

    body = availability(user)

    assert codes(body) == ["application_pending"]
    assert WorkerApplication.objects.filter(worker=profile_of(user)).count() == 1


def test_suspended_account_names_the_reason(requester, staff):
    user = ready()
    worker_suspend(worker=profile_of(user), actor=staff, reason="Copied answers")

    body = availability(user)

    assert body == {"can_work": False, "reasons": [{
        "code": "suspended",
        "message": "Your account is suspended until an admin reinstates it. "
                   "Reason: Copied answers", "until": None}]}


def test_quality_suspension_from_the_only_project(requester):
    project = make_project(requester, name="Reviews")
    user = ready()
    QualityAction.objects.create(worker=profile_of(user), project=project,
                                 rule=QualityRule.LOW_ACCURACY,
                                 kind=QualityActionKind.SUSPENDED, reason="Gold accuracy low")

    body = availability(user)

    assert body["can_work"] is False
    assert codes(body) == ["suspended", "no_matching_project"]
    assert body["reasons"][0]["message"] == (
        'You are suspended from "Reviews" until the requester or an admin lifts it. '
        "Reason: Gold accuracy low")
    assert client_for(user).post(NEXT, {}, format="json").status_code == 204


def test_blocked_never_names_the_requester(requester):
    project = make_project(requester)
    user = ready()
    worker_block(project=project, actor=requester, reason="Spam",
                 pseudonym=worker_pseudonym_for(project=project, worker=profile_of(user)))

    body = availability(user)

    assert codes(body) == ["blocked", "no_matching_project"]
    assert "Acme" not in str(body)
    assert client_for(user).post(NEXT, {}, format="json").status_code == 204


def test_no_matching_project_when_skills_fall_short(requester):
    make_project(requester)
    user = ready(skills={"sentiment-en": 10})

    body = availability(user)

    assert body == {"can_work": False, "reasons": [{
        "code": "no_matching_project",
        "message": "No active project matches your verified skills, domain and clearance "
                   "right now.", "until": None}]}


def test_all_taken_when_every_slot_is_filled(requester):
    project = make_project(requester, items=2, items_per_task=2, overlap=1)
    other = ready("eve@workers.example")
    assert client_for(other).post(NEXT, {}, format="json").status_code == 200
    user = ready()

    body = availability(user)

    assert codes(body) == ["all_taken"]
    assert Task.objects.get(project=project).filled == 1
    assert client_for(user).post(NEXT, {}, format="json").status_code == 204
    assert Assignment.objects.filter(worker=profile_of(user)).count() == 0


def test_requesters_get_403(requester_client):
    assert requester_client.get(URL).status_code == 403


def test_banned_worker_is_told_the_account_is_closed(staff):
    user = ready()
    worker_ban(worker=profile_of(user), actor=staff, reason="Fraud")

    body = availability(user)

    assert codes(body) == ["suspended"]
    assert body["reasons"][0]["message"] == "Your account is closed. Reason: Fraud"
    assert profile_of(user).status == WorkerStatus.BANNED
