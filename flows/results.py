"""From a submission to results: grade -> aggregate -> finalise -> complete -> refine.

    grade_submission   marketplace records the gold grades once (Assignment, Answer),
                       qa counts them and applies the rules (quality records). The
                       submit does this itself when grading is cheap (flows/work.py);
                       the job and the sweep grade what it left; then
    aggregation_request   after a submit's commit: one aggregation job per task at a
                       time (a marker in the cache), so N submits of a task while its job
                       waits in the queue make one aggregation, not N; then
    aggregate_task     marketplace locks the task when every slot is done, qa computes
                       the consensus, payments reserves escrow for one more label when
                       items are unsure (dynamic overlap), marketplace stores and
                       announces the results (item.finalized with its revision); then
    complete_project_if_done   marketplace completes the project, payments releases the
                       unspent escrow, and a categorical project is refined in one
                       project-wide pass (changed results announced with a new revision).

Lock order (config/lock_order.py): Task -> Item -> Assignment -> Answer -> quality
records -> ledger accounts; the project lock of completion is taken in a transaction of
its own. Every job is idempotent: grades once (graded_at), aggregation only of a ready
task, completion by status.
"""
from datetime import timedelta

from celery import shared_task
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from marketplace import selectors as marketplace_selectors
from marketplace import task_types
from marketplace import services as marketplace
from marketplace.enums import ProjectStatus
from marketplace.models import Project
from payments import services as payments
from qa import services as qa

from . import automation as automation_flow

# Submissions older than this and still ungraded lost their grading job.
UNGRADED_GRACE = timedelta(minutes=2)
# How long an aggregation marker may stand without its job starting (a process killed
# between the marker and the enqueue): until then the task's submits enqueue nothing new
# and the sweep's tasks_awaiting_aggregation is what recovers the task.
AGGREGATION_MARKER_SECONDS = 60


def _aggregation_marker(task_id: int) -> str:
    return f"aggregation:queued:{task_id}"


def aggregation_request(*, task_id: int) -> bool:
    """Enqueue one aggregation of this task unless one is queued and not yet started
    (called after the submit's commit). True when a job was enqueued.

    No submission is left out: the job drops the marker *before* it reads the task, so a
    submit that found the marker committed before the job's read (the marker is set after
    commit), and a submit that commits after the read finds no marker and enqueues again.
    A lost job is recovered by the sweep (tasks awaiting aggregation)."""
    marker = _aggregation_marker(task_id)
    if not cache.add(marker, 1, timeout=AGGREGATION_MARKER_SECONDS):
        return False
    try:
        aggregate_task_job.delay(task_id)
    except Exception:
        cache.delete(marker)  # the next submit of the task tries again
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
    funds_short = False
    with transaction.atomic():
        work = marketplace.task_lock_for_aggregation(task_id=task_id)
        if work is None:
            return []
        consensus = qa.task_consensus(project=work.project, task=work.task,
                                      pending=work.pending, answers=work.answers)
        if consensus.wants_more:
            if payments.escrow_reserve_more(
                    project=work.project,
                    amount_cents=payments.assignment_cost_cents(project=work.project)):
                # One more label for the whole task; confident items finalise now.
                marketplace.task_raise_overlap(task=work.task)
            else:
                # No money for another label: the unsure items wait, and the project
                # stops routing until the requester tops up and resumes it.
                funds_short = True
        marketplace.items_record_results(project=work.project, task=work.task,
                                         results=consensus.final, items=work.pending)
        qa.agreement_record(project=work.project,
                            answers=[a for a in work.answers if a.item_id in consensus.final],
                            results={pk: consensus.results[pk] for pk in consensus.final})
    if funds_short:
        with transaction.atomic():
            marketplace.project_pause_for_funds(project=work.project)
    if consensus.final:
        # The gate may send auto-accepted items back before the project could complete.
        automation_flow.after_results(project_id=work.project.pk)
        complete_project_if_done(project_id=work.project.pk)
    return list(consensus.final)


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
    finalised = 0
    for task_id in marketplace_selectors.tasks_awaiting_aggregation(project_id=project_id):
        finalised += len(aggregate_task(task_id=task_id))
    complete_project_if_done(project_id=project_id)
    return finalised


def sweep() -> int:
    """Recover grading and aggregation whose job was lost (broker down at enqueue, worker
    killed). Each step is idempotent, so overlapping with a live job is harmless."""
    stale = marketplace_selectors.assignments_ungraded(
        submitted_before=timezone.now() - UNGRADED_GRACE)
    for assignment_id in stale:
        grade_submission(assignment_id=assignment_id)
        aggregate_task(task_id=marketplace_selectors.assignment_task_id(
            assignment_id=assignment_id))
    for task_id in marketplace_selectors.tasks_awaiting_aggregation(
            project_status=ProjectStatus.ACTIVE, limit=1000):
        aggregate_task(task_id=task_id)
    return len(stale)


# --- Celery jobs: ids in, one flow each -------------------------------------------------------

@shared_task(acks_late=True)
def grade_and_aggregate(assignment_id: int) -> int:
    graded = grade_submission(assignment_id=assignment_id)
    aggregate_task(task_id=marketplace_selectors.assignment_task_id(
        assignment_id=assignment_id))
    return graded


@shared_task(acks_late=True)
def aggregate_task_job(task_id: int) -> int:
    # Drop the marker first: a submit committing from here on requests a job of its own
    # (aggregation_request); one that committed before is read below.
    cache.delete(_aggregation_marker(task_id))
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
