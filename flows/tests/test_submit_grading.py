"""Submit grades gold inline and requests the task's aggregation once (issue 11): N
submits of a task whose job is still queued make one aggregation; none is lost; a worker
failing gold is suspended by the submit itself; the submit keeps the lock order."""
import pytest
from django.core.cache import cache
from django.db import connection
from django.test import TestCase

from config.lock_order import assert_lock_order, recorded_row_locks
from flows import aggregation_queue, results, work
from marketplace.models import Assignment, Item
from qa.enums import QualityActionKind, QualityRule
from qa.models import QualityAction, WorkerProjectStats
from qa.tests.conftest import (
    answers_for,
    claim,
    eligible_worker,
    launched_project,
    run_commit_hooks,
)

pytestmark = pytest.mark.django_db


def submit_capturing(assignment, worker, value):
    """Submit; return the commit hooks without running them (the jobs still queued)."""
    with TestCase.captureOnCommitCallbacks() as callbacks:
        work.submit(assignment_id=assignment.pk, worker=worker,
                    answers=answers_for(assignment, value))
    return callbacks


def drain_jobs_enqueued(monkeypatch) -> list:
    """The drain jobs the submits enqueue, recorded instead of sent."""
    enqueued = []
    monkeypatch.setattr(results.aggregate_pending_job, "apply_async",
                        lambda **options: enqueued.append("drain"))
    return enqueued


def three_workers_submit(project, value) -> None:
    """Three workers each claim and submit; the commits run after all three (the drain
    job still queued)."""
    hooks = []
    for email in ("a@workers.example", "b@workers.example", "c@workers.example"):
        worker = eligible_worker(email)
        hooks += submit_capturing(claim(worker, project), worker, value)
    run_commit_hooks(hooks)


def test_three_submits_of_a_task_while_its_job_waits_make_one_aggregation(
        requester, monkeypatch):
    project = launched_project(requester, tasks=1, items_per_task=1, overlap=3)
    enqueued = drain_jobs_enqueued(monkeypatch)
    three_workers_submit(project, "positive")  # before the worker picks the job up

    assert enqueued == ["drain"]
    assert Item.objects.get(project=project).result is None  # the job has not run yet

    assert results.aggregate_pending_job() == 1  # the worker runs the one job

    assert Item.objects.get(project=project).result == "positive"


def test_tasks_requested_while_the_job_waits_are_aggregated_by_that_one_job(
        requester, monkeypatch):
    project = launched_project(requester, tasks=3, items_per_task=1, overlap=1)
    enqueued = drain_jobs_enqueued(monkeypatch)
    three_workers_submit(project, "negative")

    assert enqueued == ["drain"]
    assert results.aggregate_pending_job() == 3
    assert list(Item.objects.filter(project=project).values_list("result", flat=True)) == [
        "negative"] * 3
    project.refresh_from_db()
    assert project.status == "completed"


def test_a_job_takes_at_most_a_batch_and_queues_the_next(requester, monkeypatch):
    project = launched_project(requester, tasks=3, items_per_task=1, overlap=1)
    monkeypatch.setattr(results, "AGGREGATION_BATCH", 2)
    enqueued = drain_jobs_enqueued(monkeypatch)
    three_workers_submit(project, "negative")

    assert results.aggregate_pending_job() == 2
    assert enqueued == ["drain", "drain"]  # the first job queued a second
    assert Item.objects.filter(project=project, finalized_at__isnull=True).count() == 1
    assert results.aggregate_pending_job() == 1
    assert enqueued == ["drain", "drain"]  # a short batch: nothing more to drain
    assert not Item.objects.filter(project=project, finalized_at__isnull=True).exists()


def test_a_submit_committing_after_the_job_started_requests_another(requester, monkeypatch):
    project = launched_project(requester, tasks=1, items_per_task=1, overlap=2)
    enqueued = drain_jobs_enqueued(monkeypatch)
    first = eligible_worker("a@workers.example")
    run_commit_hooks(submit_capturing(claim(first, project), first, "positive"))
    second = eligible_worker("b@workers.example")
    second_assignment = claim(second, project)

    # The job starts (takes the task) and finds it not ready: a slot is live.
    assert results.aggregate_pending_job() == 0
    run_commit_hooks(submit_capturing(second_assignment, second, "positive"))

    assert enqueued == ["drain", "drain"]  # the late submit was not swallowed
    assert results.aggregate_pending_job() == 1
    assert Item.objects.get(project=project).result == "positive"


def test_a_failed_enqueue_leaves_no_marker_and_the_task_pending(requester, monkeypatch):
    project = launched_project(requester, tasks=1, items_per_task=1, overlap=1)

    def broker_down(**options):
        raise ConnectionError("broker down")

    monkeypatch.setattr(results.aggregate_pending_job, "apply_async", broker_down)
    worker = eligible_worker("a@workers.example")
    hooks = submit_capturing(claim(worker, project), worker, "positive")
    task_id = Assignment.objects.get(project=project).task_id

    with pytest.raises(ConnectionError):
        run_commit_hooks(hooks)

    assert cache.get(aggregation_queue.MARKER_KEY) is None
    # The next request enqueues a job, which finds the task still pending.
    drain_jobs_enqueued(monkeypatch)
    assert results.aggregation_request(task_id=task_id) is True
    assert results.aggregate_pending_job() == 1
    assert Item.objects.get(project=project).result == "positive"


def test_a_worker_failing_gold_is_suspended_by_the_submit_itself(requester):
    gold = [({"text": f"gold {i}"}, "negative") for i in range(3)]
    project = launched_project(requester, tasks=3, items_per_task=1, gold_per_task=1,
                               gold=gold, min_gold_accuracy=0.7,
                               quality={"min_gold_before_suspension": 3})
    worker = eligible_worker("a@workers.example")
    for _ in range(3):
        assignment = claim(worker, project)
        # No commit hook runs: whatever the jobs would do, the submit alone decides.
        submit_capturing(assignment, worker, "positive")

    stats = WorkerProjectStats.objects.get(worker=worker, project=project)
    assert (stats.gold_seen, stats.gold_correct, stats.submitted) == (3, 0, 3)
    assert QualityAction.objects.filter(
        worker=worker, project=project, rule=QualityRule.LOW_ACCURACY,
        kind=QualityActionKind.SUSPENDED, lifted_at__isnull=True).count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="row locks are PostgreSQL's (SQLite serialises whole transactions)")
def test_submit_with_gold_graded_inline_keeps_the_lock_order(requester):
    project = launched_project(requester, tasks=2, items_per_task=1, gold_per_task=1,
                               gold=[({"text": "gold"}, "negative")] * 2,
                               min_gold_accuracy=0.7, quality={"spot_check_rate": 1.0})
    worker = eligible_worker("a@workers.example")
    assignment = claim(worker, project)

    with TestCase.captureOnCommitCallbacks():
        with recorded_row_locks() as locks:
            work.submit(assignment_id=assignment.pk, worker=worker,
                        answers=answers_for(assignment, "positive"))

    assert_lock_order(locks)
    tables = [lock.table for lock in locks]
    assert "qa_workerprojectstats" in tables and "qa_workerskillstats" in tables
    assignment.refresh_from_db()
    assert assignment.graded_at is not None
