"""Deciding submitted work: approve, reject, a reviewer's verdict, a dispute's outcome, the
auto-approval sweep.

Every decision runs in one transaction, locking in the system order
(config/lock_order.py): Task -> Assignment (marketplace decides) -> Review or Dispute
(qa concludes) -> ledger accounts (payments pays). Two decisions on one assignment
therefore queue on its task; the second finds the work decided and gets 409.

A rejection always buys a replacement label (one more slot, escrow reserved as for
dynamic overlap). When it lands on a task whose items were already final, the task opens
again; when the project no longer routes work, the results are revised from the labels
that remain. An overturn brings a label back: final results are revised at once.
Revised results are announced again with a growing revision (flows/results.py).

Fair work (issue 13): every approval path pays through ``_pay``, which adds the fair-pay
adjustment when the project's measured effective hourly is under the floor (announced
once with ``project.pay_adjusted``; escrow it could not refill pauses the project). A
requester's rejection must stand on its evidence and its deadline, and past the
project's rejection ceiling it becomes a spot-check request (marketplace
services/rejections.py).
"""
from celery import shared_task
from django.db import transaction

from accounts.models import User
from config.errors import Conflict, PaymentRequired
from marketplace import services as marketplace
from marketplace.enums import RejectionReason, TaskStatus
from marketplace.models import Assignment, Project, Task
from marketplace.webhooks.enums import WebhookEvent
from marketplace.webhooks.services import webhook_emit
from payments import services as payments
from qa import services as qa
from qa.enums import DisputeOutcome, Verdict
from qa.selectors import review_request_reason_code
from workers.models import WorkerProfile

from .results import revise_task_results_job

SWEEP_BATCH = 500


def approve(*, assignment_id: int, actor: User | None, automatic: bool = False
            ) -> Assignment:
    """Approve submitted work and pay it, once (requester, reviewer, auto-approval)."""
    with transaction.atomic():
        assignment = marketplace.assignment_approve(assignment_id=assignment_id,
                                                    actor=actor, automatic=automatic)
        qa.review_close_if_decided(assignment_id=assignment.pk)
        _pay(assignment, actor=actor)
        return assignment


def reject(*, assignment_id: int, actor: User, reason: str,
           reason_code: str = RejectionReason.OTHER) -> Assignment:
    """Reject submitted work, or - past the project's rejection ceiling for this worker -
    ask a vetted reviewer to decide: then the work comes back still submitted, with a
    review requested."""
    with transaction.atomic():
        assignment = marketplace.assignment_reject_check(
            assignment_id=assignment_id, reason=reason, reason_code=reason_code)
        if actor.is_requester and marketplace.rejection_ceiling_reached(assignment=assignment):
            qa.review_request(assignment=assignment, requested_by=actor,
                              reason=reason.strip(), reason_code=reason_code or "other")
            return assignment
        assignment = marketplace.assignment_reject(assignment_id=assignment_id,
                                                   actor=actor, reason=reason,
                                                   reason_code=reason_code)
        reopened = marketplace.task_reopen_for_replacement(task_id=assignment.task_id)
        qa.review_close_if_decided(assignment_id=assignment.pk)
        _pay_for_replacement(assignment, reopened)
        return assignment


def review_verdict(*, review_id: int, reviewer: WorkerProfile, verdict: str,
                   reason: str = ""):
    """A spot-check reviewer approves or rejects; the verdict counts in the record."""
    assignment_id = qa.review_verdict_check(review_id=review_id, reviewer=reviewer,
                                            verdict=verdict, reason=reason)
    with transaction.atomic():
        if verdict == Verdict.APPROVE:
            assignment = marketplace.assignment_approve(assignment_id=assignment_id,
                                                        actor=reviewer.user)
        else:
            # A review a requester asked for rejects with the requester's reason code.
            assignment = marketplace.assignment_reject(
                assignment_id=assignment_id, actor=reviewer.user, reason=reason,
                reason_code=review_request_reason_code(review_id=review_id)
                or RejectionReason.OTHER)
            reopened = marketplace.task_reopen_for_replacement(task_id=assignment.task_id)
        review = qa.review_conclude(review_id=review_id, reviewer=reviewer,
                                    verdict=verdict, reason=reason)
        if verdict == Verdict.APPROVE:
            _pay(assignment, actor=reviewer.user)
        else:
            _pay_for_replacement(assignment, reopened)
        return review


def request_item_review(*, item_id: int, actor: User, reason: str) -> int:
    """A requester doubts an item's labels (the console's lowest-confidence list): every
    submitted, still undecided assignment that labelled it goes to a vetted reviewer,
    whose verdict decides it (review_verdict). Task -> Assignment -> Review, as every
    decision. Returns the number of reviews requested (work already under review is
    left where it is)."""
    requested = 0
    with transaction.atomic():
        for assignment_id in marketplace.submitted_assignments_of_item(item_id=item_id):
            assignment = marketplace.assignment_lock_submitted(assignment_id=assignment_id)
            try:
                with transaction.atomic():
                    qa.review_request(assignment=assignment, requested_by=actor,
                                      reason=reason, reason_code=RejectionReason.OTHER)
            except Conflict:
                continue
            requested += 1
    return requested


