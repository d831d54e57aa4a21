"""Fair pay: a floor on what an hour of measured work earns.

The floor is the platform's MIN_EFFECTIVE_HOURLY_CENTS, raised (never lowered) by a
project's ``min_effective_hourly_cents``.

Before launch, ``pay_floor_check`` refuses a project whose pay cannot meet the floor: an
hourly rate under it, or a per-task reward under it at the requester's
``estimated_seconds_per_task`` (409 ``below_pay_floor`` with the numbers). Without an
estimate there is nothing to check yet; the running check below still holds.

While running, ``fair_pay_adjust`` is called by every approval flow right after
``approval_pay``, in the same transaction (which holds the Task and Assignment locks).
When the project's median measured effective hourly (reward over the median active time
of recent submissions) is under the floor, the approval is topped up to the floor at this
assignment's own measured time: its own journal (``fair_pay:<assignment id>``, kind
fair_pay) and earning (kind fair_pay, unique ``adjusted_assignment``), so it is paid at
most once per approved assignment whatever path approves it or how often. The money
comes from the project's escrow (the organization's balance when escrow is short, as for
approvals; 402 and nothing written when both are); then escrow is topped up again from
the organization's balance so the remaining work stays funded. When it cannot be, the
caller pauses the project with a reason, as for dynamic overlap.
"""
import statistics
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Sum
from django.utils import timezone

from accounts.models import User
from config.errors import Conflict
from marketplace.enums import PayModel
from marketplace.models import Assignment, Project

from .. import ledger
from ..enums import EarningKind, JournalKind
from ..models import Earning
from .earnings import _hold_ends, pay_worker_from_escrow
from .escrow import escrow_reserve_more

# The median is taken over recent work only: the same sample as the progress figure.
MEASURED_SAMPLE = 1000


def pay_floor_cents(*, project: Project) -> int:
    """The project's floor in cents per hour of active time (0: no floor)."""
    return max(settings.MIN_EFFECTIVE_HOURLY_CENTS, project.min_effective_hourly_cents or 0)


