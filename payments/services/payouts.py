"""Money out: payout accounts, payout runs, settlement and reconciliation.

Exactly-once guarantee. For each worker due:
1. one transaction creates the Payout (status in_flight) and moves available -> in
   flight. It commits before anything leaves: the in-flight row is the outbox;
2. the provider is called outside any transaction with ``payout:<id>`` as idempotency key
   (and ``payout_<id>`` as Stripe transfer group);
3. success settles (in flight -> external payouts), a definite refusal returns the money
   (in flight -> available, with the reason), an unknown outcome (timeout, 5xx, crash
   anywhere after step 1) leaves the payout in flight.
The reconcile job takes payouts in flight for longer than PAYOUT_RECONCILE_AFTER_SECONDS,
asks the provider whether the transfer exists (by transfer group) and settles it, or
retries it with the same idempotency key. Settling and failing are compare-and-swap on
the payout's status, so a late original and a reconcile racing it settle once; a second
run finds no available balance (and a unique index allows one in-flight payout per
worker), so runs that overlap or repeat never pay twice.
"""
import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from accounts.models import User
from config.errors import Conflict, required_text
from workers.models import WorkerProfile

from .. import ledger, providers
from ..enums import (
    AccountKind,
    JournalKind,
    PayoutAccountStatus,
    PayoutProvider,
    PayoutRunStatus,
    PayoutStatus,
)
from ..errors import (
    ProviderDeclinedError,
    ProviderNotConfiguredError,
    ProviderUnavailableError,
)
from ..events import audit
from ..models import LedgerAccount, Payout, PayoutAccount, PayoutRun
from .earnings import earnings_release_due

logger = logging.getLogger("quorum.payments")

DUE_BATCH = 1000


# --- Payout accounts -------------------------------------------------------------------------

def payout_account_setup(*, worker: WorkerProfile) -> tuple[PayoutAccount, str | None]:
    """Give the worker a payout account with the platform's provider.

    Stripe: a Connect Express account (created once: the Stripe idempotency key is the
    worker id) and a fresh onboarding link until Stripe reports transfers enabled.
    Manual: active at once; the admin pays by bank transfer from the CSV export.
    Returns (account, onboarding_url or None).
    """
    provider = settings.PAYOUT_PROVIDER
    account = PayoutAccount.objects.filter(worker=worker).first()
    if account is not None and account.status == PayoutAccountStatus.DISABLED:
        raise Conflict("This payout account is disabled; contact support.",
                       code="payout_account_disabled")
    if provider == PayoutProvider.SANDBOX:
        return _sandbox_account(worker, account), None
    if provider == PayoutProvider.MANUAL:
        if account is None:
            account = _account_insert(worker, provider=PayoutProvider.MANUAL,
                                      status=PayoutAccountStatus.ACTIVE)
        return account, None
    if provider != PayoutProvider.STRIPE:
        raise Conflict(f"Unknown PAYOUT_PROVIDER {provider!r}.", code="payout_provider_unknown")
    try:
        if account is None or not account.stripe_account_id:
            remote = providers.connect_account_create(worker_id=worker.pk,
                                                      email=worker.user.email)
            if account is None:
                account = _account_insert(worker, provider=PayoutProvider.STRIPE,
                                          status=PayoutAccountStatus.ONBOARDING,
                                          stripe_account_id=remote["id"])
            else:
                PayoutAccount.objects.filter(pk=account.pk, stripe_account_id__isnull=True) \
                    .update(provider=PayoutProvider.STRIPE, stripe_account_id=remote["id"])
                account.refresh_from_db()
        else:
            remote = providers.connect_account_retrieve(account.stripe_account_id)
        status = (PayoutAccountStatus.ACTIVE if providers.connect_account_can_receive(remote)
                  else PayoutAccountStatus.ONBOARDING)
        if account.status != status:
            PayoutAccount.objects.filter(pk=account.pk).update(status=status,
                                                               updated_at=timezone.now())
            account.status = status
        url = None
        if status != PayoutAccountStatus.ACTIVE:
            url = providers.connect_onboarding_link(account.stripe_account_id)
    except providers.ProviderNotConfigured:
        raise ProviderNotConfiguredError()
    except providers.ProviderUnavailable:
        raise ProviderUnavailableError()
    except providers.ProviderDeclined as exc:
        raise ProviderDeclinedError(f"Stripe refused: {exc}")
    return account, url


