"""From answers to results (qa/services/consensus.py), end to end through the services:
workers claim and submit, the commit runs grading and then aggregation of a task whose
slots are all done. Confident items finalise; unsure ones raise the task's overlap by one
(escrow reserved for it) until max_overlap; a project whose items are all final completes
and its categorical results are refined project-wide (Dawid-Skene).

When the organization cannot pay for one more label, the project pauses for funds and
resuming (after a top-up) takes the task up again.

Confidences of the aggregation library with no gold graded (prior accuracy 0.7), single
choice over three labels: 3 of 3 agree 0.9807; one label each 0.3333; 2-1-1 0.7.
"""
import json

import pytest
from django.test import override_settings

from conftest import fund_organization
from marketplace.enums import AssignmentStatus, ProjectStatus, TaskStatus
from marketplace.models import Assignment, Item, Project, Task, WebhookDelivery
from marketplace.services import (
    assignment_claim,
    project_pause,
)
from marketplace.webhooks import tasks as webhook_tasks
from marketplace.webhooks.services import webhook_endpoint_create
from payments import ledger
from payments.enums import JournalKind
from payments.models import Journal
from payments.services import assignment_cost_cents, escrow_estimate_cents
from qa.aggregation import Annotation, aggregate
from qa.models import WorkerProjectStats
from qa.tests.conftest import (
    answers_for,
    claim,
    committed,
    eligible_worker,
    label,
    launched_project,
    submit,
)
from flows import decisions
from marketplace import selectors as marketplace_selectors
from flows import projects as projects_flow
from flows import results as results_flow
from flows import work

ALL_AGREE = 0.9807  # confidence of 3 of 3 agreeing, rounded
TARGET = 0.9


# --- helpers -----------------------------------------------------------------------------

def dynamic_project(requester, **overrides) -> Project:
    """Tasks of two items (A, B), overlap 3 raised up to 5 below confidence 0.9. By
    default a second task, never labelled, keeps the project running, so results stay
    the per-task ones (completion would refine them project-wide)."""
    fields = {"tasks": 2, "items_per_task": 2, "overlap": 3, "max_overlap": 5,
              "confidence_target": TARGET}
    fields.update(overrides)
    return launched_project(requester, **fields)


def items_of(project: Project) -> tuple[Item, Item]:
    """Items A and B of the project's first task."""
    first, second = Item.objects.filter(task=task_of(project)).order_by("pk")
    return first, second


def workers(*names: str):
    return [eligible_worker(f"{name}@workers.example") for name in names]


def task_of_item(item):
    return Task.objects.get(pk=item.task_id)


def task_of(project: Project) -> Task:
    """The project's first task: routing serves it first and keeps serving it while it
    has a free slot (tasks others started come first)."""
    return Task.objects.filter(project=project).order_by("pk").first()


def reserve_journals(project: Project) -> int:
    return Journal.objects.filter(project=project, kind=JournalKind.ESCROW_RESERVE).count()


def escrow_cents(project: Project) -> int:
    return ledger.balance_of(ledger.project_escrow(project))


def final(item: Item) -> tuple:
    item.refresh_from_db()
    confidence = None if item.confidence is None else round(item.confidence, 4)
    return item.result, confidence, item.finalized_at is not None


def label_task(project, people, votes_a, votes_b):
    """Each worker labels the task: item A gets votes_a[i], item B votes_b[i]."""
    a, b = items_of(project)
    for worker, vote_a, vote_b in zip(people, votes_a, votes_b):
        label(worker, project, {a.pk: vote_a, b.pk: vote_b})


def project_annotations(project: Project) -> list[Annotation]:
    """Every labelled answer of the project, as the aggregation library takes them."""
    from marketplace.models import Answer

    rows = Answer.objects.filter(
        assignment__project=project, is_gold=False,
        assignment__status__in=[AssignmentStatus.SUBMITTED, AssignmentStatus.APPROVED],
    ).values_list("item_id", "assignment__worker_id", "value")
    return [Annotation(item_key=item_id, worker_key=worker_id, value=value)
            for item_id, worker_id, value in rows]


