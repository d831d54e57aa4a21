"""Read queries of payments: balances, progress and fair pay, earnings, statements, payouts,
and the ledger's self-check. Nothing here writes to the database (the effective hourly
rate is memoised briefly in each process, which progress pages poll)."""
import statistics
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import caches
from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from marketplace.enums import AssignmentStatus, PayModel, ProjectStatus, TaskStatus
from marketplace.models import Answer, Assignment, Item, Organization, Project, Task
from qa.selectors import project_agreement

from . import ledger
from .enums import EXTERNAL_KINDS, AccountKind, EarningKind, JournalKind, PayoutStatus
from .models import Earning, Entry, Journal, LedgerAccount, Payout, PayoutAccount, PayoutRun
from .services.fair_pay import fair_pay_summary

# Fair pay is measured on recent work only, and cached briefly in each process (the
# "process" cache: no round trip): the task offer asks for it on every claim.
EFFECTIVE_RATE_SAMPLE = 1000
EFFECTIVE_RATE_CACHE_SECONDS = 300
ETA_WINDOW = timedelta(hours=24)


# --- Requesters ----------------------------------------------------------------------------

def _balances(keys: list[str]) -> dict[str, int]:
    return dict(LedgerAccount.objects.filter(key__in=keys).values_list("key", "balance_cents"))


def organization_balance(*, organization: Organization) -> dict:
    available = ledger.balance_of(ledger.organization_available(organization.pk))
    escrow = (LedgerAccount.objects.filter(kind=AccountKind.PROJECT_ESCROW,
                                           organization=organization)
              .aggregate(total=Sum("balance_cents"))["total"] or 0)
    spent = (Earning.objects.filter(organization=organization)
             .aggregate(total=Sum(F("amount_cents") + F("fee_cents")))["total"] or 0)
    return {"available_cents": available, "escrow_cents": escrow, "spent_cents": spent,
            "currency": "usd"}


def effective_hourly_cents(*, project: Project) -> int | None:
    """What the work pays per hour of measured active time.

    Hourly projects: their rate. Per-task projects: reward x 3600 / the median active
    seconds of recently submitted assignments; None until someone has submitted work.
    """
    if project.pay_model == PayModel.HOURLY:
        return project.hourly_rate_cents
    cache_key = f"payments:effective_hourly:{project.pk}:{project.reward_cents}"
    cache = caches["process"]
    cached = cache.get(cache_key)
    if cached is not None:
        return cached["value"]
    seconds = list(Assignment.objects.filter(
        project=project, submitted_at__isnull=False, active_seconds__gt=0)
        .order_by("-submitted_at").values_list("active_seconds", flat=True)
        [:EFFECTIVE_RATE_SAMPLE])
    value = None
    if seconds and project.reward_cents is not None:
        value = round(project.reward_cents * 3600 / statistics.median(seconds))
    cache.set(cache_key, {"value": value}, EFFECTIVE_RATE_CACHE_SECONDS)
    return value


def pay_warning(*, effective_hourly: int | None) -> dict | None:
    minimum = settings.MIN_EFFECTIVE_HOURLY_CENTS
    if effective_hourly is None or not minimum or effective_hourly >= minimum:
        return None
    return {"code": "below_min_effective_hourly",
            "message": f"Workers earn about {effective_hourly} cents per hour of active time "
                       f"on this project, under the platform minimum of {minimum}. Raise "
                       "the reward or make the tasks smaller.",
            "min_effective_hourly_cents": minimum}


def _eta_seconds(project: Project, remaining_slots: int) -> int | None:
    if remaining_slots == 0:
        return 0
    if project.status != ProjectStatus.ACTIVE or project.launched_at is None:
        return None
    now = timezone.now()
    since = max(project.launched_at, now - ETA_WINDOW)
    elapsed = (now - since).total_seconds()
    done = Assignment.objects.filter(project=project, submitted_at__gte=since).count()
    if not done or elapsed <= 0:
        return None
    return round(remaining_slots * elapsed / done)


