"""The assignment lifecycle after the claim: heartbeat, submit, return, review, expiry.

Transitions lock the assignment (after its task where the slot count changes or a
decision is taken: config/lock_order.py), check the source status, save with
update_fields and record an event row (marketplace/events.py) in the same transaction.
What follows in other apps (grading, payment, webhooks) is the flows' business. Sweeps
move rows with compare-and-swap, so a sweep racing a worker or another sweep changes each
row once.
"""
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from config.bulk import bulk_update_write
from config.compiled_write import Write, save_fields_write, write_together
from config.errors import Conflict, required_text
from workers.models import WorkerProfile

from .. import events
from ..enums import AssignmentStatus, RejectionReason
from ..locks import (assignment_and_served_for_update, assignment_for_update,
                     task_for_update)
from ..models import Answer, Assignment, Project, Task
from ..submissions import validate_answers
from ..webhooks.enums import WebhookEvent
from ..webhooks.subscriptions import organization_listens_to
from ..webhooks.services import webhook_emit
from .pseudonyms import worker_pseudonym_for
from .rejections import rejection_reason_code_clean
from .results import Graded

SWEEP_BATCH = 500


def _owned_for_update(assignment_id: int, worker: WorkerProfile) -> Assignment:
    try:
        assignment = assignment_for_update(assignment_id=assignment_id)
    except Assignment.DoesNotExist:
        raise Http404
    return _owned(assignment, worker)


def _owned(assignment: Assignment, worker: WorkerProfile) -> Assignment:
    if assignment.worker_id != worker.pk:
        raise Http404  # never confirm that another worker's assignment exists
    return assignment


def _require_live(assignment: Assignment, *, action: str) -> None:
    if assignment.status != AssignmentStatus.ASSIGNED:
        raise Conflict(f"Cannot {action} an assignment that is {assignment.status}.",
                       code=f"assignment_{assignment.status}")


def _elapsed_active_seconds(assignment: Assignment, now) -> int:
    gap = (now - assignment.last_heartbeat_at).total_seconds()
    return int(max(0, min(gap, settings.HEARTBEAT_MAX_GAP_SECONDS)))


def _release(assignment_id: int, *, to: str, kind: str, actor=None) -> bool:
    """Free the slot of a live assignment (expiry or return). False if it was not live."""
    with transaction.atomic():
        task_id = Assignment.objects.values_list("task_id", flat=True).get(pk=assignment_id)
        task_for_update(task_id=task_id)
        moved = Assignment.objects.filter(pk=assignment_id,
                                          status=AssignmentStatus.ASSIGNED).update(status=to)
        if not moved:
            return False
        Task.objects.filter(pk=task_id).update(filled=F("filled") - 1)
        events.record(kind, assignment=Assignment.objects.get(pk=assignment_id), actor=actor)
        return True


def assignment_heartbeat(*, assignment_id: int, worker: WorkerProfile) -> Assignment:
    now = timezone.now()
    with transaction.atomic():
        assignment = _owned_for_update(assignment_id, worker)
        _require_live(assignment, action="record time on")
        expired = assignment.expires_at <= now
        if not expired:
            assignment.active_seconds += _elapsed_active_seconds(assignment, now)
            assignment.last_heartbeat_at = now
            assignment.save(update_fields=["active_seconds", "last_heartbeat_at"])
            return assignment
    _release(assignment.pk, to=AssignmentStatus.EXPIRED, kind=events.EXPIRED)
    raise Conflict("The lease on this assignment expired.", code="assignment_expired")


class LeaseExpired(Conflict):
    """Raised inside a flow's transaction; the flow frees the slot after it rolled back
    (assignment_expire), since freeing it takes the Task lock, which comes first."""


@dataclass(frozen=True)
class Submitted:
    assignment: Assignment
    graded: Graded | None  # None: grading is left to the job (flows.results)
    counted: Write | None = None  # the caller's count_graded write, run with the submit's


