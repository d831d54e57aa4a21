"""Rejections need evidence and have a ceiling (issue 13).

- A rejection names a reason code (RejectionReason). ``gold_failed`` stands only when the
  assignment was graded and missed at least one gold item; those items (and only those:
  the worker saw them, other gold stays hidden) are cited to the worker.
- Work past its auto-approve deadline is the worker's: rejecting it is refused (409), even
  when the sweep has not approved it yet.
- A requester may reject on its own say at most ``rejection_ceiling_percent`` of one
  worker's submissions on a project (rounded up, so one bad submission can always be
  rejected unless the ceiling is 0); past it the flow turns the rejection into a request
  for a spot-check review (flows.decisions.reject).

``assignment_reject_check`` takes the Task and then the Assignment lock, as every
decision does (config/lock_order.py), so the ceiling is counted under the task lock and the
decision that follows finds the same state.
"""
from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from accounts.enums import Role
from config.errors import Conflict, InvalidInput, required_text

from ..enums import AssignmentStatus, RejectionReason
from ..locks import assignment_for_update, task_for_update
from ..models import Answer, Assignment

DECIDED_OR_WAITING = (AssignmentStatus.SUBMITTED, AssignmentStatus.APPROVED,
                      AssignmentStatus.REJECTED)


def rejection_reason_code_clean(reason_code) -> str:
    if reason_code in (None, ""):
        return RejectionReason.OTHER
    if reason_code not in RejectionReason.values:
        raise InvalidInput(
            f"reason_code must be one of {', '.join(RejectionReason.values)}.",
            fields={"reason_code": ["Unknown reason code."]})
    return reason_code


def missed_gold(*, assignment_id: int):
    """The gold answers this assignment got wrong (graded)."""
    return (Answer.objects.filter(assignment_id=assignment_id, is_gold=True, is_correct=False)
            .select_related("item").order_by("position"))


def assignment_lock_submitted(*, assignment_id: int) -> Assignment:
    """Lock Task -> Assignment (the decision order) and check the work still waits for a
    decision: the first step of a rejection, and of a requester asking a reviewer to
    check submitted work. Joins the caller's transaction."""
    try:
        task_id = Assignment.objects.values_list("task_id", flat=True).get(pk=assignment_id)
    except Assignment.DoesNotExist:
        raise Http404
    task_for_update(task_id=task_id)
    assignment = assignment_for_update(assignment_id=assignment_id)
    if assignment.status != AssignmentStatus.SUBMITTED:
        raise Conflict(f"Only submitted work can be decided here; this assignment is "
                       f"{assignment.status}.", code="assignment_not_submitted")
    return assignment


def submitted_assignments_of_item(*, item_id: int) -> list[int]:
    """Undecided (submitted) assignments that labelled the item, oldest first."""
    return list(Answer.objects.filter(item_id=item_id,
                                      assignment__status=AssignmentStatus.SUBMITTED)
                .order_by("assignment_id").values_list("assignment_id", flat=True))


def assignment_reject_check(*, assignment_id: int, reason: str, reason_code: str,
                            now=None) -> Assignment:
    """Lock Task -> Assignment and check that this rejection may stand: submitted work,
    before its auto-approve deadline, with evidence for ``gold_failed``. Joins the caller's
    transaction; raises (nothing written) otherwise."""
    required_text(reason, message="A rejection needs a reason the worker can read.")
    reason_code = rejection_reason_code_clean(reason_code)
    assignment = assignment_lock_submitted(assignment_id=assignment_id)
    now = now or timezone.now()
    if assignment.auto_approve_at is not None and assignment.auto_approve_at <= now:
        raise Conflict("The auto-approve deadline of this work has passed: it is approved "
                       "as submitted and can no longer be rejected.",
                       code="rejection_deadline_passed")
    if reason_code == RejectionReason.GOLD_FAILED:
        if assignment.graded_at is None:
            raise Conflict("This work is not graded yet; reject it as gold_failed once its "
                           "gold items are graded.", code="not_graded_yet",
                           fields={"reason_code": ["Not graded yet."]})
        if not missed_gold(assignment_id=assignment.pk).exists():
            raise InvalidInput("gold_failed needs missed gold: this work answered every gold "
                               "item correctly (or had none). Choose another reason code.",
                               code="gold_not_failed",
                               fields={"reason_code": ["No gold item was missed."]})
    return assignment


def rejection_ceiling_reached(*, assignment: Assignment) -> bool:
    """Would one more own-say rejection of this worker on this project exceed the
    project's ceiling? Own say: rejected by a requester (not by a reviewer's verdict)."""
    project = assignment.project
    counts = Assignment.objects.filter(project=project, worker_id=assignment.worker_id)
    submissions = counts.filter(status__in=DECIDED_OR_WAITING).count()
    own_rejections = counts.filter(Q(status=AssignmentStatus.REJECTED)
                                   & Q(reviewed_by__role=Role.REQUESTER)).count()
    allowed = -(-project.rejection_ceiling_percent * submissions // 100)
    return own_rejections + 1 > allowed