@pytest.fixture
def webhook_calls(monkeypatch):
    """A subscribed endpoint's deliveries stay rows: no HTTP attempt is made."""
    calls = []
    monkeypatch.setattr(webhook_tasks.deliver_webhook, "delay", calls.append)
    return calls


def subscribe(requester, events) -> None:
    with override_settings(WEBHOOK_ALLOW_PRIVATE_URLS=True):
        webhook_endpoint_create(organization=requester.membership.organization,
                                actor=requester, url="http://127.0.0.1:9/hooks",
                                events=events)


def delivered(event: str) -> list[dict]:
    return [json.loads(body)["data"] for body in WebhookDelivery.objects.filter(
        event=event).order_by("id").values_list("body", flat=True)]


# --- confident: finalised ----------------------------------------------------------------

def test_three_agreeing_workers_finalise_the_task_and_complete_the_project(
        requester, webhook_calls):
    subscribe(requester, ["item.finalized", "project.completed"])
    project = dynamic_project(requester, tasks=1)
    a, b = items_of(project)

    label_task(project, workers("w1", "w2", "w3"), ["positive"] * 3, ["negative"] * 3)

    assert final(a) == ("positive", ALL_AGREE, True)
    assert final(b) == ("negative", ALL_AGREE, True)
    task = task_of(project)
    assert (task.status, task.overlap, task.filled) == (TaskStatus.COMPLETE, 3, 3)
    project.refresh_from_db()
    assert project.status == ProjectStatus.COMPLETED
    assert reserve_journals(project) == 1  # the launch only: no overlap was raised
    assert delivered("project.completed")[0]["project_id"] == project.pk
    assert sorted((entry["item_id"], entry["result"], round(entry["confidence"], 4))
                  for entry in delivered("item.finalized")[0]["items"]) == [
        (a.pk, "positive", ALL_AGREE), (b.pk, "negative", ALL_AGREE)]
    assert webhook_calls == list(WebhookDelivery.objects.order_by("id")
                                 .values_list("pk", flat=True))


def test_nothing_is_aggregated_while_a_slot_is_still_live(requester):
    project = dynamic_project(requester)
    a, b = items_of(project)
    first, second, third = workers("w1", "w2", "w3")
    label(first, project, "positive")
    label(second, project, "positive")
    live = claim(third, project)

    assert results_flow.aggregate_task(task_id=live.task_id) == []

    assert final(a) == (None, None, False) and final(b) == (None, None, False)
    assert task_of(project).status == TaskStatus.OPEN


# --- unsure: overlap raised, task reopens ------------------------------------------------

def test_an_unsure_item_raises_the_overlap_by_one_and_reopens_the_task(requester):
    project = dynamic_project(requester)
    a, b = items_of(project)
    escrow_before = escrow_cents(project)

    label_task(project, workers("w1", "w2", "w3"), ["positive"] * 3,
               ["positive", "negative", "neutral"])

    assert final(a) == ("positive", ALL_AGREE, True)   # confident items finalise now
    assert final(b) == (None, None, False)             # B waits for one more label
    task = task_of(project)
    assert (task.status, task.overlap, task.filled) == (TaskStatus.OPEN, 4, 3)
    assert reserve_journals(project) == 2
    assert escrow_cents(project) == escrow_before + assignment_cost_cents(project=project)
    project.refresh_from_db()
    assert project.status == ProjectStatus.ACTIVE


def test_the_reopened_task_goes_to_a_fourth_worker_never_to_the_first_three(requester):
    project = dynamic_project(requester, tasks=1)
    people = workers("w1", "w2", "w3")
    label_task(project, people, ["positive"] * 3, ["positive", "negative", "neutral"])

    for worker in people:
        assert assignment_claim(worker=worker, project_id=project.pk) is None
    fourth = eligible_worker("w4@workers.example")
    assignment = claim(fourth, project)

    assert assignment.task_id == task_of(project).pk
    assert task_of(project).filled == 4


