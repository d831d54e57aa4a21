"""Gold grading on submit (qa/services/grading.py, qa/grading.py) and the accuracy records
it keeps: per worker x project and worker x skill, gold seen / correct and the Wilson
lower bound (qa/stats.py, z = 0.84); after 30 gold in a skill the record sets the
verified level (source gold). Also the worker's feedback on missed gold, and that a gold
item once served never comes back to the same worker.
"""
import threading

import pytest
from django.db import connection

from marketplace.models import Answer, Assignment
from marketplace.services import (
    assignment_claim,
)
from flows import results as qa_tasks
from qa.models import QualitySettings, WorkerProjectStats, WorkerSkillStats
from qa.stats import wilson_lower_bound
from qa.tests.conftest import (
    answers_for,
    claim,
    eligible_worker,
    gold_items,
    gold_right,
    gold_wrong,
    label,
    launched_project,
    served,
    worker_and_client,
)
from workers.enums import AuditAction, SkillSource
from workers.models import WorkerAuditEvent, WorkerSkill
from flows import results as results_flow
from flows import work
from conftest import requires_postgresql

MY_ASSIGNMENTS = "/api/v1/worker/assignments"


# --- helpers -----------------------------------------------------------------------------

def project_stats(worker, project) -> tuple:
    row = WorkerProjectStats.objects.get(worker=worker, project=project)
    return row.gold_seen, row.gold_correct, row.accuracy_lower_bound, row.submitted


def skill_stats(worker, slug: str = "sentiment-en") -> tuple:
    row = WorkerSkillStats.objects.get(worker=worker, skill__slug=slug)
    return row.gold_seen, row.gold_correct, row.accuracy_lower_bound


def skill_held(worker, slug: str = "sentiment-en") -> tuple:
    held = WorkerSkill.objects.get(worker=worker, skill__slug=slug)
    return held.level, held.source


def gold_marks(assignment) -> list:
    """is_correct of the served answers, gold first (by expected answer), then items."""
    answers = served(assignment)
    return sorted((answer.is_gold, str(answer.item.gold_answer), answer.is_correct)
                  for answer in answers)


def one_gold_project(requester, task_type, label_config, data, gold, **overrides):
    return launched_project(requester, tasks=1, items_per_task=1, gold_per_task=1,
                            task_type=task_type, label_config=label_config, items=[data],
                            gold=[(data, gold)], **overrides)


def graded_gold(requester, task_type, label_config, data, gold, answer, quality=None):
    """Submit ``answer`` to the project's one gold item; its is_correct once graded."""
    project = one_gold_project(requester, task_type, label_config, data, gold,
                               quality=quality)
    worker = eligible_worker("dana@workers.example")
    assignment = label(worker, project, lambda served_answer: answer)
    return Answer.objects.get(assignment=assignment, is_gold=True).is_correct


# --- grading per task type -----------------------------------------------------------------

SPAN_TEXT = {"text": "Ada Lovelace met Babbage"}
BOX = {"x": 0.1, "y": 0.2, "w": 0.3, "h": 0.4, "label": "cat"}

# task_type: (label_config, item data, gold answer, a right answer, a wrong answer)
GRADING = {
    "single_choice": ({"choices": ["yes", "no"]}, {"text": "Is it?"}, "no", "no", "yes"),
    "multi_choice": ({"choices": ["red", "green", "blue"]}, {"text": "Colours?"},
                     ["red", "blue"], ["blue", "red"], ["red"]),
    "rating": ({"min": 1, "max": 5}, {"text": "How good?"}, 4, 4, 3),
    "text": ({"max_length": 40}, {"text": "Summarise"}, "The battery died",
             "the  battery DIED", "great phone"),
    "spans": ({"labels": ["PER", "ORG"]}, SPAN_TEXT,
              [{"start": 0, "end": 12, "label": "PER"}],
              [{"start": 0, "end": 12, "label": "PER"}],
              [{"start": 0, "end": 12, "label": "ORG"}]),
    "bbox": ({"labels": ["cat", "dog"]}, {"image": "https://img.example/1.png"}, [BOX],
             [{**BOX, "x": 0.11}], [{**BOX, "label": "dog"}]),
    "pairwise": ({"allow_tie": False}, {"a": "first", "b": "second"}, "b",
                 {"choice": "b", "rationale": "clearer"}, "a"),
    "ranking": ({"size": 3}, {"options": ["x", "y", "z"]}, [0, 1, 2], [0, 1, 2], [2, 1, 0]),
}