def project_progress(*, project: Project) -> dict:
    items = Item.objects.filter(project=project, is_gold=False).aggregate(
        total=Count("id"), done=Count("id", filter=Q(finalized_at__isnull=False)))
    tasks = Task.objects.filter(project=project, status=TaskStatus.OPEN).aggregate(
        open=Count("id"), unfilled=Coalesce(Sum(F("overlap") - F("filled")), 0))
    by_status = dict(Assignment.objects.filter(project=project).values("status")
                     .annotate(n=Count("id")).values_list("status", "n"))
    counts = {status: by_status.get(status, 0) for status in AssignmentStatus.values}
    gold = Answer.objects.filter(assignment__project=project, is_gold=True,
                                 is_correct__isnull=False).aggregate(
        graded=Count("id"), correct=Count("id", filter=Q(is_correct=True)))
    spent = (Earning.objects.filter(project=project)
             .aggregate(total=Sum(F("amount_cents") + F("fee_cents")))["total"] or 0)
    effective = effective_hourly_cents(project=project)
    return {
        "status": project.status,
        "items_total": items["total"],
        "items_done": items["done"],
        "tasks_open": tasks["open"],
        "assignments": counts,
        "spent_cents": spent,
        "escrow_cents": ledger.balance_of(ledger.project_escrow(project)),
        "eta_seconds": _eta_seconds(project, tasks["unfilled"] + counts["assigned"]),
        "gold_accuracy_mean": (round(gold["correct"] / gold["graded"], 4)
                               if gold["graded"] else None),
        "agreement": project_agreement(project=project),
        "effective_hourly_cents": effective,
        "min_effective_hourly_cents": settings.MIN_EFFECTIVE_HOURLY_CENTS,
        "pay_warning": pay_warning(effective_hourly=effective),
        # The project's own floor (its override included), adjustments so far and the
        # reward that would meet the floor at the median measured time.
        **fair_pay_summary(project=project),
    }


def organization_statement(*, organization: Organization, limit: int = 100) -> dict:
    """The organization's recent ledger lines (its available balance and its projects'
    escrow), newest first, with the top-ups and the admins' credits (invoices)."""
    from .models import ManualCredit, TopUp

    accounts = LedgerAccount.objects.filter(
        Q(kind=AccountKind.ORGANIZATION_AVAILABLE) | Q(kind=AccountKind.PROJECT_ESCROW),
        organization=organization)
    lines = (Entry.objects.filter(account__in=accounts)
             .select_related("journal", "account").order_by("-journal__created_at", "-id")
             [:limit])
    return {
        "lines": [{"date": entry.journal.created_at, "kind": entry.journal.kind,
                   "account": ("available" if entry.account.kind
                               == AccountKind.ORGANIZATION_AVAILABLE else "escrow"),
                   "project_id": entry.journal.project_id, "memo": entry.journal.memo,
                   "amount_cents": entry.amount_cents} for entry in lines],
        "topups": list(TopUp.objects.filter(organization=organization)
                       .order_by("-created_at", "-id")[:20]),
        "credits": list(ManualCredit.objects.filter(organization=organization)
                        .order_by("-created_at", "-id")[:20]),
    }


# --- Workers -------------------------------------------------------------------------------

def _worker_keys(worker_id: int) -> dict[str, str]:
    return {"pending": ledger.worker_pending(worker_id).key,
            "available": ledger.worker_available(worker_id).key,
            "in_flight": ledger.payout_in_flight(worker_id).key}


def worker_earnings(*, worker, limit: int = 50) -> dict:
    keys = _worker_keys(worker.pk)
    balances = _balances(list(keys.values()))
    paid = (Payout.objects.filter(worker=worker, status=PayoutStatus.PAID)
            .aggregate(total=Sum("amount_cents"))["total"] or 0)
    earnings = list(Earning.objects.filter(worker=worker).select_related("bonus")
                    .order_by("-created_at", "-id")[:limit])
    return {
        "pending_cents": balances.get(keys["pending"], 0),
        "available_cents": balances.get(keys["available"], 0),
        "in_flight_cents": balances.get(keys["in_flight"], 0),
        "paid_cents": paid,
        "currency": "usd",
        "min_payout_cents": settings.MIN_PAYOUT_CENTS,
        "entries": [{
            "id": earning.pk, "kind": earning.kind, "project_id": earning.project_id,
            "assignment_id": earning.assignment_id or earning.adjusted_assignment_id,
            "amount_cents": earning.amount_cents,
            "active_seconds": earning.active_seconds,
            "hourly_rate_cents": earning.hourly_rate_cents,
            "reason": earning.bonus.reason if earning.bonus_id else "",
            # Available once the hold-release job moved it (not merely once due).
            "status": "available" if earning.released_at else "pending",
            "available_at": earning.available_at, "created_at": earning.created_at,
        } for earning in earnings],
        "payouts": [payout_body(payout) for payout in
                    Payout.objects.filter(worker=worker).order_by("-created_at", "-id")[:20]],
        "projects": worker_project_pay(worker=worker),
    }


