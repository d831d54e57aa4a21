"""A worker disputes a rejection; an admin upholds it or overturns it (which approves and
pays through the normal approval event)."""
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from config.errors import Conflict, InvalidInput, required_text
from marketplace.enums import AssignmentStatus
from marketplace.models import Assignment
from marketplace.services import assignment_overturn
from workers.models import WorkerProfile

from ..enums import DisputeOutcome, DisputeStatus
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


def dispute_resolve(*, dispute_id, actor: User, outcome: str, note: str) -> Dispute:
    if outcome not in DisputeOutcome.values:
        raise InvalidInput("outcome is uphold or overturn.",
                           fields={"outcome": ["Must be uphold or overturn."]})
    with transaction.atomic():
        try:
            dispute = Dispute.objects.select_for_update().get(pk=int(dispute_id))
        except (Dispute.DoesNotExist, ValueError, TypeError):
            raise Http404
        if dispute.status != DisputeStatus.OPEN:
            raise Conflict("This dispute is already resolved.", code="dispute_resolved")
        if outcome == DisputeOutcome.OVERTURN:
            assignment_overturn(assignment=dispute.assignment, actor=actor, note=note)
        dispute.status = DisputeStatus.RESOLVED
        dispute.outcome = outcome
        dispute.note = note
        dispute.resolved_by = actor
        dispute.resolved_at = timezone.now()
        dispute.save(update_fields=["status", "outcome", "note", "resolved_by", "resolved_at"])
        return dispute
