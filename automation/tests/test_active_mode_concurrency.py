"""Active mode under real concurrency, on PostgreSQL (real threads, one connection each):
the least certain tasks go first, and the claim invariants of
marketplace/tests/test_claim_concurrency.py still hold."""
import random
import time

import pytest
from django.db.models import Count

from conftest import make_requester, requires_postgresql
from flows import automation as automation_flow
from flows import work as work_flow
from marketplace.enums import SLOT_HOLDING_STATUSES
from marketplace.models import Answer, Assignment, Task
from marketplace.services import assignment_claim
from marketplace.tests.test_claim_concurrency import (
    DEADLINE_SECONDS,
    eligible_worker,
    launched_project,
    open_slot_for,
    run_threads,
)

pytestmark = [
    requires_postgresql,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

THREADS = 12


def scored_active_project(requester, *, tasks: int, overlap: int) -> dict[int, float]:
    """An active-mode project whose tasks have distinct scores in random order; task id
    -> score."""
    project = launched_project(requester, tasks=tasks, overlap=overlap)
    task_ids = list(Task.objects.filter(project=project).order_by("pk")
                    .values_list("pk", flat=True))
    scores = random.Random(15).sample(range(1, tasks + 1), tasks)
    by_task = {task_id: score / (tasks + 1) for task_id, score in zip(task_ids, scores)}
    items = dict(Task.objects.filter(project=project).values_list("pk", "items__pk"))
    automation_flow.store_predictions(project=project, by_item_id=True, predictions=[
        {"item_id": items[task_id], "value": "positive", "score": score,
         "model_version": "m1"} for task_id, score in by_task.items()])
    automation_flow.update_settings(project=project, fields={"mode": "active"})
    return project, by_task


def submit(assignment, worker):
    answers = [{"item_id": answer_id, "value": "positive"} for answer_id in
               Answer.objects.filter(assignment=assignment).values_list("pk", flat=True)]
    work_flow.submit(assignment_id=assignment.pk, worker=worker, answers=answers)


def test_twelve_simultaneous_claims_take_the_twelve_least_certain_tasks():
    requester = make_requester("alice@acme.example", "Acme AI")
    project, scores = scored_active_project(requester, tasks=40, overlap=1)
    workers = [eligible_worker(f"worker{index}@workers.example") for index in range(THREADS)]
    served: list = [None] * THREADS

    def claim_once(index, barrier):
        barrier.wait(timeout=90)
        assignment = assignment_claim(worker=workers[index])
        served[index] = assignment.task_id if assignment else None

    failures = run_threads(claim_once, THREADS)

    assert failures == []
    lowest = sorted(scores, key=scores.get)[:THREADS]
    # SKIP LOCKED sends each concurrent claim past the rows others hold to the next least
    # certain task: together they take exactly the lowest twelve, each once.
    assert sorted(served) == sorted(lowest)
    assert dict(Task.objects.filter(project=project, filled__gt=0)
                .values_list("pk", "filled")) == {task_id: 1 for task_id in lowest}


def test_draining_an_active_project_keeps_every_claim_invariant():
    requester = make_requester("alice@acme.example", "Acme AI")
    tasks, overlap = 30, 3
    project, scores = scored_active_project(requester, tasks=tasks, overlap=overlap)
    workers = [eligible_worker(f"worker{index}@workers.example") for index in range(THREADS)]

    def drain(index, barrier):
        worker = workers[index]
        barrier.wait(timeout=90)
        deadline = time.monotonic() + DEADLINE_SECONDS
        while time.monotonic() < deadline:
            assignment = assignment_claim(worker=worker)
            if assignment is None:
                if not open_slot_for(worker, [project]):
                    return
                time.sleep(0.005)
                continue
            submit(assignment, worker)
        raise AssertionError(f"worker {index} still claiming after {DEADLINE_SECONDS}s")

    failures = run_threads(drain, THREADS)

    assert failures == []
    per_task = dict(Assignment.objects.filter(project=project, status__in=SLOT_HOLDING_STATUSES)
                    .values_list("task_id").annotate(n=Count("id")))
    assert per_task == {task_id: overlap for task_id in scores}
    assert dict(Task.objects.filter(project=project).values_list("pk", "filled")) == {
        task_id: overlap for task_id in scores}
    pairs = list(Assignment.objects.filter(project=project).values_list("task_id", "worker_id"))
    assert len(pairs) == len(set(pairs)) == tasks * overlap
    # Least certain first, overall: one worker may be sent past a task another claim
    # holds locked (and come back to it), so the order is loose at the scale of the
    # number of claimers, but the first third of the claims took the least certain
    # third of the tasks and the last third the most certain (the ids order would mix).
    claimed = [scores[task_id] for task_id in Assignment.objects.filter(project=project)
               .order_by("pk").values_list("task_id", flat=True)]
    third = len(claimed) // 3
    ranked = sorted(scores.values())
    assert max(claimed[:third]) <= ranked[tasks // 3 + THREADS]
    assert min(claimed[-third:]) >= ranked[2 * tasks // 3 - THREADS]