def worker_money_export(*, worker) -> dict:
    """For the worker's personal-data export: every earning (with bonus reasons) and payout,
    not only the recent ones ``worker_earnings`` shows."""
    earnings = worker_earnings(worker=worker, limit=None)
    earnings["payouts"] = [payout_body(payout) for payout in
                           Payout.objects.filter(worker=worker).order_by("created_at", "id")]
    return earnings


def payout_account_status(*, worker) -> dict:
    """{provider, status}: the worker's payout account, or status "none" before setup."""
    account = PayoutAccount.objects.filter(worker=worker).first()
    return {"provider": account.provider if account else settings.PAYOUT_PROVIDER,
            "status": account.status if account else "none"}
def worker_project_pay(*, worker, limit: int = 50) -> list[dict]:
    """Per project, what this worker's approved work paid per hour of its measured active
    time, fair-pay adjustments included (hourly work: the seconds paid)."""
    paid_work = (EarningKind.TASK, EarningKind.HOURLY, EarningKind.FAIR_PAY)
    rows = (Earning.objects.filter(worker=worker, kind__in=paid_work)
            .values("project_id")
            .annotate(earned=Sum("amount_cents"),
                      adjusted=Coalesce(Sum("amount_cents",
                                            filter=Q(kind=EarningKind.FAIR_PAY)), 0),
                      approved=Count("id", filter=~Q(kind=EarningKind.FAIR_PAY)),
                      seconds=Coalesce(Sum("assignment__active_seconds",
                                           filter=Q(kind=EarningKind.TASK)), 0)
                      + Coalesce(Sum("active_seconds", filter=Q(kind=EarningKind.HOURLY)), 0))
            .order_by("-project_id")[:limit])
    return [{"project_id": row["project_id"], "approved_assignments": row["approved"],
             "active_seconds": row["seconds"], "earned_cents": row["earned"],
             "fair_pay_adjusted_cents": row["adjusted"],
             "effective_hourly_cents": (round(row["earned"] * 3600 / row["seconds"])
                                        if row["seconds"] else None)}
            for row in rows]


def worker_statement(*, worker, start: datetime, end: datetime) -> dict:
    """Everything that moved on the worker's accounts in [start, end), with opening and
    closing balances per account - derivable from the ledger alone."""
    keys = _worker_keys(worker.pk)
    names = {key: name for name, key in keys.items()}
    entries = Entry.objects.filter(account__key__in=keys.values())
    opening = dict(entries.filter(journal__created_at__lt=start).values("account__key")
                   .annotate(total=Sum("amount_cents")).values_list("account__key", "total"))
    lines = list(entries.filter(journal__created_at__gte=start, journal__created_at__lt=end)
                 .select_related("journal", "account").order_by("journal__created_at", "id"))
    opening_by_name = {name: opening.get(key, 0) for name, key in keys.items()}
    closing = dict(opening_by_name)
    for entry in lines:
        closing[names[entry.account.key]] += entry.amount_cents

    def total(kinds, account_name, sign=1):
        return sum(entry.amount_cents * sign for entry in lines
                   if entry.journal.kind in kinds and names[entry.account.key] == account_name)

    return {
        "from": start, "to": end, "currency": "usd",
        "opening_balances": opening_by_name,
        "closing_balances": closing,
        "earned_cents": total([JournalKind.APPROVAL], "pending"),
        "bonuses_cents": total([JournalKind.BONUS], "pending"),
        "paid_out_cents": total([JournalKind.PAYOUT_SETTLE], "in_flight", sign=-1),
        "lines": [{
            "date": entry.journal.created_at, "journal_id": entry.journal_id,
            "kind": entry.journal.kind, "account": names[entry.account.key],
            "amount_cents": entry.amount_cents, "memo": entry.journal.memo,
            "project_id": entry.journal.project_id,
            "assignment_id": entry.journal.assignment_id,
            "payout_id": entry.journal.payout_id,
        } for entry in lines],
    }


