"""POST /api/v1/worker/tasks/next: which task a worker gets, or 204 when nothing fits.

Contract: among projects the worker is eligible for, a task still short of its overlap
that this worker never held; ordered by project priority, then tasks already started by
others, then oldest. A worker with an unexpired lease gets that same lease back; a
returned (or expired) task never comes back to the same worker.
"""
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from conftest import client_for, fund_organization, make_requester, make_worker
from marketplace.enums import AssignmentStatus, ProjectStatus
from marketplace.models import Answer, Assignment, Item, Project, Task
from marketplace.services import (
    assignment_claim,
    items_import,
    project_create,
    project_pause,
    worker_pseudonym_for,
)
from marketplace.uploads import UploadRow
from workers.enums import SkillSource, WorkerStatus
from workers.services import worker_block
from workers.tests.factories import make_ready_worker, project_fields
from flows import projects as projects_flow
from flows import work

NEXT = "/api/v1/worker/tasks/next"


# --- helpers -----------------------------------------------------------------------------

def eligible_worker(email: str, **kwargs):
    """An active worker holding sentiment-en at 90 (admin-verified): eligible for
    project_fields() projects (sentiment-en >= 50, domain languages, public)."""
    kwargs.setdefault("skills", {"sentiment-en": 90})
    return make_ready_worker(make_worker(email), **kwargs)


def launched_project(requester, *, tasks: int, status: str = ProjectStatus.ACTIVE,
                     **overrides) -> Project:
    """A project with ``tasks`` tasks of items_per_task items, brought to ``status``."""
    fields = project_fields(**overrides)
    project = project_create(organization=requester.membership.organization,
                             actor=requester, fields=fields)
    if status == ProjectStatus.DRAFT:
        return project
    count = tasks * fields["items_per_task"]
    items_import(project=project, actor=requester, is_gold=False, rows=[
        UploadRow(row=i + 1, external_id=f"item-{i}", data={"text": f"{project.name} {i}"},
                  answer=None, has_answer=False) for i in range(count)])
    fund_organization(requester)
    projects_flow.launch(project=project, actor=requester)
    if status == ProjectStatus.PAUSED:
        project_pause(project=project, actor=requester)
    project.refresh_from_db()
    return project


def task_ids(project: Project) -> list[int]:
    return list(Task.objects.filter(project=project).order_by("id").values_list("pk", flat=True))


def submit_all(assignment: Assignment, worker, value="positive") -> None:
    answers = [{"item_id": pk, "value": value}
               for pk in Answer.objects.filter(assignment=assignment).values_list("pk", flat=True)]
    work.submit(assignment_id=assignment.pk, worker=worker, answers=answers)


def next_task(client, body=None):
    return client.post(NEXT, body if body is not None else {}, format="json")


def served_task_id(response) -> int:
    assert response.status_code == 200, response.content
    return Assignment.objects.get(pk=response.json()["assignment_id"]).task_id


def assert_nothing_claimed() -> None:
    assert Assignment.objects.count() == 0
    assert list(Task.objects.exclude(filled=0).values_list("pk", flat=True)) == []


# --- what is served ----------------------------------------------------------------------

def test_serves_the_oldest_task_with_its_items_in_order(requester):
    project = launched_project(requester, tasks=3, overlap=2, instructions="Be careful.")
    user = make_worker("dana@workers.example")
    worker = make_ready_worker(user, skills={"sentiment-en": 90})

    response = next_task(client_for(user))

    assert response.status_code == 200, response.json()
    body = response.json()
    assignment = Assignment.objects.get(pk=body["assignment_id"])
    first_task = task_ids(project)[0]
    assert (assignment.task_id, assignment.worker_id, assignment.status) == (
        first_task, worker.pk, AssignmentStatus.ASSIGNED)
    assert set(body) == {"assignment_id", "expires_at", "instructions_version",
                         "instructions_changed", "project", "items"}
    contract_fields = {
        "id": project.pk, "name": project.name, "instructions": "Be careful.",
        "task_type": "single_choice", "label_config": project.label_config,
        "pay_model": "per_task", "reward_cents": 10, "hourly_rate_cents": None}
    assert {name: body["project"].get(name) for name in contract_fields} == contract_fields
    item_data = list(Item.objects.filter(task_id=first_task).order_by("pk")
                     .values_list("data", flat=True))
    answer_ids = list(Answer.objects.filter(assignment=assignment).order_by("position")
                      .values_list("pk", flat=True))
    assert body["items"] == [{"id": answer_id, "data": data}
                             for answer_id, data in zip(answer_ids, item_data)]
    assert Task.objects.get(pk=first_task).filled == 1


