"""From a submission to results: grade -> aggregate -> finalise -> complete -> refine.

    grade_submission   marketplace records the gold grades once (Assignment, Answer),
                       qa counts them and applies the rules (quality records). The
                       submit does this itself when grading is cheap (flows/work.py);
                       the job and the sweep grade what it left; then
    aggregation_request   after a submit's commit: the task joins a pending set that
                       one drain job at a time empties in batches
                       (flows/aggregation_queue.py), so N submits of a task while the
                       job waits make one aggregation, and M tasks one job; then
    aggregate_tasks    per project, marketplace locks the tasks whose slots are all done
                       (one statement), qa computes each task's consensus (the workers'
                       records read once), marketplace stores and announces the results
                       (item.finalized with its revision, a payload per task), qa
                       counts agreement in the workers' records, payments reserves
                       escrow for one more label of a task whose items are unsure
                       (dynamic overlap); then
    complete_project_if_done   marketplace completes the project, payments releases the
                       unspent escrow, and a categorical project is refined in one
                       project-wide pass (changed results announced with a new revision).

Lock order (config/lock_order.py): Task -> Item -> quality records -> ledger accounts
(then the Task rows held already, for a raised overlap); the project lock of completion
is taken in a transaction of its own. Every job is idempotent: grades once (graded_at),
aggregation only of a ready task, completion by status.
"""
import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from marketplace import selectors as marketplace_selectors
from marketplace import task_types
from marketplace import services as marketplace
from marketplace.enums import ProjectStatus
from marketplace.models import Project
from payments import services as payments
from qa import services as qa
from qa.selectors import quality_settings_memo

from . import aggregation_queue
from . import automation as automation_flow

logger = logging.getLogger(__name__)

# Submissions older than this and still ungraded lost their grading job.
UNGRADED_GRACE = timedelta(minutes=2)
# Tasks one drain job aggregates at most (a transaction per project among them): enough
# to spread its fixed statements thin, few enough to keep the task locks brief.
AGGREGATION_BATCH = 200


def aggregation_request(*, task_id: int) -> bool:
    """Request the aggregation of this task (called after the submit's commit). Requests
    wait in a set that one drain job at a time empties in batches
    (flows/aggregation_queue.py); the job starts AGGREGATION_DELAY_MS after the request
    that enqueued it. N submits while the job waits cost one aggregation of their task,
    and M tasks one job. True when a job was enqueued.

    None is lost: the job takes the tasks *before* it reads them, so a submit whose
    request came after that is requested and taken again. A lost job is recovered by
    the sweep (tasks awaiting aggregation)."""
    if not aggregation_queue.request(task_id):
        return False
    try:
        # Later: the requests of the next moments join the batch this job will take.
        aggregate_pending_job.apply_async(countdown=settings.AGGREGATION_DELAY_MS / 1000)
    except Exception:
        aggregation_queue.enqueue_failed()  # the next submit tries again
        raise
    return True


def grade_submission(*, assignment_id: int) -> int:
    """Grade a submission's gold once and count it in the worker's record. Returns the
    number of gold answers graded (0 when graded before)."""
    with transaction.atomic():
        project = Project.objects.get(assignments__pk=assignment_id)
        graded = marketplace.assignment_record_grades(
            assignment_id=assignment_id, judge=qa.gold_judge(project=project))
        if graded is None:
            return 0
        qa.gold_record(assignment=graded.assignment, gold_seen=graded.gold_seen,
                       gold_correct=graded.gold_correct, items_served=graded.items_served)
        return graded.gold_seen


def aggregate_task(*, task_id: int) -> list[int]:
    """Aggregate a task whose slots are all done. Returns the ids of items finalised."""
    return aggregate_tasks(task_ids=[task_id])


def aggregate_tasks(*, task_ids: list[int]) -> list[int]:
    """Aggregate those of the tasks whose slots are all done, one transaction per
    project: the tasks locked in one statement, the workers' records read once, the
    items, tasks and records written in one statement each. Returns the ids of items
    finalised."""
    finalised: list[int] = []
    for project_id, ids in marketplace.tasks_by_project(task_ids=task_ids).items():
        finalised += _aggregate_project_tasks(project_id, ids)
    return finalised


def _aggregate_project_tasks(project_id: int, task_ids: list[int]) -> list[int]:
    funds_short = False
    # The memo: the agreement record's readers of the quality settings share one read.
    with transaction.atomic(), quality_settings_memo():
        works = marketplace.tasks_lock_for_aggregation(project_id=project_id,
                                                       task_ids=task_ids)
        if not works:
            return []
        project = works[0].project
        consensus = qa.tasks_consensus(project=project, works=works)
        final = {pk: result for work in works
                 for pk, result in consensus[work.task.pk].final.items()}
        marketplace.tasks_record_results(
            project=project, results=final,
            pending={work.task.pk: work.pending for work in works})
        qa.agreement_record(
            project=project,
            answers=[answer for work in works for answer in work.answers
                     if answer.item_id in final],
            results={pk: consensus[work.task.pk].results[pk] for work in works
                     for pk in consensus[work.task.pk].final})
        # Last: ledger accounts come after the quality records in the lock order; the
        # tasks are ours already. The unsure items stay pending either way.
        for work in works:
            if not consensus[work.task.pk].wants_more:
                continue
            if payments.escrow_reserve_more(
                    project=project,
                    amount_cents=payments.assignment_cost_cents(project=project)):
                # One more label for the whole task; confident items finalised above.
                marketplace.task_raise_overlap(task=work.task)
            else:
                # No money for another label: the unsure items wait, and the project
                # stops routing until the requester tops up and resumes it.
                funds_short = True
    if funds_short:
        with transaction.atomic():
            marketplace.project_pause_for_funds(project=project)
    if final:
        # The gate may send auto-accepted items back before the project could complete.
        automation_flow.after_results(project=project)
        complete_project_if_done(project_id=project.pk)
    return list(final)