def _sandbox_account(worker, account: PayoutAccount | None) -> PayoutAccount:
    """Zero-setup mode: an account for test money, active at once."""
    if not settings.PAYMENTS_SANDBOX:
        raise ProviderNotConfiguredError(
            "PAYOUT_PROVIDER is sandbox but PAYMENTS_SANDBOX is off: sandbox payouts pay "
            "nothing real. Configure Stripe or manual payouts.")
    if account is None:
        account = _account_insert(worker, provider=PayoutProvider.SANDBOX,
                                  status=PayoutAccountStatus.ACTIVE)
    return account


def _account_insert(worker, **fields) -> PayoutAccount:
    try:
        with transaction.atomic():
            return PayoutAccount.objects.create(worker=worker, **fields)
    except IntegrityError:
        # A concurrent request created it (for Stripe: the same remote account, thanks to
        # the idempotency key).
        return PayoutAccount.objects.get(worker=worker)


# --- One payout ----------------------------------------------------------------------------

def payout_open(*, worker_id: int, run: PayoutRun | None = None,
                account: PayoutAccount | None = None) -> Payout | None:
    """Step 1: create the payout and move the whole available balance into flight.
    None when the worker is not due (no active account, below the minimum, or a payout
    already in flight). ``account``: the worker's active payout account, if the caller
    has it already."""
    with transaction.atomic(durable=True):
        if account is None:
            account = (PayoutAccount.objects.filter(worker_id=worker_id,
                                                    status=PayoutAccountStatus.ACTIVE).first())
        if account is None:
            return None
        available = ledger.worker_available(worker_id)
        in_flight = ledger.payout_in_flight(worker_id)
        locked = ledger.lock_accounts([available, in_flight])
        amount = locked[available.key].balance_cents
        # Money in flight means a payout is still unresolved: the reconcile job owns it.
        if amount < max(settings.MIN_PAYOUT_CENTS, 1) or locked[in_flight.key].balance_cents:
            return None
        now = timezone.now()
        payout = Payout.objects.create(worker_id=worker_id, payout_account=account, run=run,
                                       amount_cents=amount, provider=account.provider,
                                       transfer_attempts=1, last_attempt_at=now)
        ledger.post_journal(key=f"payout:{payout.pk}", kind=JournalKind.PAYOUT_START,
                            lines=[(available, -amount), (in_flight, amount)],
                            memo=f"Payout {payout.pk} via {account.provider}",
                            worker_id=worker_id, payout=payout, locked=locked)
        return payout


def payout_settle(*, payout: Payout, reference: str, actor: User | None = None) -> bool:
    """In flight -> paid: the money has left. False if the payout was no longer in flight
    (settled or failed by someone else first)."""
    with transaction.atomic(durable=True):
        moved = Payout.objects.filter(pk=payout.pk, status=PayoutStatus.IN_FLIGHT).update(
            status=PayoutStatus.PAID, provider_reference=reference[:255],
            settled_at=timezone.now(), settled_by=actor, last_error="")
        if not moved:
            return False
        ledger.post_journal(key=f"payout_settle:{payout.pk}", kind=JournalKind.PAYOUT_SETTLE,
                            lines=[(ledger.payout_in_flight(payout.worker_id),
                                    -payout.amount_cents),
                                   (ledger.EXTERNAL_PAYOUTS, payout.amount_cents)],
                            memo=f"Paid: {reference}"[:500], actor=actor,
                            worker_id=payout.worker_id, payout=payout)
    payout.status = PayoutStatus.PAID
    payout.provider_reference = reference
    return True


def payout_fail(*, payout: Payout, reason: str, actor: User | None = None) -> bool:
    """In flight -> failed: the provider definitely did not pay; the money goes back to
    the worker's available balance for the next run."""
    with transaction.atomic(durable=True):
        moved = Payout.objects.filter(pk=payout.pk, status=PayoutStatus.IN_FLIGHT).update(
            status=PayoutStatus.FAILED, failure_reason=reason[:2000],
            settled_at=timezone.now(), settled_by=actor)
        if not moved:
            return False
        ledger.post_journal(key=f"payout_return:{payout.pk}", kind=JournalKind.PAYOUT_RETURN,
                            lines=[(ledger.payout_in_flight(payout.worker_id),
                                    -payout.amount_cents),
                                   (ledger.worker_available(payout.worker_id),
                                    payout.amount_cents)],
                            memo=f"Failed: {reason}"[:500], actor=actor,
                            worker_id=payout.worker_id, payout=payout)
    payout.status = PayoutStatus.FAILED
    payout.failure_reason = reason
    return True