def test_lease_expires_after_the_projects_assignment_duration(requester):
    launched_project(requester, tasks=1, assignment_duration_seconds=900)
    user = make_worker("dana@workers.example")
    make_ready_worker(user, skills={"sentiment-en": 90})

    before = timezone.now()
    response = next_task(client_for(user))
    after = timezone.now()

    assignment = Assignment.objects.get(pk=response.json()["assignment_id"])
    # created_at is auto_now_add, stamped a few microseconds after the claim's clock.
    lease = assignment.expires_at - assignment.created_at
    assert timedelta(seconds=899) < lease <= timedelta(seconds=900)
    assert before + timedelta(seconds=900) <= assignment.expires_at <= after + timedelta(
        seconds=900)
    assert response.json()["expires_at"] == assignment.expires_at.isoformat().replace(
        "+00:00", "Z")


# --- ordering ----------------------------------------------------------------------------

def test_higher_priority_project_comes_first_even_if_newer(requester):
    launched_project(requester, tasks=2, name="Old, normal", priority=0)
    urgent = launched_project(requester, tasks=2, name="New, urgent", priority=5)
    user = make_worker("dana@workers.example")
    make_ready_worker(user, skills={"sentiment-en": 90})

    assert served_task_id(next_task(client_for(user))) == task_ids(urgent)[0]


def test_priority_beats_a_task_already_started_elsewhere(requester):
    normal = launched_project(requester, tasks=2, name="Normal", priority=0, overlap=3)
    urgent = launched_project(requester, tasks=2, name="Urgent", priority=1, overlap=3)
    starter = eligible_worker("erin@workers.example")
    assert assignment_claim(worker=starter, project_id=normal.pk).task_id == task_ids(normal)[0]
    user = make_worker("dana@workers.example")
    make_ready_worker(user, skills={"sentiment-en": 90})

    assert served_task_id(next_task(client_for(user))) == task_ids(urgent)[0]


def test_task_started_by_others_comes_before_an_older_untouched_task(requester):
    project = launched_project(requester, tasks=3, overlap=3)
    first, second, _third = task_ids(project)
    starter = eligible_worker("erin@workers.example")
    # The starter returns the oldest task (its slot is free again) and finishes the second.
    returned = assignment_claim(worker=starter)
    assert returned.task_id == first
    work.return_task(assignment_id=returned.pk, worker=starter)
    started = assignment_claim(worker=starter)
    assert started.task_id == second
    submit_all(started, starter)
    assert list(Task.objects.filter(project=project).order_by("id")
                .values_list("filled", flat=True)) == [0, 1, 0]
    user = make_worker("dana@workers.example")
    make_ready_worker(user, skills={"sentiment-en": 90})

    assert served_task_id(next_task(client_for(user))) == second


def test_the_most_started_task_comes_first(requester):
    project = launched_project(requester, tasks=3, overlap=3)
    first, second, third = task_ids(project)
    Task.objects.filter(pk=second).update(filled=1)
    Task.objects.filter(pk=third).update(filled=2)
    user = make_worker("dana@workers.example")
    make_ready_worker(user, skills={"sentiment-en": 90})

    assert served_task_id(next_task(client_for(user))) == third
    assert [Task.objects.get(pk=pk).filled for pk in (first, second, third)] == [0, 1, 3]


