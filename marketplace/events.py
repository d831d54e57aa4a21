"""Assignment events: the append-only record of what happened to an assignment.

Nothing reacts to these rows: what follows a decision (grading, payment, webhooks) is
called in order by the use case's flow (the ``flows`` package).
"""
from config.compiled_write import insert

from .models import Assignment, AssignmentEvent

SUBMITTED = "assignment.submitted"
APPROVED = "assignment.approved"
REJECTED = "assignment.rejected"
EXPIRED = "assignment.expired"
RETURNED = "assignment.returned"


def record(kind: str, *, assignment: Assignment, actor=None, **details) -> AssignmentEvent:
    return insert(AssignmentEvent(assignment=assignment, kind=kind, actor=actor,
                                  details=details))
