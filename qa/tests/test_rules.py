"""Quality rules (qa/services/rules.py): each firing is a QualityAction with its reason,
shown to the worker (GET /api/v1/worker/stats) and to the requester (quality-actions).
A suspension removes the project from the worker's routing until the requester
(POST /api/v1/projects/{id}/suspensions/{pseudonym}/lift) or an admin
(POST /api/v1/admin/workers/{id}/projects/{project_id}/lift-suspension) lifts it.
"""
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from marketplace.models import Assignment
from marketplace.services import (
    assignment_claim,
)
from qa import services as qa_services
from qa.enums import QualityActionKind, QualityRule
from qa.models import QualityAction, WorkerProjectStats
from qa.tests.conftest import (
    answers_for,
    claim,
    eligible_worker,
    give_back,
    gold_items,
    gold_right,
    gold_wrong,
    label,
    launched_project,
    pseudonym_of,
    submit,
    worker_and_client,
)
from flows import work

WORKER_STATS = "/api/v1/worker/stats"


# --- helpers -----------------------------------------------------------------------------

def actions(worker, project) -> list[tuple]:
    return list(QualityAction.objects.filter(worker=worker, project=project)
                .order_by("id").values_list("rule", "kind", "reason", "details", "lifted_at"))


def can_claim(worker, project) -> bool:
    assignment = assignment_claim(worker=worker, project_id=project.pk)
    return assignment is not None


def error(response, status_code: int, code: str) -> dict:
    assert response.status_code == status_code, response.content
    body = response.json()
    assert body["error"]["code"] == code, body
    return body["error"]


def stats_row(worker, project) -> WorkerProjectStats:
    return WorkerProjectStats.objects.get(worker=worker, project=project)


def accuracy_project(requester, *, gold: int = 3, min_gold_accuracy=0.8, tasks: int = 2,
                     min_gold: int = 3, **overrides):
    """gold_per_task gold items per assignment; suspension after ``min_gold`` gold."""
    return launched_project(requester, tasks=tasks, items_per_task=1, gold_per_task=gold,
                            gold=gold_items(gold * tasks), min_gold_accuracy=min_gold_accuracy,
                            quality={"min_gold_before_suspension": min_gold}, **overrides)


def suspended_worker(requester):
    """A worker suspended by the low-accuracy rule on a project with work left."""
    project = accuracy_project(requester)
    worker, client = worker_and_client("dana@workers.example")
    label(worker, project, gold_wrong())
    assert len(actions(worker, project)) == 1
    return project, worker, client


LOW_ACCURACY_REASON = ("Your record on this project (gold answers and spot checks) is 0/3; "
                       "its lower bound 0.00 is under the required 0.80.")
LOW_ACCURACY_DETAILS = {"record_seen": 3, "record_correct": 0, "gold_seen": 3,
                        "gold_correct": 0, "lower_bound": 0.0, "required": 0.8}


# --- low accuracy --------------------------------------------------------------------------

def test_low_gold_accuracy_after_the_minimum_gold_suspends_from_the_project(requester):
    project = accuracy_project(requester)
    elsewhere = launched_project(requester, tasks=1, name="Elsewhere")
    worker = eligible_worker("dana@workers.example")

    label(worker, project, gold_wrong())

    assert actions(worker, project) == [(
        QualityRule.LOW_ACCURACY, QualityActionKind.SUSPENDED, LOW_ACCURACY_REASON,
        LOW_ACCURACY_DETAILS, None)]
    assert not can_claim(worker, project)   # the project's other task is not routed
    assert can_claim(worker, elsewhere)     # other projects are not affected


def test_a_lower_bound_at_or_above_the_minimum_does_not_suspend(requester):
    project = accuracy_project(requester)
    worker = eligible_worker("dana@workers.example")

    label(worker, project, gold_right())   # 3/3: lower bound 0.8096 >= 0.8

    assert round(stats_row(worker, project).accuracy_lower_bound, 4) == 0.8096
    assert actions(worker, project) == []
    assert can_claim(worker, project)


def test_two_of_three_right_is_under_the_bound_and_suspends(requester):
    project = accuracy_project(requester)
    worker = eligible_worker("dana@workers.example")
    right = iter([True, True, False])

    label(worker, project, lambda answer: answer.item.gold_answer
          if answer.is_gold and next(right) else "negative")

    (rule, kind, reason, details, _), = actions(worker, project)
    assert (rule, kind, details) == (QualityRule.LOW_ACCURACY, QualityActionKind.SUSPENDED,
                                     {"record_seen": 3, "record_correct": 2,
                                      "gold_seen": 3, "gold_correct": 2,
                                      "lower_bound": 0.4268, "required": 0.8})
    assert reason == ("Your record on this project (gold answers and spot checks) is 2/3; "
                      "its lower bound 0.43 is under the required 0.80.")


