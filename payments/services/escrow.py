"""Escrow: money an organization sets aside for a project's work.

Launch reserves the estimated cost (every assignment slot of every task at its maximum
pay, plus the platform fee; gold items ride inside assignments, so the per-assignment pay
covers them). Approvals draw from escrow (earnings.py). Dynamic overlap asks for more
with ``escrow_reserve_more``. A cancelled or completed project gives back whatever is not
owed to work still in progress (``escrow_release_unspent``); a periodic sweep releases
the rest once that work is decided.

None of these functions locks a Project or Task: callers may already hold them (launch
holds the Project, qa's overlap raise holds a Task) and the lock order puts ledger
accounts last. Releases are serialised by locking the escrow account before reading.
"""
from django.db import transaction
from django.db.models import Count, Q, Sum

from accounts.models import User
from config.errors import Conflict, PaymentRequired
from marketplace.enums import AssignmentStatus, PayModel, ProjectStatus, TaskStatus
from marketplace.models import Assignment, Project, Task

from .. import ledger
from ..enums import AccountKind, JournalKind
from ..models import Entry, Journal, LedgerAccount

CLOSED_STATUSES = (ProjectStatus.COMPLETED, ProjectStatus.CANCELLED)
# Work that may still be approved and so still needs its money in escrow.
OUTSTANDING_STATUSES = (AssignmentStatus.ASSIGNED, AssignmentStatus.SUBMITTED)


def hourly_pay_cents(*, seconds: int, hourly_rate_cents: int) -> int:
    """Measured seconds at an hourly rate, rounded half up to the cent."""
    return (seconds * hourly_rate_cents + 1800) // 3600