def test_within_one_priority_level_the_order_spans_projects(requester):
    older = launched_project(requester, tasks=2, name="Older", overlap=3)
    newer = launched_project(requester, tasks=2, name="Newer", overlap=3)
    user = make_worker("dana@workers.example")
    make_ready_worker(user, skills={"sentiment-en": 90})
    client = client_for(user)
    # Nothing started: the oldest task of either project.
    assert served_task_id(next_task(client)) == task_ids(older)[0]
    # A task started in the newer project beats the older project's untouched ones.
    Task.objects.filter(pk=task_ids(newer)[1]).update(filled=2)
    other = make_worker("erin@workers.example")
    make_ready_worker(other, skills={"sentiment-en": 90})

    assert served_task_id(next_task(client_for(other))) == task_ids(newer)[1]


def test_a_full_task_is_skipped_for_the_next_oldest(requester):
    project = launched_project(requester, tasks=2, overlap=1)
    first, second = task_ids(project)
    assert assignment_claim(worker=eligible_worker("erin@workers.example")).task_id == first
    user = make_worker("dana@workers.example")
    make_ready_worker(user, skills={"sentiment-en": 90})

    assert served_task_id(next_task(client_for(user))) == second
    assert list(Task.objects.filter(project=project).order_by("id")
                .values_list("filled", flat=True)) == [1, 1]


def test_a_task_the_worker_submitted_is_never_served_again(requester):
    project = launched_project(requester, tasks=2, overlap=3)
    first, second = task_ids(project)
    worker = eligible_worker("dana@workers.example")
    done = assignment_claim(worker=worker)
    assert done.task_id == first
    submit_all(done, worker)

    assert served_task_id(next_task(client_for(worker.user))) == second


# --- project_id --------------------------------------------------------------------------

def test_project_id_restricts_routing_to_that_project(requester):
    urgent = launched_project(requester, tasks=2, name="Urgent", priority=9)
    chosen = launched_project(requester, tasks=2, name="Chosen")
    user = make_worker("dana@workers.example")
    make_ready_worker(user, skills={"sentiment-en": 90})

    response = next_task(client_for(user), {"project_id": chosen.pk})

    assert served_task_id(response) == task_ids(chosen)[0]
    assert response.json()["project"]["id"] == chosen.pk
    assert Task.objects.get(pk=task_ids(urgent)[0]).filled == 0


def test_null_project_id_means_any_project(requester):
    project = launched_project(requester, tasks=1)
    user = make_worker("dana@workers.example")
    make_ready_worker(user, skills={"sentiment-en": 90})

    assert served_task_id(next_task(client_for(user), {"project_id": None})) == task_ids(
        project)[0]


@pytest.mark.parametrize("project_id", ["abc", 1.5, [1]])
def test_malformed_project_id_is_a_400(requester, project_id):
    launched_project(requester, tasks=1)
    user = make_worker("dana@workers.example")
    make_ready_worker(user, skills={"sentiment-en": 90})

    response = next_task(client_for(user), {"project_id": project_id})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert list(response.json()["error"]["fields"]) == ["project_id"]
    assert_nothing_claimed()


def test_project_id_of_a_project_the_worker_may_not_take_is_a_204(requester):
    launched_project(requester, tasks=2, name="Open to the worker")
    expert = launched_project(requester, tasks=2, name="Experts only",
                              required_skills=[{"skill": "sentiment-en", "min_level": 95}])
    user = make_worker("dana@workers.example")
    make_ready_worker(user, skills={"sentiment-en": 90})

    response = next_task(client_for(user), {"project_id": expert.pk})

    assert response.status_code == 204
    assert response.content == b""
    assert_nothing_claimed()