def _aggregate_in_batches(task_ids: list[int]) -> int:
    """Aggregate the tasks AGGREGATION_BATCH at a time; the number of items finalised."""
    return sum(len(aggregate_tasks(task_ids=task_ids[start:start + AGGREGATION_BATCH]))
               for start in range(0, len(task_ids), AGGREGATION_BATCH))


def revise_task_results(*, task_id: int) -> int:
    """A late decision changed which labels count on a task whose items were final:
    recompute them now, announce what changed. Returns the number changed."""
    with transaction.atomic():
        work = marketplace.task_lock_finalized(task_id=task_id)
        results = qa.items_results(project=work.project, items=work.pending,
                                   answers=work.answers)
        # An item whose every label was rejected has no result any more.
        results.update({item.pk: (None, None) for item in work.pending
                        if item.pk not in results})
        return len(marketplace.items_record_results(project=work.project, task=None,
                                                    results=results, items=work.pending))


def complete_project_if_done(*, project_id: int) -> bool:
    """Complete an active project once every (non-gold) item is final, release its
    unspent escrow and refine categorical results. A paused project is left alone
    (paused -> completed is no transition); resuming completes it."""
    if marketplace.project_items_unfinished(project_id=project_id):
        return False
    with transaction.atomic():
        project = marketplace.project_complete_if_active(project_id=project_id)
        if project is None:
            return False
        payments.escrow_release_unspent(project=project)
        if task_types.is_categorical(project.task_type):
            transaction.on_commit(lambda: refine_project_results.delay(project_id),
                                  robust=True)
    return True


def refine_project(*, project_id: int) -> int:
    """One project-wide Dawid–Skene pass over a completed categorical project; results
    that change are announced again with a new revision."""
    project = Project.objects.get(pk=project_id)
    if project.status != ProjectStatus.COMPLETED:
        return 0
    labels = marketplace.project_labels(project_id=project_id)
    results = qa.project_refined_results(project=project, labels=labels)
    if not results:
        return 0
    with transaction.atomic():
        return marketplace.project_items_revise(project=project, results=results)


def reaggregate_project(*, project_id: int) -> int:
    """Aggregate tasks left waiting (a lost job, a project resumed after funds ran out),
    then complete the project if that finished it."""
    finalised = _aggregate_in_batches(
        marketplace_selectors.tasks_awaiting_aggregation(project_id=project_id))
    complete_project_if_done(project_id=project_id)
    return finalised


def sweep() -> int:
    """Recover grading and aggregation whose job was lost (broker down at enqueue, worker
    killed). Each step is idempotent, so overlapping with a live job is harmless."""
    stale = marketplace_selectors.assignments_ungraded(
        submitted_before=timezone.now() - UNGRADED_GRACE)
    for assignment_id in stale:
        grade_submission(assignment_id=assignment_id)
    _aggregate_in_batches(sorted({
        marketplace_selectors.assignment_task_id(assignment_id=assignment_id)
        for assignment_id in stale}))
    _aggregate_in_batches(marketplace_selectors.tasks_awaiting_aggregation(
        project_status=ProjectStatus.ACTIVE, limit=1000))
    return len(stale)


# --- Celery jobs: ids in, one flow each -------------------------------------------------------

@shared_task(acks_late=True)
def grade_and_aggregate(assignment_id: int) -> int:
    graded = grade_submission(assignment_id=assignment_id)
    aggregate_task(task_id=marketplace_selectors.assignment_task_id(
        assignment_id=assignment_id))
    return graded


@shared_task(acks_late=True)
def aggregate_pending_job() -> int:
    # Takes the tasks (and drops the marker) before reading them: a submit committing
    # from here on is requested again (flows/aggregation_queue.py).
    task_ids = aggregation_queue.take(AGGREGATION_BATCH)
    if len(task_ids) == AGGREGATION_BATCH and aggregation_queue.claim_drain():
        # More may wait than one batch: the next job is queued now, so that another
        # worker process can take it while this one aggregates.
        try:
            aggregate_pending_job.apply_async()
        except Exception:
            # The rest stays pending: the next submit's request enqueues the job.
            aggregation_queue.enqueue_failed()
            logger.exception("Could not enqueue the next aggregation drain")
    return len(aggregate_tasks(task_ids=task_ids))


@shared_task(acks_late=True)
def aggregate_task_job(task_id: int) -> int:
    # Jobs of one task each, queued before the drain job existed, still run.
    return len(aggregate_task(task_id=task_id))


@shared_task(acks_late=True)
def reaggregate_project_job(project_id: int) -> int:
    return reaggregate_project(project_id=project_id)


@shared_task(acks_late=True)
def refine_project_results(project_id: int) -> int:
    return refine_project(project_id=project_id)


@shared_task(acks_late=True)
def revise_task_results_job(task_id: int) -> int:
    return revise_task_results(task_id=task_id)


@shared_task(acks_late=True)
def sweep_ungraded() -> int:
    return sweep()