def test_no_suspension_before_the_minimum_number_of_gold(requester):
    project = accuracy_project(requester, gold=2)  # min_gold stays 3
    worker = eligible_worker("dana@workers.example")

    label(worker, project, gold_wrong())

    assert stats_row(worker, project).gold_seen == 2
    assert actions(worker, project) == []
    assert can_claim(worker, project)


def test_without_a_minimum_accuracy_nobody_is_suspended(requester):
    project = accuracy_project(requester, min_gold_accuracy=None)
    worker = eligible_worker("dana@workers.example")

    label(worker, project, gold_wrong())

    assert actions(worker, project) == []


def test_a_rule_firing_again_while_suspended_adds_nothing(requester):
    project = accuracy_project(requester)
    worker = eligible_worker("dana@workers.example")
    assignment = claim(worker, project)
    work.submit(assignment_id=assignment.pk, worker=worker,
                answers=answers_for(assignment, gold_wrong()))  # graded inline: suspended
    assert assignment_claim(worker=worker, project_id=project.pk) is None

    # Another graded submission counted while suspended (one the grading job graded,
    # e.g. long free text): the rule fires again and adds nothing.
    assignment.refresh_from_db()
    with transaction.atomic():
        qa_services.gold_record(assignment=assignment, gold_seen=3, gold_correct=0,
                                items_served=3)

    assert stats_row(worker, project).gold_seen == 6
    assert [(rule, kind) for rule, kind, *_ in actions(worker, project)] == [
        (QualityRule.LOW_ACCURACY, QualityActionKind.SUSPENDED)]


# --- fast responses ------------------------------------------------------------------------

def fast_project(requester, **overrides):
    return launched_project(requester, tasks=3, items_per_task=2,
                            quality={"fast_seconds_per_item": 5}, **overrides)


def submit_after(worker, project, seconds: int, value="positive") -> Assignment:
    """Claim, let ``seconds`` of active time pass (one heartbeat gap), submit."""
    assignment = claim(worker, project)
    Assignment.objects.filter(pk=assignment.pk).update(
        last_heartbeat_at=timezone.now() - timedelta(seconds=seconds))
    return submit(assignment, worker, value)


def test_a_submission_faster_than_the_project_allows_is_flagged_not_suspended(requester):
    project = fast_project(requester)
    worker = eligible_worker("dana@workers.example")

    assignment = submit_after(worker, project, 0)

    assert assignment.active_seconds == 0
    assert actions(worker, project) == [(
        QualityRule.FAST_RESPONSES, QualityActionKind.FLAGGED,
        "A submission took 0 s of active time for 2 items; the project expects at least "
        "10 s.", {"active_seconds": 0, "items": 2}, None)]
    assert stats_row(worker, project).fast_submissions == 1
    assert can_claim(worker, project)   # a flag only records


def test_fast_submissions_are_counted_but_flagged_once_a_day(requester):
    project = fast_project(requester)
    worker = eligible_worker("dana@workers.example")
    submit_after(worker, project, 0)

    submit_after(worker, project, 3)

    assert stats_row(worker, project).fast_submissions == 2
    assert len(actions(worker, project)) == 1
    QualityAction.objects.filter(worker=worker).update(
        created_at=timezone.now() - timedelta(hours=25))
    submit_after(worker, project, 0)
    assert [kind for _, kind, *_ in actions(worker, project)] == [
        QualityActionKind.FLAGGED, QualityActionKind.FLAGGED]


def test_a_submission_at_human_speed_is_not_flagged(requester):
    project = fast_project(requester)
    worker = eligible_worker("dana@workers.example")

    assignment = submit_after(worker, project, 30)

    assert assignment.active_seconds == 30
    assert actions(worker, project) == []
    assert stats_row(worker, project).fast_submissions == 0


def test_without_a_speed_limit_nothing_is_flagged(requester):
    project = launched_project(requester, tasks=1, items_per_task=2)
    worker = eligible_worker("dana@workers.example")

    submit_after(worker, project, 0)

    assert actions(worker, project) == []


# --- too many returns ----------------------------------------------------------------------

def returns_project(requester, max_return_rate=0.5):
    return launched_project(requester, tasks=4, items_per_task=1,
                            quality={"min_claims_for_return_rule": 2,
                                     "max_return_rate": max_return_rate})