# --- Payouts and the ledger (admins) ------------------------------------------------------

def payout_body(payout: Payout) -> dict:
    return {"id": payout.pk, "worker_id": payout.worker_id, "amount_cents": payout.amount_cents,
            "status": payout.status, "provider": payout.provider,
            "provider_reference": payout.provider_reference or None,
            "failure_reason": payout.failure_reason or None, "run_id": payout.run_id,
            "transfer_attempts": payout.transfer_attempts, "created_at": payout.created_at,
            "settled_at": payout.settled_at}


def payout_list(*, status: str | None = None, provider: str | None = None):
    payouts = Payout.objects.order_by("-created_at", "-id")
    if status:
        payouts = payouts.filter(status=status)
    if provider:
        payouts = payouts.filter(provider=provider)
    return payouts


def payout_run_get(*, run_id) -> dict:
    """A run's status and counts (admin)."""
    try:
        run = PayoutRun.objects.get(pk=int(run_id))
    except (PayoutRun.DoesNotExist, ValueError, TypeError):
        raise Http404
    in_flight = Payout.objects.filter(run=run, status=PayoutStatus.IN_FLIGHT).count()
    return {"id": run.pk, "status": run.status, "earnings_released": run.earnings_released,
            "payouts_created": run.payouts_created, "payouts_paid": run.payouts_paid,
            "payouts_failed": run.payouts_failed, "payouts_in_flight": in_flight,
            "created_at": run.created_at, "started_at": run.started_at,
            "finished_at": run.finished_at}


def payout_get(*, payout_id) -> Payout:
    try:
        return Payout.objects.select_related("payout_account").get(pk=int(payout_id))
    except (Payout.DoesNotExist, ValueError, TypeError):
        raise Http404


def payouts_csv_rows(payouts) -> list[list]:
    """For paying manual payouts by bank transfer: who, how much, which reference."""
    rows = [["payout_id", "worker_id", "worker_name", "worker_email", "amount_cents",
             "amount", "currency", "status", "created_at"]]
    for payout in payouts.select_related("worker__user"):
        rows.append([payout.pk, payout.worker_id, payout.worker.full_name,
                     payout.worker.user.email, payout.amount_cents,
                     f"{payout.amount_cents // 100}.{payout.amount_cents % 100:02d}", "USD",
                     payout.status, payout.created_at.isoformat()])
    return rows


def ledger_check() -> dict:
    """The books prove themselves: every journal sums to zero, so does everything; no
    internal balance is negative; every cached balance equals the sum of its entries."""
    journal_sums = Entry.objects.values("journal_id").annotate(total=Sum("amount_cents"))
    entries_of = Entry.objects.filter(journal=OuterRef("pk"))
    cached_vs_entries = LedgerAccount.objects.annotate(
        entries_total=Coalesce(Sum("entries__amount_cents"), 0)).exclude(
        balance_cents=F("entries_total"))
    report = {
        "journals": Journal.objects.count(),
        "entries": Entry.objects.count(),
        "sum_cents": Entry.objects.aggregate(total=Coalesce(Sum("amount_cents"), 0))["total"],
        "negative_balances": LedgerAccount.objects.filter(balance_cents__lt=0)
        .exclude(kind__in=EXTERNAL_KINDS).count(),
        "unbalanced_journals": journal_sums.exclude(total=0).count(),
        "journals_without_entries": Journal.objects.exclude(Exists(entries_of)).count(),
        "balance_mismatches": cached_vs_entries.count(),
    }
    report["ok"] = (report["sum_cents"] == 0 and not report["negative_balances"]
                    and not report["unbalanced_journals"]
                    and not report["journals_without_entries"]
                    and not report["balance_mismatches"])
    return report