@pytest.mark.parametrize("task_type", sorted(GRADING))
@pytest.mark.parametrize("which, expected", [("right", True), ("wrong", False)])
def test_gold_is_graded_on_submit_per_task_type(requester, task_type, which, expected):
    label_config, data, gold, right, wrong = GRADING[task_type]
    answer = right if which == "right" else wrong

    assert graded_gold(requester, task_type, label_config, data, gold, answer) is expected


# (task_type, label_config, data, gold, answer wrong by default, setting that accepts it)
TOLERANCES = [
    ("multi_choice", {"choices": ["red", "green", "blue"]}, {"text": "Colours?"},
     ["red", "blue"], ["red"], {"multi_choice_min_jaccard": 0.5}),
    ("rating", {"min": 1, "max": 5}, {"text": "How good?"}, 4, 3,
     {"rating_max_distance": 1}),
    ("text", {"max_length": 40}, {"text": "Summarise"}, "the battery died", "battery died",
     {"text_min_similarity": 0.85}),
    ("spans", {"labels": ["PER"]}, SPAN_TEXT, [{"start": 0, "end": 12, "label": "PER"}],
     [{"start": 0, "end": 3, "label": "PER"}], {"spans_min_f1": 0.4}),
    ("bbox", {"labels": ["cat"]}, {"image": "https://img.example/1.png"}, [BOX],
     [{**BOX, "x": 0.25}], {"bbox_min_iou": 0.3}),
    ("ranking", {"size": 3}, {"options": ["x", "y", "z"]}, [0, 1, 2], [1, 0, 2],
     {"ranking_min_kendall_tau": 0.3}),
]


@pytest.mark.parametrize("task_type, label_config, data, gold, answer, setting", TOLERANCES,
                         ids=[case[0] for case in TOLERANCES])
@pytest.mark.parametrize("tuned", [False, True], ids=["default", "tuned"])
def test_grading_uses_the_projects_tolerance(requester, task_type, label_config, data, gold,
                                             answer, setting, tuned):
    quality = setting if tuned else None

    assert graded_gold(requester, task_type, label_config, data, gold, answer,
                       quality=quality) is tuned