def test_overlap_stops_at_max_overlap_and_the_item_finalises_unsure(requester):
    project = dynamic_project(requester)
    a, b = items_of(project)
    label_task(project, workers("w1", "w2", "w3"), ["positive"] * 3,
               ["positive", "negative", "neutral"])

    label_task(project, workers("w4"), ["negative"], ["positive"])
    # 2-1-1 on B: 0.7, still under the target, so a fifth slot opens (max_overlap 5).
    assert final(b) == (None, None, False)
    assert (task_of(project).overlap, reserve_journals(project)) == (5, 3)

    label_task(project, workers("w5"), ["negative"], ["negative"])

    # p, n, neutral, p, n: 0.4516 but at max_overlap: finalised as it is.
    assert final(b)[1:] == (0.4516, True)
    assert final(b)[0] == "positive"
    task = task_of(project)
    assert (task.status, task.overlap, task.filled) == (TaskStatus.COMPLETE, 5, 5)
    assert reserve_journals(project) == 3  # launch + two raises, none past max_overlap
    # A sixth worker is routed to the other task: this one has no slot left.
    sixth = eligible_worker("w6@workers.example")
    assert claim(sixth, project).task_id != task.pk


def test_without_funds_for_one_more_slot_the_project_pauses_until_topped_up(requester):
    # Exactly the launch estimate (2 tasks x overlap 3 x (10 reward + fee)): nothing is
    # left to reserve a fourth assignment with.
    cost = 2 * 3 * (10 + ledger.platform_fee_cents(10))
    project = dynamic_project(requester, funds=cost)
    assert escrow_estimate_cents(project=project) == cost
    a, b = items_of(project)

    label_task(project, workers("w1", "w2", "w3"), ["positive"] * 3,
               ["positive", "negative", "neutral"])

    assert final(a) == ("positive", ALL_AGREE, True)
    assert final(b) == (None, None, False)   # waits for a label nobody can pay for yet
    task = task_of(project)
    assert (task.status, task.overlap) == (TaskStatus.OPEN, 3)
    assert (reserve_journals(project), escrow_cents(project)) == (1, cost)
    project.refresh_from_db()
    assert (project.status, project.status_reason) == (
        ProjectStatus.PAUSED,
        "Paused: not enough funds to collect more labels. Top up, then resume.")
    fourth = eligible_worker("w4@workers.example")
    assert assignment_claim(worker=fourth, project_id=project.pk) is None

    fund_organization(requester, assignment_cost_cents(project=project))
    committed(projects_flow.resume, project=project, actor=requester)

    # Resuming looks at the task again: the fourth slot is now paid for and served.
    assert (task_of(project).overlap, reserve_journals(project)) == (4, 2)
    assert claim(fourth, project).task_id == task.pk


def test_a_cancelled_project_gets_no_more_slots_and_its_items_finalise(requester):
    project = dynamic_project(requester, tasks=1)
    a, b = items_of(project)
    first, second, third = workers("w1", "w2", "w3")
    label_task(project, [first, second], ["positive"] * 2, ["positive", "negative"])
    straggler = claim(third, project)
    projects_flow.cancel(project=project, actor=requester)
    reserved = reserve_journals(project)

    submit(straggler, third, {a.pk: "positive", b.pk: "neutral"})

    # B is unsure (0.3333), but nobody would ever be served a fourth slot.
    assert final(b) == ("positive", 0.3333, True)
    task = task_of(project)
    assert (task.status, task.overlap) == (TaskStatus.COMPLETE, 3)
    assert reserve_journals(project) == reserved
    project.refresh_from_db()
    assert project.status == ProjectStatus.CANCELLED


def test_without_a_confidence_target_items_finalise_at_overlap(requester):
    project = launched_project(requester, tasks=1, items_per_task=2, overlap=3)
    a, b = items_of(project)

    label_task(project, workers("w1", "w2", "w3"), ["positive"] * 3,
               ["positive", "negative", "neutral"])

    assert final(a) == ("positive", ALL_AGREE, True)
    assert final(b) == ("positive", 0.3333, True)
    assert task_of(project).overlap == 3


# --- completion and refinement -----------------------------------------------------------