def test_project_id_that_does_not_exist_is_a_204(requester):
    launched_project(requester, tasks=1)
    user = make_worker("dana@workers.example")
    make_ready_worker(user, skills={"sentiment-en": 90})

    response = next_task(client_for(user), {"project_id": 987654321})

    assert response.status_code == 204
    assert_nothing_claimed()


# --- 204: nothing fits -------------------------------------------------------------------

def test_no_project_at_all_is_a_204(db):
    user = make_worker("dana@workers.example")
    make_ready_worker(user, skills={"sentiment-en": 90})

    response = next_task(client_for(user))

    assert response.status_code == 204
    assert response.content == b""


@pytest.mark.parametrize("status", [WorkerStatus.APPLICANT, WorkerStatus.VETTING,
                                    WorkerStatus.SUSPENDED])
def test_a_worker_who_is_not_active_gets_204(requester, status):
    launched_project(requester, tasks=2)
    user = make_worker("dana@workers.example")
    make_ready_worker(user, skills={"sentiment-en": 90}, status=status)

    assert next_task(client_for(user)).status_code == 204
    assert_nothing_claimed()


@pytest.mark.parametrize("skills, source", [
    ({}, SkillSource.ADMIN),                               # lacks the skill
    ({"sentiment-en": 49}, SkillSource.ADMIN),             # below min_level 50
    ({"sentiment-en": 90}, SkillSource.CLAIMED),           # claimed, never verified
    ({"translation-de": 90}, SkillSource.ADMIN),           # another skill of the domain
], ids=["no-skill", "below-minimum", "claimed-only", "other-skill"])
def test_a_worker_without_the_verified_skill_gets_204(requester, skills, source):
    launched_project(requester, tasks=2)
    user = make_worker("dana@workers.example")
    make_ready_worker(user, skills=skills, source=source)

    assert next_task(client_for(user)).status_code == 204
    assert_nothing_claimed()


def test_a_worker_at_exactly_the_minimum_level_is_served(requester):
    launched_project(requester, tasks=1)
    user = make_worker("dana@workers.example")
    make_ready_worker(user, skills={"sentiment-en": 50})

    assert next_task(client_for(user)).status_code == 200


def test_a_worker_without_clearance_gets_204_for_confidential_work(requester):
    launched_project(requester, tasks=2, sensitivity="confidential")
    user = make_worker("dana@workers.example")
    make_ready_worker(user, skills={"sentiment-en": 90})

    assert next_task(client_for(user)).status_code == 204
    assert_nothing_claimed()


@pytest.mark.parametrize("status", [ProjectStatus.DRAFT, ProjectStatus.PAUSED])
def test_projects_that_are_not_active_are_not_routed(requester, status):
    launched_project(requester, tasks=2, status=status)
    user = make_worker("dana@workers.example")
    make_ready_worker(user, skills={"sentiment-en": 90})

    assert next_task(client_for(user)).status_code == 204
    assert_nothing_claimed()


def test_a_worker_blocked_by_the_organization_gets_204(requester):
    project = launched_project(requester, tasks=2)
    user = make_worker("dana@workers.example")
    worker = make_ready_worker(user, skills={"sentiment-en": 90})
    pseudonym = worker_pseudonym_for(project=project, worker=worker)
    worker_block(project=project, pseudonym=pseudonym, actor=requester, reason="Spam answers")

    assert next_task(client_for(user)).status_code == 204
    assert_nothing_claimed()


def test_a_block_by_one_organization_leaves_other_organizations_open(requester):
    blocking = launched_project(requester, tasks=2)
    other = make_requester("bob@globex.example", "Globex")
    open_project = launched_project(other, tasks=1, name="Globex sentiment")
    user = make_worker("dana@workers.example")
    worker = make_ready_worker(user, skills={"sentiment-en": 90})
    worker_block(project=blocking, pseudonym=worker_pseudonym_for(project=blocking,
                                                                  worker=worker),
                 actor=requester, reason="Spam answers")

    assert served_task_id(next_task(client_for(user))) == task_ids(open_project)[0]


