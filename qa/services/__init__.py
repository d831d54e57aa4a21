"""Quality write actions: grading, rules, consensus (aggregation and dynamic overlap),
spot-check reviews and disputes."""
from .consensus import (
    project_complete_if_done,
    project_refine_results,
    task_aggregate,
    tasks_awaiting_aggregation,
)
from .disputes import dispute_open, dispute_resolve
from .grading import assignment_grade, assignment_returned_record
from .reviews import review_claim, review_decide, reviewer_grant
from .rules import suspension_lift


def project_reaggregate(*, project_id: int) -> int:
    finalised = 0
    for task_id in tasks_awaiting_aggregation(project_id=project_id):
        finalised += len(task_aggregate(task_id=task_id))
    # Resuming runs this: a project whose last items finalised while it was paused
    # completes now (project_complete_if_done leaves paused projects alone).
    project_complete_if_done(project_id=project_id)
    return finalised


__all__ = [
    "assignment_grade", "assignment_returned_record", "dispute_open", "dispute_resolve",
    "project_complete_if_done", "project_reaggregate", "project_refine_results", "review_claim", "review_decide",
    "reviewer_grant", "suspension_lift", "task_aggregate", "tasks_awaiting_aggregation",
]