def test_a_project_completes_only_when_every_task_is_final(requester):
    project = launched_project(requester, tasks=2, items_per_task=1, overlap=1)
    worker = eligible_worker("w1@workers.example")

    label(worker, project, "positive")
    project.refresh_from_db()
    assert project.status == ProjectStatus.ACTIVE

    label(worker, project, "negative")
    project.refresh_from_db()
    assert project.status == ProjectStatus.COMPLETED
    assert list(Item.objects.filter(project=project).order_by("pk")
                .values_list("result", flat=True)) == ["positive", "negative"]


def test_a_project_paused_while_its_last_items_finalise_completes_on_resume(requester):
    project = launched_project(requester, tasks=1, items_per_task=1, overlap=1)
    worker = eligible_worker("w1@workers.example")
    assignment = claim(worker, project)
    project_pause(project=project, actor=requester)

    submit(assignment, worker, "positive")   # the last item finalises while paused
    assert final(Item.objects.get(project=project))[::2] == ("positive", True)
    project.refresh_from_db()
    assert project.status == ProjectStatus.PAUSED

    committed(projects_flow.resume, project=project, actor=requester)

    project.refresh_from_db()
    assert project.status == ProjectStatus.COMPLETED


def test_completion_refines_results_over_the_whole_project(requester):
    project = dynamic_project(requester, tasks=1)
    a, b = items_of(project)
    label_task(project, workers("w1", "w2", "w3"), ["positive"] * 3,
               ["positive", "negative", "neutral"])
    assert final(a) == ("positive", ALL_AGREE, True)  # from the first three labels only

    label_task(project, workers("w4", "w5"), ["negative", "negative"],
               ["negative", "negative"])

    # Completion ran the project-wide pass on commit: A now reflects all five labels.
    expected = aggregate(project.task_type, project.label_config,
                         project_annotations(project), {})
    for item in (a, b):
        item.refresh_from_db()
        assert (item.result, item.confidence) == (expected[item.pk].result,
                                                  expected[item.pk].confidence)
        assert 0.0 <= item.confidence <= 1.0
    assert round(a.confidence, 4) != ALL_AGREE


def test_refinement_is_for_completed_categorical_projects_only(requester):
    rating = launched_project(requester, tasks=1, items_per_task=1, overlap=1,
                              task_type="rating", label_config={"min": 1, "max": 5})
    label(eligible_worker("w1@workers.example"), rating, 4)
    rating.refresh_from_db()
    assert rating.status == ProjectStatus.COMPLETED
    running = dynamic_project(requester, name="Still running")
    label(eligible_worker("w2@workers.example"), running, "positive")
    before = list(Item.objects.order_by("pk").values_list("result", "confidence"))

    assert results_flow.refine_project(project_id=rating.pk) == 0
    assert results_flow.refine_project(project_id=running.pk) == 0
    assert list(Item.objects.order_by("pk").values_list("result", "confidence")) == before


# --- every task type gets a result and a confidence ------------------------------------------

# task_type: (label_config, item data, the value both workers give, expected result)
TASK_TYPES = {
    "single_choice": ({"choices": ["yes", "no"]}, {"text": "Is it?"}, "no", "no"),
    "multi_choice": ({"choices": ["red", "green", "blue"]}, {"text": "Colours?"},
                     ["blue", "red"], ["red", "blue"]),
    "rating": ({"min": 1, "max": 5}, {"text": "How good?"}, 4, 4),
    "text": ({"max_length": 20}, {"text": "Summarise"}, "fine", "fine"),
    "spans": ({"labels": ["PER", "ORG"]}, {"text": "Ada Lovelace"},
              [{"start": 0, "end": 3, "label": "PER"}],
              [{"start": 0, "end": 3, "label": "PER"}]),
    "bbox": ({"labels": ["cat", "dog"]}, {"image": "https://img.example/1.png"},
             [{"x": 0.1, "y": 0.2, "w": 0.3, "h": 0.4, "label": "cat"}],
             [{"x": 0.1, "y": 0.2, "w": 0.3, "h": 0.4, "label": "cat"}]),
    "pairwise": ({"allow_tie": False}, {"a": "first", "b": "second"},
                 {"choice": "b", "rationale": "clearer"}, "b"),
    "ranking": ({"size": 3}, {"options": ["x", "y", "z"]}, [2, 0, 1], [2, 0, 1]),
}