def test_every_task_at_its_overlap_is_a_204(requester):
    project = launched_project(requester, tasks=2, overlap=1)
    for email in ("erin@workers.example", "fred@workers.example"):
        assert assignment_claim(worker=eligible_worker(email)) is not None
    user = make_worker("dana@workers.example")
    make_ready_worker(user, skills={"sentiment-en": 90})

    response = next_task(client_for(user))

    assert response.status_code == 204
    assert Assignment.objects.filter(worker__user=user).count() == 0
    assert list(Task.objects.filter(project=project).values_list("filled", flat=True)) == [1, 1]


def test_a_worker_who_held_every_task_gets_204(requester):
    launched_project(requester, tasks=2, overlap=3)
    worker = eligible_worker("dana@workers.example")
    for _ in range(2):
        submit_all(assignment_claim(worker=worker), worker)

    response = next_task(client_for(worker.user))

    assert response.status_code == 204
    assert Assignment.objects.filter(worker=worker).count() == 2


# --- who may ask -------------------------------------------------------------------------

def test_next_task_needs_a_token(api_client, db):
    response = api_client.post(NEXT, {}, format="json")
    assert response.status_code == 401


def test_next_task_is_for_workers_only(requester_client, staff_client, requester):
    launched_project(requester, tasks=1)
    assert requester_client.post(NEXT, {}, format="json").status_code == 403
    assert staff_client.post(NEXT, {}, format="json").status_code == 403
    assert_nothing_claimed()


# --- one live lease ----------------------------------------------------------------------

def test_asking_again_returns_the_same_live_lease(requester):
    project = launched_project(requester, tasks=3, overlap=2)
    user = make_worker("dana@workers.example")
    make_ready_worker(user, skills={"sentiment-en": 90})
    client = client_for(user)

    first = next_task(client).json()
    again = next_task(client).json()
    scoped = next_task(client, {"project_id": project.pk}).json()

    assert again == first
    assert scoped == first
    assert Assignment.objects.filter(worker__user=user).count() == 1
    assert list(Task.objects.filter(project=project).order_by("id")
                .values_list("filled", flat=True)) == [1, 0, 0]


def test_asking_for_another_project_while_a_lease_is_live_is_a_409_naming_it(requester):
    first_project = launched_project(requester, tasks=2, overlap=2)
    second_project = launched_project(requester, tasks=2, overlap=2, name="Other")
    user = make_worker("dana@workers.example")
    make_ready_worker(user, skills={"sentiment-en": 90})
    client = client_for(user)
    held = next_task(client, {"project_id": first_project.pk}).json()

    refused = next_task(client, {"project_id": second_project.pk})

    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "live_lease"
    assert f"assignment {held['assignment_id']}" in error["message"]
    # Nothing was taken on the second project; without project_id the lease comes back.
    assert Task.objects.filter(project=second_project, filled__gt=0).count() == 0
    assert next_task(client).json()["assignment_id"] == held["assignment_id"]
    assert Assignment.objects.filter(worker__user=user).count() == 1


def test_an_expired_lease_is_not_resumed_and_its_task_never_comes_back(requester):
    project = launched_project(requester, tasks=2, overlap=2)
    first, second = task_ids(project)
    user = make_worker("dana@workers.example")
    make_ready_worker(user, skills={"sentiment-en": 90})
    client = client_for(user)
    lapsed = next_task(client).json()["assignment_id"]
    Assignment.objects.filter(pk=lapsed).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = next_task(client)

    assert Assignment.objects.get(pk=lapsed).task_id == first
    assert response.json()["assignment_id"] != lapsed
    assert served_task_id(response) == second


# --- return ------------------------------------------------------------------------------