def test_a_tolerance_patched_through_the_api_grades_the_next_submission(
        requester, requester_client):
    project = one_gold_project(requester, "rating", {"min": 1, "max": 5}, {"text": "x"}, 4)

    response = requester_client.patch(f"/api/v1/projects/{project.pk}/quality",
                                      {"rating_max_distance": 1}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["rating_max_distance"] == 1
    assignment = label(eligible_worker("dana@workers.example"), project, 3)
    assert Answer.objects.get(assignment=assignment, is_gold=True).is_correct is True


DEFAULT_QUALITY = {
    "min_gold_before_suspension": 10, "fast_seconds_per_item": None, "max_return_rate": 0.5,
    "min_claims_for_return_rule": 10, "max_disagreement_rate": 0.6,
    "min_items_for_disagreement_rule": 20, "spot_check_rate": 0.0,
    "multi_choice_min_jaccard": 1.0, "rating_max_distance": 0, "text_min_similarity": 0.9,
    "spans_min_f1": 0.8, "bbox_min_iou": 0.5, "ranking_min_kendall_tau": 0.8,
}


def quality_url(project) -> str:
    return f"/api/v1/projects/{project.pk}/quality"


def test_quality_settings_are_the_defaults_until_patched(requester, requester_client):
    project = launched_project(requester, tasks=1)

    assert requester_client.get(quality_url(project)).json() == DEFAULT_QUALITY

    response = requester_client.patch(quality_url(project), {"spans_min_f1": 0.5},
                                      format="json")
    assert response.json() == {**DEFAULT_QUALITY, "spans_min_f1": 0.5}
    assert requester_client.get(quality_url(project)).json() == {**DEFAULT_QUALITY,
                                                                 "spans_min_f1": 0.5}


@pytest.mark.parametrize("body, field", [({"colour": "red"}, "colour"),
                                         ({"bbox_min_iou": 1.5}, "bbox_min_iou"),
                                         ({"rating_max_distance": -1}, "rating_max_distance"),
                                         ({"min_gold_before_suspension": 0},
                                          "min_gold_before_suspension")])
def test_invalid_quality_settings_are_a_400_and_change_nothing(requester, requester_client,
                                                               body, field):
    project = launched_project(requester, tasks=1)

    response = requester_client.patch(quality_url(project), body, format="json")

    assert response.status_code == 400, response.json()
    assert list(response.json()["error"]["fields"]) == [field]
    assert not QualitySettings.objects.filter(project=project).exists()


def test_quality_settings_belong_to_the_projects_organization(requester,
                                                             other_requester_client):
    project = launched_project(requester, tasks=1)
    _, worker_client = worker_and_client("dana@workers.example")

    assert other_requester_client.get(quality_url(project)).status_code == 404
    assert other_requester_client.patch(quality_url(project), {"spot_check_rate": 1},
                                        format="json").status_code == 404
    assert worker_client.patch(quality_url(project), {"spot_check_rate": 1},
                               format="json").status_code == 403
    assert not QualitySettings.objects.filter(project=project).exists()


# --- statistics ----------------------------------------------------------------------------

def test_grading_records_gold_per_project_and_per_skill_with_a_lower_bound(requester):
    project = launched_project(requester, tasks=1, items_per_task=1, gold_per_task=2,
                               gold=[({"text": "love"}, "positive"),
                                     ({"text": "hate"}, "negative")])
    worker = eligible_worker("dana@workers.example")

    assignment = label(worker, project, "positive")  # right on one gold, wrong on the other

    assert assignment.graded_at is not None
    assert gold_marks(assignment) == [(False, "None", None), (True, "negative", False),
                                      (True, "positive", True)]
    bound = wilson_lower_bound(1, 2)
    assert round(bound, 4) == 0.2447
    assert project_stats(worker, project) == (2, 1, bound, 1)
    assert skill_stats(worker) == (2, 1, bound)


def test_records_add_up_over_submissions_and_projects(requester):
    first = launched_project(requester, tasks=2, items_per_task=1, gold_per_task=1,
                             gold=gold_items(2))
    second = launched_project(requester, tasks=1, items_per_task=1, gold_per_task=2,
                              gold=gold_items(2), name="Second")
    worker = eligible_worker("dana@workers.example")

    label(worker, first, gold_right())
    label(worker, first, gold_wrong())
    label(worker, second, gold_right())

    assert project_stats(worker, first) == (2, 1, wilson_lower_bound(1, 2), 2)
    assert project_stats(worker, second) == (2, 2, wilson_lower_bound(2, 2), 1)
    # Both projects require sentiment-en: the skill record counts all four.
    assert skill_stats(worker) == (4, 3, wilson_lower_bound(3, 4))
    assert round(wilson_lower_bound(3, 4), 4) == 0.5407


def test_a_submission_without_gold_counts_as_submitted_only(requester):
    project = launched_project(requester, tasks=1)
    worker = eligible_worker("dana@workers.example")

    label(worker, project, "positive")

    assert project_stats(worker, project) == (0, 0, None, 1)
    assert not WorkerSkillStats.objects.filter(worker=worker).exists()


def test_grading_again_changes_nothing(requester):
    project = launched_project(requester, tasks=1, items_per_task=1, gold_per_task=1,
                               gold=gold_items(1))
    worker = eligible_worker("dana@workers.example")
    assignment = label(worker, project, gold_right())
    before = (project_stats(worker, project), skill_stats(worker), assignment.graded_at)

    assert results_flow.grade_submission(assignment_id=assignment.pk) == 0
    qa_tasks.grade_and_aggregate(assignment.pk)

    assignment.refresh_from_db()
    assert (project_stats(worker, project), skill_stats(worker), assignment.graded_at) == before


def test_an_unsubmitted_assignment_is_not_graded(requester):
    project = launched_project(requester, tasks=1, items_per_task=1, gold_per_task=1,
                               gold=gold_items(1))
    worker = eligible_worker("dana@workers.example")
    assignment = claim(worker, project)

    assert results_flow.grade_submission(assignment_id=assignment.pk) == 0

    assignment.refresh_from_db()
    assert assignment.graded_at is None
    assert not WorkerProjectStats.objects.filter(worker=worker).exists()


# serialized_rollback: the skill taxonomy comes from a data migration that the flush after
# a transactional test would otherwise wipe for the tests that follow.
@requires_postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_gradings_of_one_worker_both_count(requester, monkeypatch):
    # Real threads on PostgreSQL: the stats rows are locked, so no increment is lost.
    monkeypatch.setattr(qa_tasks.grade_and_aggregate, "delay", lambda assignment_id: None)
    project = launched_project(requester, tasks=2, items_per_task=1, gold_per_task=1,
                               gold=gold_items(2))
    worker = eligible_worker("dana@workers.example")
    assignments = []
    for _ in range(2):
        assignment = assignment_claim(worker=worker, project_id=project.pk)
        work.submit(assignment_id=assignment.pk, worker=worker,
                          answers=answers_for(assignment, gold_right()))
        assignments.append(assignment)
    barrier = threading.Barrier(2)
    errors = []

    def grade(assignment_id):
        try:
            barrier.wait()
            results_flow.grade_submission(assignment_id=assignment_id)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=grade, args=(a.pk,)) for a in assignments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert project_stats(worker, project) == (2, 2, wilson_lower_bound(2, 2), 2)
    assert skill_stats(worker) == (2, 2, wilson_lower_bound(2, 2))