@pytest.mark.parametrize("task_type", sorted(TASK_TYPES))
def test_every_task_type_ends_with_a_result_and_a_confidence_in_0_1(requester, task_type):
    label_config, data, value, expected = TASK_TYPES[task_type]
    project = launched_project(requester, tasks=1, items_per_task=1, overlap=2,
                               task_type=task_type, label_config=label_config, items=[data])

    for name in ("w1", "w2"):
        label(eligible_worker(f"{name}@workers.example"), project, value)

    item = Item.objects.get(project=project)
    assert item.result == expected
    assert 0.0 <= item.confidence <= 1.0
    assert item.finalized_at is not None
    project.refresh_from_db()
    assert project.status == ProjectStatus.COMPLETED


# --- rejected work -------------------------------------------------------------------------

def test_a_rejection_while_the_task_is_open_adds_a_slot_and_drops_the_labels(
        requester):
    project = launched_project(requester, tasks=1, items_per_task=1, overlap=2)
    first, second, third = workers("w1", "w2", "w3")
    rejected = label(first, project, "negative")

    committed(decisions.reject, assignment_id=rejected.pk, actor=requester, reason="Careless.")

    task = task_of(project)
    assert (task.overlap, task.filled, task.status) == (3, 1, TaskStatus.OPEN)
    label(second, project, "positive")
    assert task_of(project).status == TaskStatus.OPEN  # 2 of 3 slots done
    label(third, project, "positive")
    item = Item.objects.get(project=project)
    # Only the two labels still standing count: 2 of 2 "positive".
    expected = aggregate("single_choice", project.label_config, [
        Annotation(item_key=item.pk, worker_key=second.pk, value="positive"),
        Annotation(item_key=item.pk, worker_key=third.pk, value="positive")], {})
    assert (item.result, item.confidence) == ("positive", expected[item.pk].confidence)
    assert task_of(project).status == TaskStatus.COMPLETE


def test_a_late_rejection_reopens_the_task_and_announces_the_revised_result(requester):
    """Overlap 1: submit finalises the item (revision 1). Rejecting that label later opens
    a replacement slot on the completed task; the new label revises the result
    (revision 2) instead of the rejected label staying in it."""
    project = launched_project(requester, tasks=2, items_per_task=1, overlap=1)
    first, second = workers("w1", "w2")
    done = label(first, project, "positive")
    item = Item.objects.get(task_id=done.task_id)
    assert (item.result, item.revision, task_of_item(item).status) == (
        "positive", 1, TaskStatus.COMPLETE)

    committed(decisions.reject, assignment_id=done.pk, actor=requester, reason="Careless.")

    item.refresh_from_db()
    task = task_of_item(item)
    assert (task.overlap, task.filled, task.status) == (2, 1, TaskStatus.OPEN)
    assert (item.finalized_at, item.result, item.revision) == (None, "positive", 1)
    assert label(second, project, "negative").task_id == done.task_id
    item.refresh_from_db()
    assert (item.result, item.revision) == ("negative", 2)
    assert item.finalized_at is not None
    assert task_of_item(item).status == TaskStatus.COMPLETE


def test_a_rejection_after_the_project_completed_revises_the_result(requester):
    project = launched_project(requester, tasks=1, items_per_task=1, overlap=1)
    done = label(eligible_worker("w1@workers.example"), project, "positive")
    project.refresh_from_db()
    assert project.status == "completed"

    committed(decisions.reject, assignment_id=done.pk, actor=requester, reason="Careless.")

    item = Item.objects.get(project=project)
    # No label stands any more: the result is withdrawn, announced as revision 2.
    assert (item.result, item.confidence, item.revision) == (None, None, 2)
    task = task_of(project)
    assert (task.overlap, task.filled, task.status) == (1, 1, TaskStatus.COMPLETE)


