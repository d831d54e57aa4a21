"""qa's reactions to assignment events (wired in settings.DOMAIN_EVENT_SUBSCRIBERS); they
run inside the transaction that made the decision."""
from django.db import transaction

from .services.grading import assignment_returned_record
from .services.reviews import review_close_if_decided, review_maybe_request


def on_assignment_submitted(*, assignment, event) -> None:
    from .tasks import grade_assignment

    review_maybe_request(assignment=assignment)
    assignment_id = assignment.pk
    # robust: the submission is committed whatever happens to the job; a lost or failed
    # grading is picked up by the qa sweep (qa.tasks.sweep_ungraded).
    transaction.on_commit(lambda: grade_assignment.delay(assignment_id), robust=True)


def on_assignment_returned(*, assignment, event) -> None:
    assignment_returned_record(worker_id=assignment.worker_id, project_id=assignment.project_id)


def on_assignment_decided(*, assignment, event) -> None:
    review_close_if_decided(assignment=assignment)
