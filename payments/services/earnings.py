"""Earnings: approved work and bonuses credit a worker's pending balance; after the hold
period the hold-release job makes them available for payout.

Exactly once per assignment: the approval payment runs inside the marketplace's review
transaction (subscriber of "assignment.approved"), which holds the assignment row lock
and moves the status submitted -> approved (or rejected -> approved for an overturned
dispute) once; behind that, the earning's unique assignment column and the journal key
``approval:<assignment id>`` refuse a second payment.
"""
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from config.errors import InvalidInput, PaymentRequired, required_text
from marketplace.enums import PayModel
from marketplace.models import Assignment, Project
from marketplace.selectors import worker_by_pseudonym

from .. import ledger
from ..enums import EarningKind, JournalKind
from ..errors import ApprovalUnfunded
from ..models import Bonus, Earning
from .escrow import hourly_pay_cents

MAX_BONUS_CENTS = 1_000_000


def assignment_pay(*, assignment: Assignment, project: Project) -> tuple[int, int | None]:
    """(cents owed to the worker, seconds paid or None). Hourly work is paid for measured
    active seconds, capped at the project's max_seconds_per_assignment."""
    if project.pay_model == PayModel.HOURLY:
        seconds = assignment.active_seconds
        if project.max_seconds_per_assignment is not None:
            seconds = min(seconds, project.max_seconds_per_assignment)
        return hourly_pay_cents(seconds=seconds,
                                hourly_rate_cents=project.hourly_rate_cents or 0), seconds
    reward = assignment.reward_cents if assignment.reward_cents is not None \
        else project.reward_cents
    return reward or 0, None


def _hold_ends(now):
    return now + timedelta(seconds=settings.EARNINGS_HOLD_SECONDS)


def approval_pay(*, assignment: Assignment, actor: User | None = None) -> Earning | None:
    """Move an approved assignment's pay from escrow to the worker's pending balance and
    the fee to platform fees. Runs inside the approving transaction; idempotent.

    Escrow normally covers it (launch reserved every slot). When it cannot - items added
    after launch, an overturned rejection whose slot was already refilled - the shortfall
    comes from the organization's available balance; when that cannot either, the
    approval is refused (ApprovalUnfunded, 402) and rolls back: nobody is paid from money
    that is not there.
    """
    if Earning.objects.filter(assignment_id=assignment.pk).exists():
        return None  # paid already: a replayed event or a second approval path
    project = assignment.project
    pay, seconds = assignment_pay(assignment=assignment, project=project)
    fee = ledger.platform_fee_cents(pay)
    cost = pay + fee
    if cost == 0:
        return None
    journal, _from_escrow = pay_worker_from_escrow(
        assignment=assignment, amount_cents=pay, fee_cents=fee,
        key=f"approval:{assignment.pk}", kind=JournalKind.APPROVAL,
        memo=f"Assignment {assignment.pk} approved", actor=actor,
        unfunded=lambda from_escrow, available_cents: (
            f"Approving needs {cost} cents; the project's escrow holds {from_escrow} and "
            f"the organization has {available_cents} available. Top up, then approve "
            "again."))
    now = timezone.now()
    return Earning.objects.create(
        worker_id=assignment.worker_id, organization_id=project.organization_id,
        project=project, assignment=assignment,
        kind=EarningKind.HOURLY if seconds is not None else EarningKind.TASK,
        amount_cents=pay, fee_cents=fee, active_seconds=seconds,
        hourly_rate_cents=project.hourly_rate_cents if seconds is not None else None,
        available_at=_hold_ends(now), journal=journal)


def pay_worker_from_escrow(*, assignment: Assignment, amount_cents: int, fee_cents: int,
                           key: str, kind: str, memo: str, actor: User | None,
                           unfunded) -> tuple:
    """Move ``amount_cents`` (plus the platform fee) to the worker's pending balance, from
    the project's escrow first and, past what escrow holds, from the organization's
    available balance; when that cannot cover it either, ApprovalUnfunded (402) with
    ``unfunded(from_escrow, available_cents)`` as its message. Returns (journal, the part
    taken from escrow)."""
    project = assignment.project
    cost = amount_cents + fee_cents
    escrow = ledger.project_escrow(project)
    available = ledger.organization_available(project.organization_id)
    pending = ledger.worker_pending(assignment.worker_id)
    locked = ledger.lock_accounts([escrow, available, pending, ledger.PLATFORM_FEES])
    from_escrow = min(cost, locked[escrow.key].balance_cents)
    from_available = cost - from_escrow
    if from_available > locked[available.key].balance_cents:
        raise ApprovalUnfunded(unfunded(from_escrow, locked[available.key].balance_cents))
    journal = ledger.post_journal(
        key=key, kind=kind,
        lines=[(escrow, -from_escrow), (available, -from_available), (pending, amount_cents),
               (ledger.PLATFORM_FEES, fee_cents)],
        memo=memo, actor=actor, organization_id=project.organization_id, project=project,
        worker_id=assignment.worker_id, assignment=assignment, locked=locked)
    return journal, from_escrow