def assignment_submit(*, assignment_id: int, worker: WorkerProfile, answers: list,
                      judge_for: Callable[[Project], Callable[[Any, Any], bool] | None]
                      | None = None,
                      map_answers: Callable[[Assignment, list], list] | None = None,
                      count_graded: Callable[[Graded], Write] | None = None,
                      ) -> Submitted:
    """Record a worker's answers (in the caller's transaction); LeaseExpired past the
    lease. ``judge_for(project)`` may give the gold comparator: the gold answers are then
    graded in the same statements that store the values (graded_at set, so the grading
    job and the sweep grade nothing twice); None leaves grading to the job.
    ``map_answers(assignment, answers)`` may rewrite the answers once the locked
    assignment (with its project) is at hand, before they are validated.
    ``count_graded(graded)`` may give a write of the caller's own that counts the grades
    (qa's record of the worker): it runs in the submit's statement, a round trip fewer,
    and comes back as ``Submitted.counted``."""
    now = timezone.now()
    try:
        assignment, served = assignment_and_served_for_update(assignment_id=assignment_id)
    except Assignment.DoesNotExist:
        raise Http404
    _owned(assignment, worker)
    _require_live(assignment, action="submit")
    if assignment.expires_at <= now:
        raise LeaseExpired("The lease on this assignment expired; it was not submitted.",
                           code="assignment_expired")
    if map_answers is not None:
        answers = map_answers(assignment, answers)
    values = validate_answers(project=assignment.project, answers=answers,
                              items={answer.pk: answer.item.data for answer in served})
    judge = judge_for(assignment.project) if judge_for is not None else None
    for answer in served:
        answer.value = values[answer.pk]
        if judge is not None and answer.is_gold:
            answer.is_correct = judge(answer.value, answer.item.gold_answer)
    assignment.active_seconds += _elapsed_active_seconds(assignment, now)
    assignment.last_heartbeat_at = now
    assignment.status = AssignmentStatus.SUBMITTED
    assignment.submitted_at = now
    assignment.auto_approve_at = now + timedelta(
        seconds=assignment.project.auto_approve_seconds)
    fields = ["active_seconds", "last_heartbeat_at", "status", "submitted_at",
              "auto_approve_at"]
    graded = counted = None
    if judge is not None:
        assignment.graded_at = now
        fields.append("graded_at")
        gold = [answer for answer in served if answer.is_gold]
        graded = Graded(assignment=assignment, gold_seen=len(gold),
                        gold_correct=sum(1 for answer in gold if answer.is_correct),
                        items_served=len(served))
        if count_graded is not None:
            counted = count_graded(graded)
    # The answers, the assignment, its event (and the caller's count of the grades): one
    # statement on PostgreSQL.
    write_together(bulk_update_write(Answer, served, ["value", "is_correct"]),
                   save_fields_write(assignment, fields),
                   events.record_write(events.SUBMITTED, assignment=assignment,
                                       actor=worker.user),
                   *([counted] if counted is not None else []))
    return Submitted(assignment=assignment, graded=graded, counted=counted)


def assignment_expire(*, assignment_id: int) -> bool:
    """Free the slot of a lease past its time now rather than at the next sweep."""
    return _release(assignment_id, to=AssignmentStatus.EXPIRED, kind=events.EXPIRED)


def assignment_announce_submitted(*, assignment: Assignment) -> None:
    """``assignment.submitted`` to the organization's webhooks, in the caller's
    transaction (the delivery row is the outbox; the HTTP call happens after commit)."""
    project = assignment.project
    # Most organizations listen to nothing: skip building the payload (and creating a
    # pseudonym row) on the submit hot path then; the answer is cached
    # (webhooks/subscriptions.py), emitting reads the endpoints afresh.
    if not organization_listens_to(organization_id=project.organization_id,
                                   event=WebhookEvent.ASSIGNMENT_SUBMITTED):
        return
    webhook_emit(organization_id=project.organization_id,
                 event=WebhookEvent.ASSIGNMENT_SUBMITTED, payload={
                     "assignment_id": assignment.pk,
                     "project_id": project.pk,
                     "task_id": assignment.task_id,
                     # Requesters never see worker ids, only the per-project pseudonym.
                     "worker_id": worker_pseudonym_for(project=project,
                                                       worker=assignment.worker),
                     "submitted_at": assignment.submitted_at,
                 })