def payout_execute(*, payout: Payout) -> str:
    """Steps 2-3: call the provider, then settle, fail, or leave in flight. Returns the
    payout's status afterwards."""
    if payout.status != PayoutStatus.IN_FLIGHT:
        return payout.status
    provider = providers.payout_provider(payout.provider)
    try:
        outcome = provider.transfer(payout)
    except providers.ProviderDeclined as exc:
        payout_fail(payout=payout, reason=str(exc) or "Declined by the provider.")
        return PayoutStatus.FAILED
    except providers.ProviderUnavailable as exc:
        Payout.objects.filter(pk=payout.pk).update(last_error=str(exc)[:2000])
        return PayoutStatus.IN_FLIGHT
    if not outcome.settled:
        return PayoutStatus.IN_FLIGHT  # manual: an admin marks it paid
    payout_settle(payout=payout, reference=outcome.reference)
    return PayoutStatus.PAID


def payout_reconcile(*, payout: Payout) -> str:
    """Resolve one payout left in flight: settle it if the provider has the transfer,
    otherwise retry the transfer with the same idempotency key."""
    if payout.status != PayoutStatus.IN_FLIGHT or payout.provider == PayoutProvider.MANUAL:
        return payout.status
    provider = providers.payout_provider(payout.provider)
    try:
        reference = provider.find(payout)
    except providers.ProviderError as exc:
        Payout.objects.filter(pk=payout.pk).update(last_error=str(exc)[:2000])
        return PayoutStatus.IN_FLIGHT
    if reference:
        payout_settle(payout=payout, reference=reference)
        return PayoutStatus.PAID
    Payout.objects.filter(pk=payout.pk).update(transfer_attempts=F("transfer_attempts") + 1,
                                               last_attempt_at=timezone.now())
    return payout_execute(payout=payout)


def payouts_reconcile(*, older_than_seconds: int | None = None, now=None) -> dict:
    """The reconcile job: every provider payout in flight since before the grace period
    (longer than any client timeout, so the original call is over)."""
    now = now or timezone.now()
    grace = (settings.PAYOUT_RECONCILE_AFTER_SECONDS if older_than_seconds is None
             else older_than_seconds)
    stuck = (Payout.objects.filter(status=PayoutStatus.IN_FLIGHT,
                                   last_attempt_at__lte=now - timedelta(seconds=grace))
             .exclude(provider=PayoutProvider.MANUAL).select_related("payout_account")
             .order_by("pk"))
    outcomes: dict[str, int] = {}
    for payout in list(stuck):
        status = payout_reconcile(payout=payout)
        outcomes[status] = outcomes.get(status, 0) + 1
    # A run row is committed before its job is enqueued; if the enqueue was lost (broker
    # down at that moment), the run is started from here instead of never.
    lost_runs = PayoutRun.objects.filter(status=PayoutRunStatus.QUEUED,
                                         created_at__lte=now - timedelta(seconds=grace))
    for run_id in list(lost_runs.values_list("pk", flat=True)):
        payouts_run(run_id=run_id)
        outcomes["runs_started"] = outcomes.get("runs_started", 0) + 1
    return outcomes


# --- Runs ----------------------------------------------------------------------------------

def _due_accounts(after_worker_id: int, limit: int) -> list[PayoutAccount]:
    """Active payout accounts of workers with at least the minimum available and nothing
    in flight, by worker id (keyset pagination). A hint only: payout_open re-checks the
    balance under its lock."""
    in_flight = Payout.objects.filter(worker_id=OuterRef("worker_id"),
                                      status=PayoutStatus.IN_FLIGHT)
    due = LedgerAccount.objects.filter(kind=AccountKind.WORKER_AVAILABLE,
                                       worker_id=OuterRef("worker_id"),
                                       balance_cents__gte=max(settings.MIN_PAYOUT_CENTS, 1))
    return list(PayoutAccount.objects
                .filter(status=PayoutAccountStatus.ACTIVE, worker_id__gt=after_worker_id)
                .filter(Exists(due)).exclude(Exists(in_flight))
                .order_by("worker_id")[:limit])