def test_return_frees_the_slot_at_once_and_the_task_never_comes_back(requester):
    project = launched_project(requester, tasks=2, overlap=1)
    first, second = task_ids(project)
    user = make_worker("dana@workers.example")
    make_ready_worker(user, skills={"sentiment-en": 90})
    client = client_for(user)
    assignment_id = next_task(client).json()["assignment_id"]

    returned = client.post(f"/api/v1/worker/assignments/{assignment_id}/return")

    assert returned.status_code == 200, returned.json()
    assert returned.json()["status"] == "returned"
    assert Task.objects.get(pk=first).filled == 0
    assert served_task_id(next_task(client)) == second
    # The freed slot goes to somebody else.
    other = eligible_worker("erin@workers.example")
    assert assignment_claim(worker=other).task_id == first


def test_after_returning_the_only_task_the_worker_gets_204(requester):
    launched_project(requester, tasks=1, overlap=1)
    user = make_worker("dana@workers.example")
    make_ready_worker(user, skills={"sentiment-en": 90})
    client = client_for(user)
    assignment_id = next_task(client).json()["assignment_id"]
    assert client.post(f"/api/v1/worker/assignments/{assignment_id}/return").status_code == 200

    assert next_task(client).status_code == 204
    assert Assignment.objects.filter(worker__user=user).count() == 1


def test_returning_twice_is_a_409_and_frees_one_slot_only(requester):
    project = launched_project(requester, tasks=1, overlap=2)
    user = make_worker("dana@workers.example")
    make_ready_worker(user, skills={"sentiment-en": 90})
    client = client_for(user)
    assignment_claim(worker=eligible_worker("erin@workers.example"))
    assignment_id = next_task(client).json()["assignment_id"]
    assert client.post(f"/api/v1/worker/assignments/{assignment_id}/return").status_code == 200

    again = client.post(f"/api/v1/worker/assignments/{assignment_id}/return")

    assert again.status_code == 409
    assert again.json()["error"]["code"] == "assignment_returned"
    assert Task.objects.get(project=project).filled == 1


# --- cost of the hot path ------------------------------------------------------------------

def test_next_task_query_count_is_small(requester, django_assert_max_num_queries):
    if connection.vendor != "postgresql":
        pytest.skip("the bound is the one-statement claim's (PostgreSQL); SQLite takes "
                    "the ORM path")
    # gold_per_task = 1 exercises the gold query too; the bound is the measured count.
    project = project_create(organization=requester.membership.organization, actor=requester,
                             fields=project_fields(gold_per_task=1, overlap=2))
    items_import(project=project, actor=requester, is_gold=False, rows=[
        UploadRow(row=i + 1, external_id=None, data={"text": f"t{i}"}, answer=None,
                  has_answer=False) for i in range(20)])
    items_import(project=project, actor=requester, is_gold=True, rows=[
        UploadRow(row=i + 1, external_id=None, data={"text": f"g{i}"}, answer="positive",
                  has_answer=True) for i in range(5)])
    fund_organization(requester)
    projects_flow.launch(project=project, actor=requester)
    user = make_worker("dana@workers.example")
    make_ready_worker(user, skills={"sentiment-en": 90})
    client = client_for(user)

    with django_assert_max_num_queries(QUERIES_NEW_LEASE):
        assert next_task(client).status_code == 200
    with django_assert_max_num_queries(QUERIES_LIVE_LEASE):
        assert next_task(client).status_code == 200


# Upper bounds (the exact counts, statement by statement, are in
# test_hot_path_queries.py). The test runs inside a transaction, so the claim's atomic
# block adds SAVEPOINT + RELEASE. New lease with a cold routing cache: token (with the
# worker profile joined), the worker afresh, routable projects, [savepoint], worker lock,
# the claim statement, [release], effective hourly rate (cached after). Before the
# one-statement claim: 16.
QUERIES_NEW_LEASE = 8
# Live lease: token, [savepoint], worker lock, the claim (refused: live lease), [release],
# the live lease, served items (the automation mode comes from the routing cache).
QUERIES_LIVE_LEASE = 7
