"""qa's reactions to assignment events (wired in settings.DOMAIN_EVENT_SUBSCRIBERS)."""
from django.db import transaction


def on_assignment_submitted(*, assignment, event) -> None:
    from .tasks import grade_assignment

    assignment_id = assignment.pk
    transaction.on_commit(lambda: grade_assignment.delay(assignment_id))
