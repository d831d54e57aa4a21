"""Celery jobs of qa: ids in, one service call each, idempotent."""
from celery import shared_task

from datetime import timedelta

from django.utils import timezone

from .services import (
    assignment_grade,
    project_reaggregate,
    project_refine_results,
    task_aggregate,
    tasks_awaiting_aggregation,
)

# Submissions older than this and still ungraded lost their grading job.
UNGRADED_GRACE = timedelta(minutes=2)


@shared_task(acks_late=True)
def grade_assignment(assignment_id: int) -> int:
    graded = assignment_grade(assignment_id=assignment_id)
    aggregate_task_of_assignment.delay(assignment_id)
    return graded


@shared_task(acks_late=True)
def aggregate_task_of_assignment(assignment_id: int) -> int:
    from marketplace.models import Assignment

    task_id = Assignment.objects.values_list("task_id", flat=True).get(pk=assignment_id)
    return len(task_aggregate(task_id=task_id))


@shared_task(acks_late=True)
def reaggregate_project(project_id: int) -> int:
    """Aggregate tasks left waiting (a lost job, a project resumed after funds ran out)."""
    return project_reaggregate(project_id=project_id)


@shared_task(acks_late=True)
def refine_project_results(project_id: int) -> int:
    return project_refine_results(project_id=project_id)


@shared_task(acks_late=True)
def sweep_ungraded() -> int:
    """Recover grading (and hence aggregation) whose job was lost: broker down at enqueue,
    worker killed. Each step is idempotent, so overlapping with a live job is harmless."""
    from marketplace.models import Assignment

    stale = list(Assignment.objects.filter(
        graded_at__isnull=True, submitted_at__lt=timezone.now() - UNGRADED_GRACE,
    ).values_list("pk", flat=True)[:1000])
    for assignment_id in stale:
        assignment_grade(assignment_id=assignment_id)
        aggregate_task_of_assignment(assignment_id)
    # Aggregations lost on their own (graded, but the follow-up job died).
    for task_id in tasks_awaiting_aggregation(project_status="active", limit=1000):
        task_aggregate(task_id=task_id)
    return len(stale)
