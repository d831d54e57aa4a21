"""A worker disputes a rejection; an admin upholds it or overturns it. An overturn is a
flow (flows.decisions.dispute_resolve): the assignment is approved and paid, then the
dispute concluded here (Task -> Assignment -> Dispute, config/lock_order.py)."""
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from config.errors import Conflict, InvalidInput, required_text
from marketplace.enums import AssignmentStatus
from marketplace.models import Assignment
from workers.models import WorkerProfile

from ..enums import DisputeOutcome, DisputeStatus
from ..locks import dispute_for_update
from ..models import Dispute


def dispute_open(*, worker: WorkerProfile, assignment_id, message: str) -> Dispute:
    message = required_text(message, field="message",
                            message="Say why the rejection is wrong.")
    try:
        assignment = Assignment.objects.get(pk=int(assignment_id), worker=worker)
    except (Assignment.DoesNotExist, ValueError, TypeError):
        # One answer for "does not exist" and "someone else's": existence is not revealed.
        raise InvalidInput("Unknown assignment: you have no assignment with this id.",
                           fields={"assignment_id": ["You have no assignment with this id."]})
    if assignment.status != AssignmentStatus.REJECTED:
        raise Conflict("Only rejected work can be disputed.", code="not_rejected")
    try:
        with transaction.atomic():
            return Dispute.objects.create(assignment=assignment, worker=worker, message=message)
    except IntegrityError:
        raise Conflict("This assignment is already disputed.", code="already_disputed")


def dispute_resolve_check(*, dispute_id, outcome: str) -> Dispute:
    """Validate a resolution before anything is locked; the dispute (unlocked) or 404."""
    if outcome not in DisputeOutcome.values:
        raise InvalidInput("outcome is uphold or overturn.",
                           fields={"outcome": ["Must be uphold or overturn."]})
    try:
        dispute = Dispute.objects.get(pk=int(dispute_id))
    except (Dispute.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404
    if dispute.status != DisputeStatus.OPEN:
        raise Conflict("This dispute is already resolved.", code="dispute_resolved")
    return dispute


def dispute_conclude(*, dispute_id: int, actor: User, outcome: str, note: str) -> Dispute:
    """Close an open dispute (inside the flow's transaction; an overturn's approval was
    just taken under the assignment lock). 409 when it was resolved meanwhile."""
    dispute = dispute_for_update(dispute_id=dispute_id)
    if dispute.status != DisputeStatus.OPEN:
        raise Conflict("This dispute is already resolved.", code="dispute_resolved")
    dispute.status = DisputeStatus.RESOLVED
    dispute.outcome = outcome
    dispute.note = note
    dispute.resolved_by = actor
    dispute.resolved_at = timezone.now()
    dispute.save(update_fields=["status", "outcome", "note", "resolved_by", "resolved_at"])
    return dispute