def payout_run_start(*, actor: User | None) -> PayoutRun:
    """Record a queued run (admin API / Django admin). flows.payouts.start_run enqueues its
    job after commit (services never enqueue: .importlinter)."""
    with transaction.atomic():
        run = PayoutRun.objects.create(created_by=actor)
        audit("payout_run_started", actor=actor, run_id=run.pk)
    return run


def payout_run_release_holds(*, run: PayoutRun) -> int:
    """A run's first step: release every earning whose hold has ended, so a run started
    right after approvals (say with EARNINGS_HOLD_SECONDS=0) pays them instead of waiting
    for the periodic release job. Counted on the run; safe to repeat (each earning is
    released once)."""
    released = earnings_release_due()
    if released:
        PayoutRun.objects.filter(pk=run.pk).update(
            earnings_released=F("earnings_released") + released)
    return released


def payouts_run(*, run_id: int | None = None) -> PayoutRun:
    """Pay every worker with an active payout account and available >= MIN_PAYOUT_CENTS.

    Safe to run twice or concurrently, and after a crash: a worker's balance moves into
    flight once; what was left in flight belongs to the reconcile job.
    """
    run = (PayoutRun.objects.get(pk=run_id) if run_id is not None
           else PayoutRun.objects.create())
    if run.status == PayoutRunStatus.FINISHED:
        return run
    PayoutRun.objects.filter(pk=run.pk).update(status=PayoutRunStatus.RUNNING,
                                               started_at=run.started_at or timezone.now())
    payout_run_release_holds(run=run)
    counts = {PayoutStatus.PAID: 0, PayoutStatus.FAILED: 0, "created": 0}
    last_worker_id = 0
    while True:
        accounts = _due_accounts(last_worker_id, DUE_BATCH)
        for account in accounts:
            payout = payout_open(worker_id=account.worker_id, run=run, account=account)
            if payout is None:
                continue
            counts["created"] += 1
            status = payout_execute(payout=payout)
            if status in counts:
                counts[status] += 1
        if len(accounts) < DUE_BATCH:
            break
        last_worker_id = accounts[-1].worker_id
    PayoutRun.objects.filter(pk=run.pk).update(
        status=PayoutRunStatus.FINISHED, finished_at=timezone.now(),
        payouts_created=F("payouts_created") + counts["created"],
        payouts_paid=F("payouts_paid") + counts[PayoutStatus.PAID],
        payouts_failed=F("payouts_failed") + counts[PayoutStatus.FAILED])
    run.refresh_from_db()
    return run


# --- Admin actions ----------------------------------------------------------------------------

def _require_in_flight(payout: Payout) -> None:
    if payout.status != PayoutStatus.IN_FLIGHT:
        raise Conflict(f"This payout is {payout.status}, not in flight.",
                       code="payout_not_in_flight")


def payout_mark_paid(*, payout: Payout, actor: User, reference: str = "") -> Payout:
    """An admin confirms a manual payout went out (bank reference)."""
    _require_in_flight(payout)
    if payout.provider != PayoutProvider.MANUAL:
        raise Conflict("Only manual payouts are marked paid by hand; provider payouts are "
                       "reconciled with the provider.", code="payout_not_manual")
    reference = (reference or "").strip() or f"manual:{actor.pk}"
    if not payout_settle(payout=payout, reference=reference, actor=actor):
        raise Conflict("This payout was settled meanwhile.", code="payout_not_in_flight")
    audit("payout_marked_paid", actor=actor, payout=payout, reference=reference)
    return payout


def payout_mark_failed(*, payout: Payout, actor: User, reason: str) -> Payout:
    """An admin records that a manual payout could not be made; the money returns."""
    reason = required_text(reason)
    _require_in_flight(payout)
    if payout.provider != PayoutProvider.MANUAL:
        raise Conflict("Provider payouts fail through the provider's answer, not by hand.",
                       code="payout_not_manual")
    if not payout_fail(payout=payout, reason=reason, actor=actor):
        raise Conflict("This payout was settled meanwhile.", code="payout_not_in_flight")
    audit("payout_marked_failed", actor=actor, payout=payout, reason=reason)
    return payout


def payout_retry(*, payout: Payout, actor: User) -> str:
    """Admin "retry": reconcile this payout now instead of waiting for the job."""
    _require_in_flight(payout)
    status = payout_reconcile(payout=payout)
    audit("payout_retried", actor=actor, payout=payout, status=status)
    return status
