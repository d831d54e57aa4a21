"""active: tasks are served most uncertain first (the lowest prediction score, or the
highest entropy when the prediction has class probabilities); a new prediction re-orders
the queue at the next claim, through an index (Task.routing_score, task_active_routing_idx)
rather than a sort per claim."""
import math

import pytest
from django.db import connection, transaction
from django.utils import timezone

from automation.tests.helpers import configure, external_ids, predict
from config.errors import InvalidInput
from flows import automation as automation_flow
from marketplace.models import Item, Task
from marketplace.services.claim_sql import _pick_sql
from qa.tests.conftest import claim, eligible_worker, launched_project
from workers.models import WorkerProfile

pytestmark = pytest.mark.django_db


def task_of(external_id: str) -> int:
    return Item.objects.get(external_id=external_id).task_id


def served_order(project, workers: int) -> list[int]:
    """The task each of ``workers`` fresh workers is served, one after the other."""
    return [claim(eligible_worker(f"w{index}@workers.example"), project).task_id
            for index in range(workers)]


def active_project(requester, scores: dict[str, float], tasks: int = 6, **fields):
    project = launched_project(requester, tasks=tasks, items_per_task=1, overlap=1,
                               external_ids=external_ids(tasks), **fields)
    predict(project, [(external_id, "positive", score)
                      for external_id, score in scores.items()])
    configure(project, mode="active")
    return project


def test_serves_the_lowest_score_first_and_unpredicted_tasks_last(requester):
    project = active_project(requester, {"e0": 0.9, "e1": 0.2, "e2": 0.7, "e3": 0.4,
                                         "e5": 0.95})

    assert served_order(project, 6) == [task_of(e) for e in ("e1", "e3", "e2", "e0", "e5",
                                                             "e4")]


def test_the_routing_score_is_kept_with_each_upload(requester):
    project = active_project(requester, {"e0": 0.9, "e1": 0.2})

    assert Task.objects.get(pk=task_of("e0")).routing_score == 0.9
    assert Task.objects.get(pk=task_of("e1")).routing_score == 0.2
    assert Task.objects.get(pk=task_of("e2")).routing_score is None


def test_a_new_prediction_reorders_the_queue_at_the_next_claim(requester):
    project = active_project(requester, {"e0": 0.5, "e1": 0.2, "e2": 0.7})
    assert served_order(project, 1) == [task_of("e1")]

    predict(project, [("e2", "negative", 0.05)], version="v2")

    assert claim(eligible_worker("late@workers.example"), project).task_id == task_of("e2")


def test_highest_entropy_first_when_predictions_carry_class_probabilities(requester):
    project = launched_project(requester, tasks=3, items_per_task=1, overlap=1,
                               external_ids=external_ids(3))
    spread = {"positive": 0.4, "negative": 0.3, "neutral": 0.3}
    peaked = {"positive": 0.8, "negative": 0.1, "neutral": 0.1}
    automation_flow.store_predictions(project=project, predictions=[
        {"external_id": "e0", "value": "positive", "score": 0.8, "model_version": "m",
         "probabilities": peaked},
        {"external_id": "e1", "value": "positive", "score": 0.4, "model_version": "m",
         "probabilities": spread},
        {"external_id": "e2", "value": "positive", "score": 0.6, "model_version": "m"}])
    configure(project, mode="active")

    def certainty(probabilities):
        entropy = -sum(p * math.log(p) for p in probabilities.values())
        return 1 - entropy / math.log(3)

    assert Task.objects.get(pk=task_of("e1")).routing_score == pytest.approx(
        certainty(spread))  # 0.0135: nearly uniform
    assert Task.objects.get(pk=task_of("e0")).routing_score == pytest.approx(
        certainty(peaked))  # 0.4183
    assert served_order(project, 3) == [task_of("e1"), task_of("e0"), task_of("e2")]


def test_probabilities_are_checked(requester):
    project = launched_project(requester, tasks=1, items_per_task=1,
                               external_ids=external_ids(1))
    with pytest.raises(InvalidInput) as refused:
        automation_flow.store_predictions(project=project, predictions=[
            {"external_id": "e0", "value": "positive", "score": 0.8, "model_version": "m",
             "probabilities": {"positive": 0.8, "maybe": 0.5}}])

    assert "predictions.0.probabilities" in refused.value.fields
    assert Task.objects.get(project=project).routing_score is None


def test_other_modes_keep_the_started_first_order(requester):
    project = launched_project(requester, tasks=3, items_per_task=1, overlap=1,
                               external_ids=external_ids(3))
    predict(project, [("e0", "positive", 0.9), ("e1", "positive", 0.1),
                      ("e2", "positive", 0.5)])

    assert served_order(project, 3) == [task_of("e0"), task_of("e1"), task_of("e2")]


@pytest.mark.parametrize(("order", "index"), [("active", "task_active_routing_idx"),
                                              ("default", "task_routing_free_idx")])
def test_the_pick_is_an_index_scan_not_a_sort(requester, order, index):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's plan (SQLite takes the ORM path)")
    project = launched_project(requester, tasks=3000, items_per_task=1, overlap=3)
    Task.objects.filter(project=project).update(routing_score=0.5)
    worker = eligible_worker("dana@workers.example")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE marketplace_task")
        cursor.execute("ANALYZE marketplace_assignment")
    with transaction.atomic():  # FOR UPDATE compiles only inside a transaction
        sql, params = _pick_sql(worker=WorkerProfile.objects.get(pk=worker.pk),
                                project_ids=[project.pk], order=order, now=timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())

    assert f"Index Scan using {index}" in plan, plan
    assert "Sort" not in plan, plan


def test_items_uploaded_with_predictions_are_scored_after_the_commit(
        requester, django_capture_on_commit_callbacks):
    from flows import imports
    from marketplace.uploads import UploadRow

    project = active_project(requester, {"e0": 0.6})
    rows = [UploadRow(row=n, external_id=f"u{n}", data={"text": f"t{n}"}, answer=None,
                      has_answer=False, prediction={"value": "positive", "score": score,
                                                    "model_version": "m"})
            for n, score in ((1, 0.3), (2, 0.8))]
    with django_capture_on_commit_callbacks(execute=True):
        imports.import_items(project=project, actor=requester, rows=rows, is_gold=False)

    assert Task.objects.get(pk=task_of("u1")).routing_score == 0.3
    assert Task.objects.get(pk=task_of("u2")).routing_score == 0.8
    assert served_order(project, 1) == [task_of("u1")]
