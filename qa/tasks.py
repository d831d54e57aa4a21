from celery import shared_task

from .services import assignment_grade


@shared_task(acks_late=True)
def grade_assignment(assignment_id: int) -> int:
    return assignment_grade(assignment_id=assignment_id)