def test_returning_too_many_tasks_suspends_from_the_project(requester):
    project = returns_project(requester)
    worker = eligible_worker("dana@workers.example")

    give_back(worker, project)
    assert actions(worker, project) == []   # one claim: under the rule's minimum
    give_back(worker, project)

    assert actions(worker, project) == [(
        QualityRule.TOO_MANY_RETURNS, QualityActionKind.SUSPENDED,
        "You returned 2 of the 2 tasks you took on this project (limit 50%).",
        {"returned": 2, "claimed": 2}, None)]
    row = stats_row(worker, project)
    assert (row.claimed, row.returned) == (2, 2)
    assert not can_claim(worker, project)


def test_returning_under_the_limit_does_not_suspend(requester):
    project = returns_project(requester, max_return_rate=0.6)
    worker = eligible_worker("dana@workers.example")
    label(worker, project, "positive")

    give_back(worker, project)   # 1 of 2 returned: 50% < 60%

    row = stats_row(worker, project)
    assert (row.claimed, row.returned) == (2, 1)
    assert actions(worker, project) == []


# --- persistent disagreement ---------------------------------------------------------------

def test_persistent_disagreement_with_final_answers_suspends(requester):
    project = launched_project(requester, tasks=2, items_per_task=2, overlap=3,
                               quality={"min_items_for_disagreement_rule": 2,
                                        "max_disagreement_rate": 0.6})
    agreeing = [eligible_worker(f"w{i}@workers.example") for i in (1, 2)]
    odd_one = eligible_worker("w3@workers.example")

    for worker in agreeing:
        label(worker, project, "positive")
    label(odd_one, project, "negative")

    assert actions(odd_one, project) == [(
        QualityRule.DISAGREEMENT, QualityActionKind.SUSPENDED,
        "Your answers differed from the final answer on 2 of 2 items (limit 60%).",
        {"compared": 2, "disagreed": 2}, None)]
    for worker in agreeing:
        row = stats_row(worker, project)
        assert (row.items_compared, row.items_disagreed) == (2, 0)
        assert actions(worker, project) == []
    assert not can_claim(odd_one, project)


def test_disagreement_under_the_minimum_items_does_not_suspend(requester):
    project = launched_project(requester, tasks=1, items_per_task=2, overlap=3)
    odd_one = eligible_worker("w3@workers.example")
    for index in (1, 2):
        label(eligible_worker(f"w{index}@workers.example"), project, "positive")

    label(odd_one, project, "negative")

    row = stats_row(odd_one, project)
    assert (row.items_compared, row.items_disagreed) == (2, 2)   # default minimum is 20
    assert actions(odd_one, project) == []


# --- what the worker and the requester see -------------------------------------------------

def test_the_worker_sees_the_action_and_its_reason_in_their_stats(requester):
    project, worker, client = suspended_worker(requester)

    body = client.get(WORKER_STATS).json()

    (row,) = body["projects"]
    assert (row["project_id"], row["suspended"]) == (project.pk, True)
    (action,) = row["quality_actions"]
    assert {key: action[key] for key in ("project_id", "rule", "kind", "reason", "details",
                                         "lifted_at", "lift_reason")} == {
        "project_id": project.pk, "rule": "low_accuracy", "kind": "suspended",
        "reason": LOW_ACCURACY_REASON,
        "details": LOW_ACCURACY_DETAILS,
        "lifted_at": None, "lift_reason": ""}


def test_the_requester_sees_actions_under_the_workers_pseudonym(requester, requester_client):
    project, worker, _ = suspended_worker(requester)

    response = requester_client.get(f"/api/v1/projects/{project.pk}/quality-actions")

    assert response.status_code == 200, response.json()
    assert response.json()["count"] == 1
    (action,) = response.json()["results"]
    assert (action["worker_id"], action["rule"], action["reason"]) == (
        pseudonym_of(worker, project), "low_accuracy", LOW_ACCURACY_REASON)
    assert action["worker_id"] != str(worker.pk)


def test_quality_actions_are_not_shown_to_others(requester, other_requester_client):
    project, _, worker_client = suspended_worker(requester)
    url = f"/api/v1/projects/{project.pk}/quality-actions"

    error(other_requester_client.get(url), 404, "not_found")
    error(worker_client.get(url), 403, "permission_denied")


# --- lifting a suspension ------------------------------------------------------------------

def requester_lift_url(project, worker_id) -> str:
    return f"/api/v1/projects/{project.pk}/suspensions/{worker_id}/lift"


def admin_lift_url(worker_id, project_id) -> str:
    return f"/api/v1/admin/workers/{worker_id}/projects/{project_id}/lift-suspension"


