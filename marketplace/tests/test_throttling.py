"""Per-worker rate limits on asking for work and on submitting it: 429 with Retry-After,
and a refused request changes nothing.

DRF reads the rates into SimpleRateThrottle.THROTTLE_RATES when it is imported, so the
tests patch that attribute rather than the settings.
"""
import pytest
from rest_framework.throttling import SimpleRateThrottle

from conftest import client_for, fund_organization, make_worker
from marketplace.enums import AssignmentStatus
from marketplace.models import Answer, Assignment, AssignmentEvent, Task
from marketplace.services import (
    items_import,
    project_create,
)
from marketplace.uploads import UploadRow
from workers.tests.factories import make_ready_worker, project_fields
from flows import projects as projects_flow

NEXT = "/api/v1/worker/tasks/next"


@pytest.fixture
def rates(monkeypatch):
    """Set throttle rates for one test: rates(worker_next="1/min")."""
    def set_rates(**overrides):
        monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES",
                            {**SimpleRateThrottle.THROTTLE_RATES, **overrides})
    return set_rates


@pytest.fixture
def project(requester):
    project = project_create(organization=requester.membership.organization, actor=requester,
                             fields=project_fields(overlap=2))
    items_import(project=project, actor=requester, is_gold=False, rows=[
        UploadRow(row=i + 1, external_id=None, data={"text": f"item {i}"}, answer=None,
                  has_answer=False) for i in range(10)])
    fund_organization(requester)
    return projects_flow.launch(project=project, actor=requester)


def eligible_client(email: str):
    user = make_worker(email)
    make_ready_worker(user, skills={"sentiment-en": 90})
    return client_for(user)


def assert_throttled(response) -> None:
    assert response.status_code == 429, response.content
    assert response.json()["error"]["code"] == "throttled"
    retry_after = int(response["Retry-After"])
    assert 0 < retry_after <= 60


def submit(client, served: dict):
    return client.post(f"/api/v1/worker/assignments/{served['assignment_id']}/submit",
                       {"answers": [{"item_id": item["id"], "value": "positive"}
                                    for item in served["items"]]}, format="json")


def test_next_task_is_rate_limited_per_worker(project, rates):
    rates(worker_next="2/min")
    client = eligible_client("dana@workers.example")
    assignment_id = client.post(NEXT, {}, format="json").json()["assignment_id"]
    assert client.post(NEXT, {}, format="json").status_code == 200
    client.post(f"/api/v1/worker/assignments/{assignment_id}/return")  # not rate limited

    assert_throttled(client.post(NEXT, {}, format="json"))

    # The refused request claimed nothing, though a task was free for this worker.
    assert list(Assignment.objects.values_list("pk", "status")) == [
        (assignment_id, AssignmentStatus.RETURNED)]
    assert set(Task.objects.values_list("filled", flat=True)) == {0}
    # Another worker has a budget of their own.
    assert eligible_client("erin@workers.example").post(NEXT, {}, format="json"
                                                        ).status_code == 200


def test_next_task_204s_count_against_the_limit_too(db, rates):
    rates(worker_next="1/min")
    client = eligible_client("dana@workers.example")

    assert client.post(NEXT, {}, format="json").status_code == 204
    assert_throttled(client.post(NEXT, {}, format="json"))


def test_submit_is_rate_limited_per_worker(project, rates):
    rates(worker_submit="1/min")
    client = eligible_client("dana@workers.example")
    first = client.post(NEXT, {}, format="json").json()
    assert submit(client, first).status_code == 200
    second = client.post(NEXT, {}, format="json").json()
    events_before = AssignmentEvent.objects.count()

    assert_throttled(submit(client, second))

    assignment = Assignment.objects.get(pk=second["assignment_id"])
    assert (assignment.status, assignment.submitted_at) == (AssignmentStatus.ASSIGNED, None)
    assert set(Answer.objects.filter(assignment=assignment).values_list("value", flat=True)) \
        == {None}
    assert AssignmentEvent.objects.count() == events_before
    # The limits are separate: asking for work is still allowed.
    assert client.post(NEXT, {}, format="json").status_code == 200


def test_the_default_limits_leave_room_for_normal_work(project):
    client = eligible_client("dana@workers.example")
    for _ in range(3):
        served = client.post(NEXT, {}, format="json")
        assert served.status_code == 200
        assert submit(client, served.json()).status_code == 200