# --- the gold record sets the verified skill level -------------------------------------------

def thirty_gold_project(requester, gold_count: int = 30):
    return launched_project(requester, tasks=1, items_per_task=1, gold_per_task=gold_count,
                            gold=gold_items(gold_count))


def test_thirty_right_gold_raise_the_verified_level(requester):
    project = thirty_gold_project(requester)
    worker = eligible_worker("dana@workers.example", skills={"sentiment-en": 60})

    label(worker, project, gold_right())

    level = round(wilson_lower_bound(30, 30) * 100)
    assert level == 98
    assert skill_held(worker) == (98, SkillSource.GOLD)
    event = WorkerAuditEvent.objects.filter(worker=worker).last()
    assert (event.action, event.actor_id, event.reason) == (
        AuditAction.SKILL_LEVEL_SET, None, "Gold record: 30/30")
    assert {key: event.details[key] for key in
            ("skill", "level", "source", "previous_level", "previous_source",
             "gold_seen", "gold_correct")} == {
        "skill": "sentiment-en", "level": 98, "source": "gold", "previous_level": 60,
        "previous_source": "admin", "gold_seen": 30, "gold_correct": 30}


def test_thirty_missed_gold_lower_the_level_and_end_eligibility(requester):
    project = thirty_gold_project(requester)
    launched_project(requester, tasks=1, name="More work")
    worker = eligible_worker("dana@workers.example")

    label(worker, project, gold_wrong())

    assert skill_held(worker) == (0, SkillSource.GOLD)
    # sentiment-en 0 is under the projects' minimum of 50: no more work is routed.
    assert assignment_claim(worker=worker) is None


def test_fewer_than_thirty_gold_leave_the_level_alone(requester):
    project = thirty_gold_project(requester, gold_count=29)
    worker = eligible_worker("dana@workers.example", skills={"sentiment-en": 60})
    audit_before = WorkerAuditEvent.objects.filter(worker=worker).count()

    label(worker, project, gold_right())

    assert skill_stats(worker)[:2] == (29, 29)
    assert skill_held(worker) == (60, SkillSource.ADMIN)
    assert WorkerAuditEvent.objects.filter(worker=worker).count() == audit_before