def assignment_pay_max_cents(*, project: Project, reward_cents: int | None = None) -> int:
    """The most one assignment can pay its worker (before the platform fee)."""
    if project.pay_model == PayModel.HOURLY:
        seconds = project.max_seconds_per_assignment or 0
        # Rounded up, so a capped payment (rounded half up) never exceeds it.
        return -(-seconds * (project.hourly_rate_cents or 0) // 3600)
    return reward_cents if reward_cents is not None else (project.reward_cents or 0)


def assignment_cost_cents(*, project: Project, reward_cents: int | None = None) -> int:
    """What one more assignment may cost the organization: pay plus the platform fee.
    qa's dynamic overlap reserves this much per extra assignment."""
    pay = assignment_pay_max_cents(project=project, reward_cents=reward_cents)
    return pay + ledger.platform_fee_cents(pay)


def escrow_estimate_cents(*, project: Project) -> int:
    """tasks x overlap x (pay + fee): every slot of every task, at its maximum. A task
    finished before anyone claimed it (its items auto-accepted from a model's
    predictions, automation/) needs no slot."""
    slots = (Task.objects.filter(project=project)
             .exclude(status=TaskStatus.COMPLETE, filled=0)
             .aggregate(slots=Sum("overlap"))["slots"] or 0)
    return slots * assignment_cost_cents(project=project)


def _sequence_key(project: Project, kind: str) -> str:
    """A domain-derived journal key for the n-th escrow movement of a kind on a project.
    Counted after the escrow account is locked, so two movements never pick the same n."""
    done = Journal.objects.filter(project=project, kind=kind).count()
    return f"{kind}:{project.pk}:{done + 1}"


def _committed_cents(project: Project) -> int:
    """Reserved minus released so far: what the project has spent or still holds."""
    totals = Entry.objects.filter(
        account__key=ledger.project_escrow(project).key,
        journal__kind__in=[JournalKind.ESCROW_RESERVE, JournalKind.ESCROW_RELEASE],
    ).aggregate(total=Sum("amount_cents"))
    return totals["total"] or 0


def _reserve(project: Project, amount_cents: int, *, actor: User | None, memo: str) -> None:
    escrow = ledger.project_escrow(project)
    available = ledger.organization_available(project.organization_id)
    ledger.lock_accounts([escrow, available])  # before counting: see _sequence_key
    ledger.post_journal(
        key=_sequence_key(project, JournalKind.ESCROW_RESERVE), kind=JournalKind.ESCROW_RESERVE,
        lines=[(available, -amount_cents), (escrow, amount_cents)], memo=memo, actor=actor,
        organization_id=project.organization_id, project=project)


def escrow_reserve_for_launch(*, project: Project, actor: User) -> int:
    """Reserve the project's estimated cost; 402 when the organization cannot cover it.

    Called by flows.projects.launch inside its transaction, after it locked
    the project. Returns the cents reserved.
    """
    amount = escrow_estimate_cents(project=project)
    if project.budget_cents is not None and amount > project.budget_cents:
        raise Conflict(f"The estimated cost of {amount} cents exceeds the project's budget of "
                       f"{project.budget_cents} cents; lower overlap or raise the budget.",
                       code="over_budget", fields={"budget_cents": ["Below the estimate."]})
    if amount == 0:
        return 0
    try:
        _reserve(project, amount, actor=actor, memo="Launch: estimated cost reserved")
    except ledger.InsufficientFunds as exc:
        raise PaymentRequired(
            f"Launching needs {amount} cents in escrow (every assignment at its maximum pay "
            f"plus the platform fee); the organization has {exc.balance_cents} cents "
            "available. Top up first.")
    return amount


def escrow_reserve_more(*, project: Project, amount_cents: int) -> bool:
    """Reserve more escrow for a running project (dynamic overlap raises).

    Returns True when reserved; False when the organization's balance (or the project's
    budget) cannot cover it - then nothing is written and the caller must not open the
    extra work (qa leaves the task's overlap as it is, so routing stops there). Safe to
    call while holding Task or Assignment locks; joins the caller's transaction.
    """
    if amount_cents <= 0:
        return True
    with transaction.atomic():
        escrow = ledger.project_escrow(project)
        ledger.lock_accounts([escrow, ledger.organization_available(project.organization_id)])
        if (project.budget_cents is not None
                and _committed_cents(project) + amount_cents > project.budget_cents):
            return False
        try:
            with transaction.atomic():
                _reserve(project, amount_cents, actor=None, memo="Overlap raised")
        except ledger.InsufficientFunds:
            return False
    return True


def escrow_reserve_shortfall(*, project: Project) -> bool:
    """Bring a launched project's escrow up to its current estimate: work added after
    launch (items uploaded to a running project, overlap or pay raised while paused).
    False when the organization cannot cover it; then nothing is written."""
    shortfall = escrow_estimate_cents(project=project) - _committed_cents(project)
    return escrow_reserve_more(project=project, amount_cents=shortfall)


def outstanding_liability_cents(*, project: Project) -> int:
    """What live or submitted assignments may still cost once approved."""
    groups = (Assignment.objects.filter(project=project, status__in=OUTSTANDING_STATUSES)
              .values("reward_cents").annotate(count=Count("id")))
    return sum(group["count"] * assignment_cost_cents(project=project,
                                                      reward_cents=group["reward_cents"])
               for group in groups)


def escrow_release_unspent(*, project: Project) -> int:
    """Give a closed (cancelled or completed) project's unspent escrow back to its
    organization, keeping what work in progress may still cost. Returns cents released.

    Safe to call any number of times: it recomputes from the locked balance, so a second
    call releases only what became free since (the sweep calls it again later).
    """
    if project.status not in CLOSED_STATUSES:
        raise Conflict(f"Escrow is released only from a closed project; this one is "
                       f"{project.status}.", code="project_not_closed")
    with transaction.atomic():
        escrow = ledger.project_escrow(project)
        available = ledger.organization_available(project.organization_id)
        locked = ledger.lock_accounts([escrow, available])
        # Read after the lock: an approval in progress either committed (and is out of
        # the balance and of the outstanding work) or waits behind us still counted as
        # outstanding - either way we never release money an approval needs.
        release = locked[escrow.key].balance_cents - outstanding_liability_cents(project=project)
        if release <= 0:
            return 0
        ledger.post_journal(
            key=_sequence_key(project, JournalKind.ESCROW_RELEASE),
            kind=JournalKind.ESCROW_RELEASE,
            lines=[(escrow, -release), (available, release)],
            memo=f"Project {project.status}: unspent escrow released",
            organization_id=project.organization_id, project=project)
        return release


def escrow_release_slots(*, project: Project, amount_cents: int, memo: str) -> int:
    """Give back escrow reserved for slots no longer needed on a running project (tasks
    whose items were all auto-accepted before anyone claimed them), never more than the
    escrow holds beyond what work in progress may still cost. Returns cents released."""
    if amount_cents <= 0:
        return 0
    with transaction.atomic():
        escrow = ledger.project_escrow(project)
        available = ledger.organization_available(project.organization_id)
        locked = ledger.lock_accounts([escrow, available])
        free = locked[escrow.key].balance_cents - outstanding_liability_cents(project=project)
        release = min(amount_cents, free)
        if release <= 0:
            return 0
        ledger.post_journal(
            key=_sequence_key(project, JournalKind.ESCROW_RELEASE),
            kind=JournalKind.ESCROW_RELEASE,
            lines=[(escrow, -release), (available, release)], memo=memo,
            organization_id=project.organization_id, project=project)
        return release


def escrow_release_closed_projects() -> int:
    """The periodic sweep: release what closed projects no longer need. Returns cents."""
    project_ids = (LedgerAccount.objects.filter(kind=AccountKind.PROJECT_ESCROW,
                                                balance_cents__gt=0)
                   .filter(Q(project__status__in=CLOSED_STATUSES))
                   .order_by("project_id").values_list("project_id", flat=True))
    released = 0
    for project_id in list(project_ids):
        with transaction.atomic():
            project = Project.objects.get(pk=project_id)
            released += escrow_release_unspent(project=project)
    return released