def assignment_return(*, assignment_id: int, worker: WorkerProfile) -> Assignment:
    """Give a live task back (its slot frees at once). The unique (task, worker) row
    stays: a returned task never comes back to this worker."""
    try:
        assignment = Assignment.objects.get(pk=assignment_id)
    except Assignment.DoesNotExist:
        raise Http404
    if assignment.worker_id != worker.pk:
        raise Http404  # never confirm that another worker's assignment exists
    _require_live(assignment, action="return")
    # Task then Assignment (config/lock_order.py): _release locks the task and moves the
    # assignment by compare-and-swap, so a racing submit or sweep changes it once.
    if not _release(assignment.pk, to=AssignmentStatus.RETURNED, kind=events.RETURNED,
                    actor=worker.user):
        raise Conflict("This assignment is no longer live.", code="assignment_not_live")
    assignment.refresh_from_db()
    return assignment


def _decide(assignment_id: int, *, approve: bool, actor: User | None, reason: str,
            automatic: bool = False, from_status: str = AssignmentStatus.SUBMITTED,
            reason_code: str = "") -> Assignment:
    """Lock Task then Assignment (config/lock_order.py), check the source status, decide.
    Joins the caller's transaction: the flow adds what follows (review, payment, slots)."""
    try:
        task_id = Assignment.objects.values_list("task_id", flat=True).get(pk=assignment_id)
    except Assignment.DoesNotExist:
        raise Http404
    task_for_update(task_id=task_id)
    assignment = assignment_for_update(assignment_id=assignment_id)
    if assignment.status != from_status:
        raise Conflict(f"Only {from_status} work can be decided here; this assignment "
                       f"is {assignment.status}.", code=f"assignment_not_{from_status}")
    assignment.status = AssignmentStatus.APPROVED if approve else AssignmentStatus.REJECTED
    assignment.reviewed_at = timezone.now()
    assignment.reviewed_by = actor
    overturned = from_status == AssignmentStatus.REJECTED
    if not overturned:
        # An overturn keeps the rejection's reason on record (the dispute shows it; the
        # assignment views show a reason only while the work stands rejected); the
        # admin's note travels in the event.
        assignment.review_reason = reason
        assignment.review_reason_code = reason_code
    assignment.save(update_fields=["status", "reviewed_at", "reviewed_by", "review_reason",
                                   "review_reason_code"])
    events.record(events.APPROVED if approve else events.REJECTED, assignment=assignment,
                  actor=actor, reason=reason, automatic=automatic, overturned=overturned,
                  **({"reason_code": reason_code} if reason_code else {}))
    return assignment


def assignment_approve(*, assignment_id: int, actor: User | None,
                       automatic: bool = False) -> Assignment:
    return _decide(assignment_id, approve=True, actor=actor, reason="", automatic=automatic)


def assignment_reject(*, assignment_id: int, actor: User, reason: str,
                      reason_code: str = RejectionReason.OTHER) -> Assignment:
    reason = required_text(reason, message="A rejection needs a reason the worker can read.")
    return _decide(assignment_id, approve=False, actor=actor, reason=reason,
                   reason_code=rejection_reason_code_clean(reason_code))


def assignment_overturn(*, assignment_id: int, actor: User, note: str = "") -> Assignment:
    """A dispute upheld the worker: the rejection becomes an approval."""
    return _decide(assignment_id, approve=True, actor=actor, reason=note,
                   from_status=AssignmentStatus.REJECTED)


def assignments_expire_overdue(*, now=None) -> int:
    """Expire leases past their time and free their slots (the beat job, every 30 s)."""
    now = now or timezone.now()
    expired = 0
    while True:
        overdue = list(Assignment.objects.filter(
            status=AssignmentStatus.ASSIGNED, expires_at__lte=now)
            .order_by("expires_at").values_list("pk", flat=True)[:SWEEP_BATCH])
        for assignment_id in overdue:
            expired += _release(assignment_id, to=AssignmentStatus.EXPIRED, kind=events.EXPIRED)
        if len(overdue) < SWEEP_BATCH:
            return expired


def assignments_due_for_auto_approval(*, now=None, after_id: int = 0,
                                     limit: int = SWEEP_BATCH) -> list[int]:
    """Submissions nobody reviewed within the project's auto_approve_seconds, by id."""
    now = now or timezone.now()
    return list(Assignment.objects.filter(
        status=AssignmentStatus.SUBMITTED, auto_approve_at__lte=now, pk__gt=after_id)
        .order_by("pk").values_list("pk", flat=True)[:limit])