def test_a_level_within_five_points_of_the_record_is_kept(requester):
    project = thirty_gold_project(requester)
    worker = eligible_worker("dana@workers.example", skills={"sentiment-en": 95})

    label(worker, project, gold_right())  # record says 98: 3 points off

    assert skill_held(worker) == (95, SkillSource.ADMIN)


def test_the_record_of_every_required_skill_is_kept(requester):
    project = launched_project(
        requester, tasks=1, items_per_task=1, gold_per_task=1, gold=gold_items(1),
        required_skills=[{"skill": "sentiment-en", "min_level": 50},
                         {"skill": "translation-de", "min_level": 10}])
    worker = eligible_worker("dana@workers.example",
                             skills={"sentiment-en": 90, "translation-de": 50})

    label(worker, project, gold_wrong())

    assert skill_stats(worker) == (1, 0, 0.0)
    assert skill_stats(worker, "translation-de") == (1, 0, 0.0)
    assert not WorkerSkillStats.objects.filter(worker=worker).exclude(
        skill__slug__in=["sentiment-en", "translation-de"]).exists()


# --- feedback on missed gold, and gold is never served twice ----------------------------------

def test_the_worker_sees_the_missed_gold_with_the_expected_answer(requester):
    project = launched_project(requester, tasks=1, items_per_task=1, gold_per_task=2,
                               gold=[({"text": "love"}, "positive"),
                                     ({"text": "hate"}, "negative")])
    worker, client = worker_and_client("dana@workers.example")

    assignment = label(worker, project, "positive")

    missed = Answer.objects.get(assignment=assignment, is_gold=True, is_correct=False)
    body = client.get(f"{MY_ASSIGNMENTS}/{assignment.pk}").json()
    assert (body["graded"], body["gold_feedback"]) == (True, [
        {"item_id": missed.pk, "your_answer": "positive", "expected": "negative"}])
    listed = client.get(MY_ASSIGNMENTS).json()["results"]
    assert [row["gold_feedback"] for row in listed] == [body["gold_feedback"]]


def test_a_gold_item_once_served_is_never_served_again_to_that_worker(requester):
    project = launched_project(requester, tasks=3, items_per_task=1, gold_per_task=1,
                               overlap=2, gold=[({"text": "love"}, "positive"),
                                                ({"text": "hate"}, "negative")])
    worker = eligible_worker("dana@workers.example")

    first = label(worker, project, gold_wrong())   # the missed one is shown as feedback
    second = label(worker, project, gold_wrong())
    third = label(worker, project, "positive")

    def gold_served(assignment):
        return [answer.item_id for answer in served(assignment) if answer.is_gold]

    assert len(gold_served(first)) == 1 and len(gold_served(second)) == 1
    assert set(gold_served(first) + gold_served(second)) == set(
        project.items.filter(is_gold=True).values_list("pk", flat=True))
    assert gold_served(third) == []  # no unseen gold left: the task is served without
    assert [answer.is_gold for answer in served(third)] == [False]
    # Another worker still gets gold: what one worker saw stays available to others.
    other = eligible_worker("erin@workers.example")
    assert len(gold_served(claim(other, project))) == 1


def test_feedback_stays_empty_until_graded_and_lists_no_right_answers(requester):
    project = launched_project(requester, tasks=1, items_per_task=1, gold_per_task=1,
                               gold=gold_items(1))
    worker, client = worker_and_client("dana@workers.example")
    assignment = claim(worker, project)
    # Submitted, but grading has not run yet (its job is still queued).
    work.submit(assignment_id=assignment.pk, worker=worker,
                      answers=answers_for(assignment, gold_right()))

    assert client.get(f"{MY_ASSIGNMENTS}/{assignment.pk}").json()["gold_feedback"] == []
    qa_tasks.grade_and_aggregate(assignment.pk)

    body = client.get(f"{MY_ASSIGNMENTS}/{assignment.pk}").json()
    assert (body["graded"], body["gold_feedback"]) == (True, [])
    assert Assignment.objects.get(pk=assignment.pk).graded_at is not None