def reward_meeting_floor_cents(*, floor_cents: int, seconds: int) -> int:
    """The smallest per-task reward that pays ``floor_cents`` an hour at ``seconds``."""
    return -(-floor_cents * seconds // 3600)


def implied_hourly_cents(*, reward_cents: int, seconds: int) -> int:
    return round(reward_cents * 3600 / seconds)


def pay_floor_check(*, project: Project) -> None:
    """Refuse (409 below_pay_floor) a project whose pay cannot meet the floor. Called by
    flows.projects.launch before anything is reserved."""
    floor = pay_floor_cents(project=project)
    if not floor:
        return
    if project.pay_model == PayModel.HOURLY:
        rate = project.hourly_rate_cents or 0
        if rate >= floor:
            return
        raise Conflict(
            f"This project pays {rate} cents an hour, under the minimum of {floor} cents an "
            "hour of active time. Raise hourly_rate_cents.", code="below_pay_floor",
            fields={"hourly_rate_cents": [f"At least {floor}."]},
            details={"pay_model": project.pay_model, "hourly_rate_cents": rate,
                     "min_effective_hourly_cents": floor,
                     "suggested_hourly_rate_cents": floor})
    seconds = project.estimated_seconds_per_task
    if not seconds:
        return
    reward = project.reward_cents or 0
    implied = implied_hourly_cents(reward_cents=reward, seconds=seconds)
    if implied >= floor:
        return
    needed = reward_meeting_floor_cents(floor_cents=floor, seconds=seconds)
    raise Conflict(
        f"At the estimated {seconds} seconds per task, a reward of {reward} cents pays "
        f"{implied} cents an hour, under the minimum of {floor}. A reward of {needed} cents "
        "(or smaller tasks) meets it.", code="below_pay_floor",
        fields={"reward_cents": [f"At least {needed} at {seconds} s per task."]},
        details={"pay_model": project.pay_model, "reward_cents": reward,
                 "estimated_seconds_per_task": seconds, "implied_hourly_cents": implied,
                 "min_effective_hourly_cents": floor, "suggested_reward_cents": needed})


def _capped_seconds(project: Project, active_seconds: int) -> int:
    # Heartbeats already cap each gap; a lease bounds the whole assignment.
    return min(active_seconds, project.assignment_duration_seconds)


def measured_median_seconds(*, project: Project) -> int | None:
    """Median measured active seconds of recent submissions (None before any)."""
    seconds = list(Assignment.objects.filter(
        project=project, submitted_at__isnull=False, active_seconds__gt=0)
        .order_by("-submitted_at").values_list("active_seconds", flat=True)[:MEASURED_SAMPLE])
    if not seconds:
        return None
    return round(statistics.median(_capped_seconds(project, value) for value in seconds))


def measured_hourly_cents(*, project: Project) -> int | None:
    """Per-task projects: reward over the median measured time (uncached: it decides pay)."""
    if project.pay_model != PayModel.PER_TASK or not project.reward_cents:
        return None
    median = measured_median_seconds(project=project)
    if not median:
        return None
    return implied_hourly_cents(reward_cents=project.reward_cents, seconds=median)


@dataclass(frozen=True)
class FairPayAdjustment:
    earning: Earning
    first_for_project: bool   # the requester is told once, when adjustments start
    escrow_refilled: bool     # False: the project must pause for funds
    measured_hourly_cents: int
    floor_cents: int
    suggested_reward_cents: int


def fair_pay_adjust(*, assignment: Assignment, approval_earning: Earning | None,
                    actor: User | None = None) -> FairPayAdjustment | None:
    """Top an approval up to the floor when the project's median effective hourly is
    under it. ``approval_earning`` is what ``approval_pay`` just returned in the same
    transaction: the adjustment is decided with the approval and only then (None - paid
    already, a replay - adjusts nothing, so work approved while the project paid fairly
    is never topped up later). Idempotent; joins the approving transaction."""
    project = assignment.project
    if approval_earning is None or project.pay_model != PayModel.PER_TASK:
        return None
    if Earning.objects.filter(adjusted_assignment_id=assignment.pk).exists():
        return None  # adjusted already: a replayed or second approval path
    floor = pay_floor_cents(project=project)
    measured = measured_hourly_cents(project=project)
    if not floor or measured is None or measured >= floor:
        return None
    seconds = _capped_seconds(project, assignment.active_seconds)
    adjustment = reward_meeting_floor_cents(floor_cents=floor, seconds=seconds) \
        - approval_earning.amount_cents
    if adjustment <= 0:
        return None  # this worker was quick enough: the reward already meets the floor
    fee = ledger.platform_fee_cents(adjustment)
    cost = adjustment + fee
    first = not Earning.objects.filter(project=project, kind=EarningKind.FAIR_PAY).exists()
    journal, from_escrow = pay_worker_from_escrow(
        assignment=assignment, amount_cents=adjustment, fee_cents=fee,
        key=f"fair_pay:{assignment.pk}", kind=JournalKind.FAIR_PAY,
        memo=f"Assignment {assignment.pk}: fair-pay adjustment to {floor} cents/hour "
             f"({seconds} s measured)",
        actor=actor,
        unfunded=lambda from_escrow, available_cents: (
            f"Approving needs a fair-pay adjustment of {cost} cents (the project pays "
            f"under {floor} cents an hour of measured work); escrow holds {from_escrow} "
            f"and the organization has {available_cents} available. Top up, then "
            "approve again."))
    earning = Earning.objects.create(
        worker_id=assignment.worker_id, organization_id=project.organization_id,
        project=project, adjusted_assignment=assignment, kind=EarningKind.FAIR_PAY,
        amount_cents=adjustment, fee_cents=fee, active_seconds=seconds,
        hourly_rate_cents=floor, available_at=_hold_ends(timezone.now()), journal=journal)
    # What the adjustment took from escrow is owed to the work still to come: put it back.
    refilled = escrow_reserve_more(project=project, amount_cents=from_escrow)
    median = measured_median_seconds(project=project) or seconds
    return FairPayAdjustment(
        earning=earning, first_for_project=first, escrow_refilled=refilled,
        measured_hourly_cents=measured, floor_cents=floor,
        suggested_reward_cents=reward_meeting_floor_cents(floor_cents=floor, seconds=median))


def fair_pay_summary(*, project: Project) -> dict:
    """The requester's view: the floor, what adjustments cost so far, the reward that would
    meet the floor at the median measured time."""
    floor = pay_floor_cents(project=project)
    totals = Earning.objects.filter(project=project, kind=EarningKind.FAIR_PAY).aggregate(
        count=Count("id"), cents=Sum("amount_cents"), fees=Sum("fee_cents"))
    suggested = None
    if project.pay_model == PayModel.PER_TASK and floor:
        median = measured_median_seconds(project=project) or project.estimated_seconds_per_task
        if median:
            suggested = max(project.reward_cents or 0,
                            reward_meeting_floor_cents(floor_cents=floor, seconds=median))
    return {"min_effective_hourly_cents": floor,
            "measured_hourly_cents": measured_hourly_cents(project=project),
            "fair_pay_adjustments": totals["count"],
            "fair_pay_adjusted_cents": totals["cents"] or 0,
            "fair_pay_fees_cents": totals["fees"] or 0,
            "suggested_reward_cents": suggested}