def test_the_requester_lifts_a_suspension_by_pseudonym(requester, requester_client):
    project, worker, client = suspended_worker(requester)

    response = requester_client.post(requester_lift_url(project, pseudonym_of(worker, project)),
                                     {"reason": "Reviewed by hand: fine."}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["rule"], body["lift_reason"]) == ("low_accuracy", "Reviewed by hand: fine.")
    assert body["lifted_at"] is not None
    action = QualityAction.objects.get(worker=worker, project=project)
    assert (action.lifted_by_id, action.lift_reason) == (requester.pk, "Reviewed by hand: fine.")
    assert client.get(WORKER_STATS).json()["projects"][0]["suspended"] is False
    assert can_claim(worker, project)


def test_an_admin_lifts_a_suspension(requester, staff, staff_client):
    project, worker, _ = suspended_worker(requester)

    response = staff_client.post(admin_lift_url(worker.pk, project.pk), {}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["lift_reason"] == ""
    action = QualityAction.objects.get(worker=worker, project=project)
    assert action.lifted_by_id == staff.pk and action.lifted_at is not None
    assert can_claim(worker, project)


def test_a_new_suspension_can_follow_a_lifted_one(requester, requester_client):
    project = returns_project(requester)
    worker = eligible_worker("dana@workers.example")
    give_back(worker, project)
    give_back(worker, project)
    requester_client.post(requester_lift_url(project, pseudonym_of(worker, project)))

    give_back(worker, project)   # the first return since the lift: not enough evidence
    assert [lifted is None for *_, lifted in actions(worker, project)] == [False]
    give_back(worker, project)   # 2 of 2 since the lift

    assert [(rule, kind, lifted is None) for rule, kind, _, _, lifted in
            actions(worker, project)] == [
        (QualityRule.TOO_MANY_RETURNS, QualityActionKind.SUSPENDED, False),
        (QualityRule.TOO_MANY_RETURNS, QualityActionKind.SUSPENDED, True)]


@pytest.mark.parametrize("who, status_code, code", [
    ("other_requester", 404, "not_found"),
    ("worker", 403, "permission_denied"),
    ("staff", 403, "permission_denied"),
])
def test_only_the_projects_requester_lifts_through_the_project(requester, who, status_code,
                                                               code, request):
    project, worker, worker_client = suspended_worker(requester)
    clients = {"other_requester": lambda: request.getfixturevalue("other_requester_client"),
               "worker": lambda: worker_client,
               "staff": lambda: request.getfixturevalue("staff_client")}

    response = clients[who]().post(requester_lift_url(project, pseudonym_of(worker, project)))

    error(response, status_code, code)
    assert actions(worker, project)[0][4] is None
    assert not can_claim(worker, project)


def test_a_requester_names_workers_by_pseudonym_only(requester, requester_client):
    project, worker, _ = suspended_worker(requester)
    other_project = launched_project(requester, tasks=1, name="Other")
    claim(worker, other_project)   # has a pseudonym there, but it is another project's

    for name in (str(worker.pk), "w_0000000000000000", pseudonym_of(worker, other_project)):
        error(requester_client.post(requester_lift_url(project, name)), 404, "not_found")

    assert actions(worker, project)[0][4] is None


def test_lifting_when_not_suspended_is_a_409(requester, requester_client, staff_client):
    project = launched_project(requester, tasks=2, items_per_task=1)
    worker = eligible_worker("dana@workers.example")
    label(worker, project, "positive")

    error(requester_client.post(requester_lift_url(project, pseudonym_of(worker, project))),
          409, "not_suspended")
    error(staff_client.post(admin_lift_url(worker.pk, project.pk)), 409, "not_suspended")

    assert actions(worker, project) == []


def test_admin_lift_refuses_non_staff_and_unknown_ids(requester, requester_client,
                                                     staff_client):
    project, worker, worker_client = suspended_worker(requester)

    error(requester_client.post(admin_lift_url(worker.pk, project.pk)), 403,
          "permission_denied")
    error(worker_client.post(admin_lift_url(worker.pk, project.pk)), 403,
          "permission_denied")
    error(staff_client.post(admin_lift_url(worker.pk + 1000, project.pk)), 404, "not_found")
    error(staff_client.post(admin_lift_url(worker.pk, project.pk + 1000)), 404, "not_found")

    assert actions(worker, project)[0][4] is None


def test_a_lifted_accuracy_suspension_needs_new_evidence_to_return(requester, requester_client):
    # given: suspended on 0/3 gold, then lifted by the requester
    project = accuracy_project(requester, tasks=3)
    worker = eligible_worker("dana@workers.example")
    label(worker, project, gold_wrong())
    requester_client.post(requester_lift_url(project, pseudonym_of(worker, project)))

    # when: the next submission is all right
    label(worker, project, gold_right())

    # then: the old 0/3 is spent; 3/3 since the lift does not suspend again
    assert [lifted is None for *_, lifted in actions(worker, project)] == [False]
    assert can_claim(worker, project)