# --- lost jobs -----------------------------------------------------------------------------

def test_the_sweep_grades_and_aggregates_submissions_whose_job_was_lost(requester):
    from datetime import timedelta

    from django.utils import timezone

    # Long free text: gold of such a project is graded by the job, not inside the submit
    # (qa.services.grading.INLINE_TEXT_MAX_LENGTH), so a lost job leaves it ungraded.
    project = launched_project(requester, tasks=2, items_per_task=1, overlap=1,
                               task_type="text", label_config={"max_length": 5000})
    worker = eligible_worker("w1@workers.example")
    stale = claim(worker, project)
    # Submitted, but the commit hooks never run: the grading job was lost.
    work.submit(assignment_id=stale.pk, worker=worker,
                      answers=answers_for(stale, "positive"))
    fresh = claim(worker, project)
    work.submit(assignment_id=fresh.pk, worker=worker,
                      answers=answers_for(fresh, "negative"))
    Assignment.objects.filter(pk=stale.pk).update(
        submitted_at=timezone.now() - timedelta(minutes=3))

    assert results_flow.sweep_ungraded() == 1

    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.graded_at is not None and fresh.graded_at is None
    assert Item.objects.get(task_id=stale.task_id).result == "positive"
    assert Item.objects.get(task_id=fresh.task_id).result is None
    assert WorkerProjectStats.objects.get(worker=worker, project=project).submitted == 1


def test_reaggregation_finishes_tasks_whose_aggregation_was_lost(requester):
    project = launched_project(requester, tasks=1, items_per_task=1, overlap=1)
    worker = eligible_worker("w1@workers.example")
    assignment = claim(worker, project)
    work.submit(assignment_id=assignment.pk, worker=worker,
                      answers=answers_for(assignment, "neutral"))
    results_flow.grade_submission(assignment_id=assignment.pk)  # graded, aggregation job lost
    assert marketplace_selectors.tasks_awaiting_aggregation(project_id=project.pk) == [assignment.task_id]

    assert results_flow.reaggregate_project_job(project.pk) == 1

    assert marketplace_selectors.tasks_awaiting_aggregation(project_id=project.pk) == []
    assert Item.objects.get(project=project).result == "neutral"
    project.refresh_from_db()
    assert project.status == ProjectStatus.COMPLETED


def test_the_sweep_aggregates_graded_tasks_whose_aggregation_was_lost(requester):
    project = launched_project(requester, tasks=1, items_per_task=1, overlap=1)
    worker = eligible_worker("w1@workers.example")
    assignment = claim(worker, project)
    # Graded, but the aggregation job that follows grading never ran.
    work.submit(assignment_id=assignment.pk, worker=worker,
                      answers=answers_for(assignment, "positive"))
    results_flow.grade_submission(assignment_id=assignment.pk)
    assert Item.objects.get(task_id=assignment.task_id).result is None

    assert results_flow.sweep_ungraded() == 0   # nothing ungraded; the aggregation is recovered anyway

    assert Item.objects.get(task_id=assignment.task_id).result == "positive"


def test_a_lost_aggregation_after_an_inline_grading_is_recovered_by_the_sweep(requester):
    # Gold graded inside the submit; the aggregation request after commit was lost (the
    # drain marker set, the job never run). The sweep aggregates the task all the same.
    from django.core.cache import cache

    from flows import aggregation_queue

    project = launched_project(requester, tasks=1, items_per_task=1, overlap=1)
    worker = eligible_worker("w1@workers.example")
    assignment = claim(worker, project)
    work.submit(assignment_id=assignment.pk, worker=worker,
                answers=answers_for(assignment, "positive"))
    assignment.refresh_from_db()
    assert assignment.graded_at is not None
    cache.add(aggregation_queue.MARKER_KEY, 1)  # job lost
    assert results_flow.aggregation_request(task_id=assignment.task_id) is False

    assert results_flow.sweep_ungraded() == 0

    assert Item.objects.get(task_id=assignment.task_id).result == "positive"