def bonus_grant(*, project: Project, actor: User, pseudonym: str, amount_cents: int,
                reason: str) -> Bonus:
    """A requester tips a worker it knows by a project pseudonym, from the organization's
    available balance (the platform fee on top); the bonus sits in pending like any
    earning. 402 when the balance cannot cover it."""
    reason = required_text(reason, message="A bonus needs a reason the worker can read.")
    if not 0 < amount_cents <= MAX_BONUS_CENTS:
        raise InvalidInput(f"amount_cents must be between 1 and {MAX_BONUS_CENTS}.",
                           fields={"amount_cents": ["Out of range."]})
    worker = worker_by_pseudonym(project=project, pseudonym=pseudonym)
    if worker is None:
        raise InvalidInput("No worker with this id worked on this project.",
                           code="unknown_worker", fields={"worker_id": ["Unknown worker."]})
    fee = ledger.platform_fee_cents(amount_cents)
    with transaction.atomic():
        bonus = Bonus.objects.create(project=project, organization_id=project.organization_id,
                                     worker=worker, pseudonym=pseudonym,
                                     amount_cents=amount_cents, fee_cents=fee, reason=reason,
                                     created_by=actor)
        try:
            journal = ledger.post_journal(
                key=f"bonus:{bonus.pk}", kind=JournalKind.BONUS,
                lines=[(ledger.organization_available(project.organization_id),
                        -(amount_cents + fee)),
                       (ledger.worker_pending(worker.pk), amount_cents),
                       (ledger.PLATFORM_FEES, fee)],
                memo=reason, actor=actor, organization_id=project.organization_id,
                project=project, worker=worker, bonus=bonus)
        except ledger.InsufficientFunds as exc:
            raise PaymentRequired(
                f"This bonus costs {amount_cents + fee} cents with the platform fee; the "
                f"organization has {exc.balance_cents} cents available.")
        Earning.objects.create(worker=worker, organization_id=project.organization_id,
                               project=project, bonus=bonus, kind=EarningKind.BONUS,
                               amount_cents=amount_cents, fee_cents=fee,
                               available_at=_hold_ends(timezone.now()), journal=journal)
    return bonus


def _release_for_worker(worker_id: int, now) -> int:
    with transaction.atomic():
        # SKIP LOCKED: a second runner takes other workers instead of waiting on these.
        due = list(Earning.objects.select_for_update(no_key=True, skip_locked=True)
                   .filter(worker_id=worker_id, released_at__isnull=True, available_at__lte=now)
                   .order_by("pk").only("pk", "amount_cents"))
        if not due:
            return 0
        total = sum(earning.amount_cents for earning in due)
        journal = ledger.post_journal(
            # Each earning is released once, so the smallest id of a batch names it alone.
            key=f"hold_release:{due[0].pk}", kind=JournalKind.HOLD_RELEASE,
            lines=[(ledger.worker_pending(worker_id), -total),
                   (ledger.worker_available(worker_id), total)],
            memo=f"{len(due)} earning(s) past the hold period", worker_id=worker_id)
        Earning.objects.filter(pk__in=[earning.pk for earning in due]).update(
            released_at=now, release_journal=journal)
        return len(due)


def earnings_release_due(*, now=None) -> int:
    """The hold-release job: pending -> available for every earning past its hold, one
    journal per worker. Returns earnings released."""
    now = now or timezone.now()
    worker_ids = list(Earning.objects.filter(released_at__isnull=True, available_at__lte=now)
                      .order_by("worker_id").values_list("worker_id", flat=True).distinct())
    return sum(_release_for_worker(worker_id, now) for worker_id in worker_ids)
