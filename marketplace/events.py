"""Assignment events: the append-only record of what happened to an assignment.

Nothing reacts to these rows: what follows a decision (grading, payment, webhooks) is
called in order by the use case's flow (the ``flows`` package).
"""
from config.compiled_write import Write, insert, insert_write

from .models import Assignment, AssignmentEvent

SUBMITTED = "assignment.submitted"
APPROVED = "assignment.approved"
REJECTED = "assignment.rejected"
EXPIRED = "assignment.expired"
RETURNED = "assignment.returned"


def record(kind: str, *, assignment: Assignment, actor=None, **details) -> AssignmentEvent:
    return insert(AssignmentEvent(assignment=assignment, kind=kind, actor=actor,
                                  details=details))


def record_write(kind: str, *, assignment: Assignment, actor=None, **details) -> Write:
    """``record`` as a Write, to go in one statement with the change it records
    (config.compiled_write.write_together)."""
    return insert_write(AssignmentEvent(assignment=assignment, kind=kind, actor=actor,
                                        details=details))