def dispute_resolve(*, dispute_id, actor: User, outcome: str, note: str):
    """Uphold a rejection, or overturn it: the work is approved and paid, and results
    that were final are revised with the label back."""
    dispute = qa.dispute_resolve_check(dispute_id=dispute_id, outcome=outcome)
    with transaction.atomic():
        if outcome != DisputeOutcome.OVERTURN:
            return qa.dispute_conclude(dispute_id=dispute.pk, actor=actor, outcome=outcome,
                                       note=note)
        assignment = marketplace.assignment_overturn(assignment_id=dispute.assignment_id,
                                                     actor=actor, note=note)
        dispute = qa.dispute_conclude(dispute_id=dispute.pk, actor=actor, outcome=outcome,
                                      note=note)
        _pay_overturned(assignment, actor=actor)
        return dispute


def overturn(*, assignment_id: int, actor: User, note: str = "") -> Assignment:
    """A rejection found wrong outside a dispute (staff): approve and pay it."""
    with transaction.atomic():
        assignment = marketplace.assignment_overturn(assignment_id=assignment_id,
                                                     actor=actor, note=note)
        _pay_overturned(assignment, actor=actor)
        return assignment


def _pay(assignment: Assignment, *, actor: User | None) -> None:
    """Pay an approval once, plus the fair-pay adjustment when the project pays under the
    floor per measured hour (payments/services/fair_pay.py)."""
    earning = payments.approval_pay(assignment=assignment, actor=actor)
    adjustment = payments.fair_pay_adjust(assignment=assignment, approval_earning=earning,
                                          actor=actor)
    if adjustment is None:
        return
    project = assignment.project
    if adjustment.first_for_project:
        webhook_emit(organization_id=project.organization_id,
                     event=WebhookEvent.PROJECT_PAY_ADJUSTED, payload={
                         "project_id": project.pk,
                         "measured_hourly_cents": adjustment.measured_hourly_cents,
                         "min_effective_hourly_cents": adjustment.floor_cents,
                         "reward_cents": project.reward_cents,
                         "suggested_reward_cents": adjustment.suggested_reward_cents,
                     })
    if not adjustment.escrow_refilled:
        project_id = project.pk
        transaction.on_commit(lambda: pause_for_fair_pay_funds.delay(project_id),
                              robust=True)


def _pay_overturned(assignment: Assignment, *, actor: User) -> None:
    _pay(assignment, actor=actor)
    if Task.objects.filter(pk=assignment.task_id, status=TaskStatus.COMPLETE).exists():
        # The label is back: results that were final are revised with it.
        task_id = assignment.task_id
        transaction.on_commit(lambda: revise_task_results_job.delay(task_id), robust=True)


def _pay_for_replacement(assignment: Assignment, reopened: bool) -> None:
    """A rejected label is replaced by one more slot (the rejected one keeps its slot, so
    an overturn can bring it back without exceeding overlap), reserved in escrow; funds
    short -> the project pauses with a reason after commit, as for dynamic overlap. When
    the project routes no more work, the results are revised from what remains."""
    project = assignment.project
    if not reopened:
        task_id = assignment.task_id
        transaction.on_commit(lambda: revise_task_results_job.delay(task_id), robust=True)
        return
    if not payments.escrow_reserve_more(
            project=project, amount_cents=payments.assignment_cost_cents(project=project)):
        transaction.on_commit(lambda: pause_for_funds.delay(project.pk), robust=True)


def auto_approve_due(*, now=None) -> int:
    """Approve submissions nobody reviewed within the project's auto_approve_seconds."""
    approved = 0
    after_id = 0
    while True:
        # Walk by id: a submission that cannot be approved now (reviewed meanwhile, or
        # payment refused for want of funds) must not be picked up again in this sweep.
        due = marketplace.assignments_due_for_auto_approval(now=now, after_id=after_id,
                                                            limit=SWEEP_BATCH)
        for assignment_id in due:
            try:
                approve(assignment_id=assignment_id, actor=None, automatic=True)
                approved += 1
            except (Conflict, PaymentRequired):
                pass  # reviewed by a person meanwhile, or unpayable until a top-up
        if len(due) < SWEEP_BATCH:
            return approved
        after_id = due[-1]


# --- Celery jobs -----------------------------------------------------------------------------

@shared_task(acks_late=True)
def auto_approve_submissions() -> int:
    return auto_approve_due()


@shared_task(acks_late=True)
def pause_for_fair_pay_funds(project_id: int) -> None:
    with transaction.atomic():
        marketplace.project_pause_for_funds(
            project=Project.objects.get(pk=project_id),
            reason="Paused: fair-pay adjustments (the reward pays under the minimum per "
                   "measured hour) used escrow the remaining work needs. Top up or raise "
                   "the reward, then resume.")


@shared_task(acks_late=True)
def pause_for_funds(project_id: int) -> None:
    with transaction.atomic():
        marketplace.project_pause_for_funds(project=Project.objects.get(pk=project_id))
