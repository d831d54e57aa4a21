"""One aggregation job for many tasks (issue 11, the Celery side): its statements do not
grow with the number of tasks, it decides and announces each task as it would alone, and
it keeps the lock order when it raises overlap and applies the disagreement rule."""
import json

import pytest
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from config.lock_order import assert_lock_order, recorded_row_locks
from flows import results, work
from marketplace.models import Item, Task, WebhookDelivery
from marketplace.webhooks.services import webhook_endpoint_create
from qa.enums import QualityActionKind, QualityRule
from qa.models import QualityAction, WorkerProjectStats
from qa.tests.conftest import answers_for, claim, eligible_worker, launched_project
from conftest import requires_postgresql

pytestmark = pytest.mark.django_db


def labelled(project, workers, value_of=lambda index, task_id: "positive"):
    """Every worker labels every task of the project (worker ``index`` answers
    ``value_of(index, task_id)``); the aggregation requests stay queued, their job not
    run. Returns the ids of the tasks and the submits' commit hooks."""
    hooks = []
    for index, worker in enumerate(workers):
        while True:
            try:
                assignment = claim(worker, project)
            except AssertionError:  # nothing left to claim for this worker
                break
            with TestCase.captureOnCommitCallbacks() as callbacks:
                work.submit(assignment_id=assignment.pk, worker=worker,
                            answers=answers_for(assignment,
                                                value_of(index, assignment.task_id)))
            hooks += callbacks
    return sorted(Task.objects.filter(project=project).values_list("pk", flat=True)), hooks


def queue(monkeypatch, hooks):
    """Run the submits' commit hooks with the job held back: the tasks wait in the set."""
    monkeypatch.setattr(results.aggregate_pending_job, "apply_async", lambda **options: None)
    for hook in hooks:
        hook()


def drain_statements(monkeypatch, requester, tasks: int) -> int:
    project = launched_project(requester, tasks=tasks, items_per_task=2, overlap=2)
    workers = [eligible_worker(f"w{tasks}-{n}@workers.example") for n in range(2)]
    _, hooks = labelled(project, workers)
    queue(monkeypatch, hooks)
    with CaptureQueriesContext(connection) as queries:
        assert results.aggregate_pending_job() == 2 * tasks
    return len(queries)


def test_a_job_costs_the_same_statements_for_two_tasks_as_for_eight(requester, monkeypatch):
    # A statement per task (a lazy load of a deferred field, a lookup per item or per
    # worker) would show as the difference.
    assert drain_statements(monkeypatch, requester, 2) == drain_statements(
        monkeypatch, requester, 8)


def test_each_task_is_decided_and_announced_as_it_would_be_alone(requester, monkeypatch,
                                                                  settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    webhook_endpoint_create(organization=requester.membership.organization, actor=requester,
                            url="http://127.0.0.1:9/hooks", events=["item.finalized"])
    project = launched_project(requester, tasks=3, items_per_task=2, overlap=2)
    workers = [eligible_worker(f"w{n}@workers.example") for n in range(2)]
    task_ids, hooks = labelled(project, workers, value_of=lambda index, task: "negative")
    queue(monkeypatch, hooks)

    with TestCase.captureOnCommitCallbacks():  # deliveries stay queued, not sent
        assert results.aggregate_pending_job() == 6

    items = list(Item.objects.filter(project=project).order_by("pk"))
    assert {(item.result, item.revision) for item in items} == {("negative", 1)}
    assert all(item.finalized_at is not None for item in items)
    assert set(Task.objects.filter(project=project).values_list("status", flat=True)) == {
        "complete"}
    # One item.finalized delivery per task, with that task's items, as before batching.
    bodies = [json.loads(body) for body in WebhookDelivery.objects.order_by("pk")
              .values_list("body", flat=True)]
    announced = sorted(sorted(entry["item_id"] for entry in body["data"]["items"])
                       for body in bodies)
    assert announced == sorted(sorted(item.pk for item in items if item.task_id == task_id)
                               for task_id in task_ids)
    assert {entry["revision"] for body in bodies for entry in body["data"]["items"]} == {1}
    stats = WorkerProjectStats.objects.filter(project=project)
    assert sorted(stats.values_list("items_compared", "items_disagreed")) == [(6, 0), (6, 0)]


@requires_postgresql
def test_a_batch_raising_overlap_and_suspending_keeps_the_lock_order(requester, monkeypatch):
    # Two reliable workers and a third one, in one job: on the first two tasks the
    # reliable pair agrees (final; the third disagreed twice: suspended), on the last two
    # all three differ (unsure: one more label, escrow reserved for it).
    project = launched_project(requester, tasks=4, items_per_task=1, overlap=3,
                               max_overlap=4, confidence_target=0.9,
                               quality={"min_items_for_disagreement_rule": 2,
                                        "max_disagreement_rate": 0.5})
    workers = [eligible_worker(f"w{n}@workers.example") for n in range(3)]
    for worker in workers[:2]:
        WorkerProjectStats.objects.update_or_create(
            worker=worker, project=project, defaults={"gold_seen": 10, "gold_correct": 10})
    first = min(Task.objects.filter(project=project).values_list("pk", flat=True))

    def value_of(index, task_id):
        if task_id < first + 2:
            return ["positive", "positive", "negative"][index]
        return ["positive", "negative", "neutral"][index]

    task_ids, hooks = labelled(project, workers, value_of=value_of)
    queue(monkeypatch, hooks)

    with TestCase.captureOnCommitCallbacks(), recorded_row_locks() as locks:
        assert results.aggregate_pending_job() == 2

    assert_lock_order(locks)
    tasks = dict(Task.objects.filter(project=project).values_list("pk", "overlap"))
    assert [tasks[task_id] for task_id in task_ids] == [3, 3, 4, 4]
    assert list(Item.objects.filter(project=project, finalized_at__isnull=False)
                .order_by("pk").values_list("result", flat=True)) == ["positive"] * 2
    suspended = QualityAction.objects.filter(project=project, rule=QualityRule.DISAGREEMENT,
                                             kind=QualityActionKind.SUSPENDED)
    assert list(suspended.values_list("worker_id", flat=True)) == [workers[2].pk]
