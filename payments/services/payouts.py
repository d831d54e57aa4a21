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
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from accounts.models import User
from config.bulk import bulk_update
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
    if account is None:
        account = (PayoutAccount.objects.filter(worker_id=worker_id,
                                                status=PayoutAccountStatus.ACTIVE).first())
    if account is None:
        return None
    opened = payouts_open_many(accounts=[account], run=run)
    return opened[0] if opened else None


def payouts_open_many(*, accounts: list[PayoutAccount],
                      run: PayoutRun | None = None) -> list[Payout]:
    """Step 1 for many workers in one transaction (one commit for a whole batch): a
    payout for each worker whose account is due, the money moved into flight. Workers
    below the minimum or with a payout still in flight are skipped."""
    if not accounts:
        return []
    with transaction.atomic(durable=True):
        refs = {account.worker_id: (ledger.worker_available(account.worker_id),
                                    ledger.payout_in_flight(account.worker_id))
                for account in accounts}
        # Every account of the batch, locked in primary-key order in one query.
        locked = ledger.lock_accounts([ref for pair in refs.values() for ref in pair])
        now = timezone.now()
        due = []
        for account in accounts:
            available, in_flight = refs[account.worker_id]
            amount = locked[available.key].balance_cents
            # Money in flight means a payout is still unresolved: the reconcile job owns it.
            if amount < max(settings.MIN_PAYOUT_CENTS, 1) or locked[in_flight.key].balance_cents:
                continue
            due.append(Payout(worker_id=account.worker_id, payout_account=account, run=run,
                              amount_cents=amount, provider=account.provider,
                              transfer_attempts=1, last_attempt_at=now))
        payouts = Payout.objects.bulk_create(due)
        ledger.post_journals([
            ledger.Posting(key=f"payout:{payout.pk}", kind=JournalKind.PAYOUT_START,
                           lines=[(refs[payout.worker_id][0], -payout.amount_cents),
                                  (refs[payout.worker_id][1], payout.amount_cents)],
                           memo=f"Payout {payout.pk} via {payout.provider}",
                           causes={"worker_id": payout.worker_id, "payout": payout})
            for payout in payouts], locked=locked)
    return payouts


def payout_settle(*, payout: Payout, reference: str, actor: User | None = None) -> bool:
    """In flight -> paid: the money has left. False if the payout was no longer in flight
    (settled or failed by someone else first)."""
    return bool(payouts_settle_many(settled=[(payout, reference)], actor=actor))


def payouts_settle_many(*, settled: list[tuple[Payout, str]],
                        actor: User | None = None) -> int:
    """In flight -> paid for many (payout, provider reference) pairs in one transaction;
    the payouts no longer in flight (settled or failed by someone else first) are left
    alone. Returns how many were settled. One commit, and the external payouts account
    (one row shared by every settle) locked once, for the whole batch."""
    if not settled:
        return 0
    references = {payout.pk: reference[:255] for payout, reference in settled}
    with transaction.atomic(durable=True):
        moving = _mark_paid(references, actor=actor)
        if not moving:
            return 0
        locked = ledger.lock_accounts([ledger.payout_in_flight(payout.worker_id)
                                       for payout in moving] + [ledger.EXTERNAL_PAYOUTS])
        ledger.post_journals([
            ledger.Posting(key=f"payout_settle:{payout.pk}", kind=JournalKind.PAYOUT_SETTLE,
                           lines=[(ledger.payout_in_flight(payout.worker_id),
                                   -payout.amount_cents),
                                  (ledger.EXTERNAL_PAYOUTS, payout.amount_cents)],
                           memo=f"Paid: {references[payout.pk]}"[:500], actor=actor,
                           causes={"worker_id": payout.worker_id, "payout": payout})
            for payout in moving], locked=locked)
    moved = {payout.pk for payout in moving}
    for payout, reference in settled:
        if payout.pk in moved:
            payout.status = PayoutStatus.PAID
            payout.provider_reference = reference
    return len(moving)


def _mark_paid(references: dict[int, str], *, actor: User | None) -> list[Payout]:
    """Compare-and-swap in flight -> paid for the payouts in ``references`` (pk ->
    provider reference) under their row locks, taken in pk order (payments rows before
    ledger accounts). Returns the payouts that moved, by pk, with worker_id and
    amount_cents."""
    moving = [Payout(pk=pk, worker_id=worker_id, amount_cents=amount_cents,
                     status=PayoutStatus.PAID)
              for pk, worker_id, amount_cents in Payout.objects.select_for_update(no_key=True)
              .filter(pk__in=references, status=PayoutStatus.IN_FLIGHT).order_by("pk")
              .values_list("pk", "worker_id", "amount_cents")]
    if not moving:
        return moving
    now = timezone.now()
    for payout in moving:
        payout.provider_reference = references[payout.pk]
        payout.settled_at, payout.settled_by, payout.last_error = now, actor, ""
    # One statement for the batch (config/bulk.py): the ORM's CASE of one branch per
    # payout cost more Python per batch than the whole rest of the settle.
    bulk_update(Payout, moving, ["status", "provider_reference", "settled_at",
                                 "settled_by", "last_error"])
    return moving


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


def _transfer(payout: Payout) -> tuple[str, str]:
    """Step 2: call the provider. (PAID, reference) when the money left (the caller
    settles), (FAILED, "") after a definite refusal (already returned to the worker),
    (IN_FLIGHT, "") when the outcome is unknown or a manual payout waits for an admin."""
    provider = providers.payout_provider(payout.provider)
    try:
        outcome = provider.transfer(payout)
    except providers.ProviderDeclined as exc:
        payout_fail(payout=payout, reason=str(exc) or "Declined by the provider.")
        return PayoutStatus.FAILED, ""
    except providers.ProviderUnavailable as exc:
        Payout.objects.filter(pk=payout.pk).update(last_error=str(exc)[:2000])
        return PayoutStatus.IN_FLIGHT, ""
    if not outcome.settled:
        return PayoutStatus.IN_FLIGHT, ""  # manual: an admin marks it paid
    return PayoutStatus.PAID, outcome.reference


def payout_execute(*, payout: Payout) -> str:
    """Steps 2-3: call the provider, then settle, fail, or leave in flight. Returns the
    payout's status afterwards."""
    if payout.status != PayoutStatus.IN_FLIGHT:
        return payout.status
    status, reference = _transfer(payout)
    if status == PayoutStatus.PAID:
        payout_settle(payout=payout, reference=reference)
    return status


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

def _due_worker_ids(after_worker_id: int, limit: int) -> list[int]:
    """Workers with an active payout account, at least the minimum available and nothing
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
                .order_by("worker_id").values_list("worker_id", flat=True)[:limit])


def payout_run_start(*, actor: User | None) -> PayoutRun:
    """Record a run (in the caller's transaction); flows.payouts.start_run has the Celery
    job do the work after commit (services never enqueue: .importlinter)."""
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


def payouts_run(*, run_id: int | None = None,
                send_batch: Callable[[int, list[int]], Any] | None = None) -> PayoutRun:
    """Pay every worker with an active payout account and available >= MIN_PAYOUT_CENTS.

    The run only lists the workers due and fans them out to ``pay_payout_batch`` jobs of
    PAYOUT_BATCH_SIZE workers; the jobs open, transfer and settle (payouts_pay_batch) and
    add their counts to the run. ``finished`` means every due worker was handed to a
    batch. Safe to run twice or concurrently, and after a crash: a worker's balance moves
    into flight once; what was left in flight is finished by the redelivered batch or the
    reconcile job. ``send_batch(run_id, worker_ids)`` hands a batch to its job (the
    Celery job passes its batch task's ``delay``); without it batches are paid inline.
    """
    if send_batch is None:
        def send_batch(run_id, worker_ids):
            return payouts_pay_batch(run_id=run_id, worker_ids=worker_ids)
    run = (PayoutRun.objects.get(pk=run_id) if run_id is not None
           else PayoutRun.objects.create())
    if run.status == PayoutRunStatus.FINISHED:
        return run
    PayoutRun.objects.filter(pk=run.pk).update(status=PayoutRunStatus.RUNNING,
                                               started_at=run.started_at or timezone.now())
    payout_run_release_holds(run=run)
    batch_size = settings.PAYOUT_BATCH_SIZE
    last_worker_id = 0
    while True:
        worker_ids = _due_worker_ids(last_worker_id, DUE_BATCH)
        for start in range(0, len(worker_ids), batch_size):
            send_batch(run.pk, worker_ids[start:start + batch_size])
        if len(worker_ids) < DUE_BATCH:
            break
        last_worker_id = worker_ids[-1]
    PayoutRun.objects.filter(pk=run.pk).update(status=PayoutRunStatus.FINISHED,
                                               finished_at=timezone.now())
    run.refresh_from_db()
    return run


def _concurrently(function, payouts: list[Payout], limit: int) -> list:
    """``function(payout)`` for each payout, at most ``limit`` at a time: transfers
    wait on the provider, not on us. Each thread has its own database connection, closed
    when it is done. Inside a transaction (tests) threads could not see its rows, and
    SQLite (zero-setup mode) has one writer anyway: there the calls run one after the
    other in the caller's thread."""
    database = transaction.get_connection()
    if (limit <= 1 or len(payouts) <= 1 or database.in_atomic_block
            or database.vendor != "postgresql"):
        return [function(payout) for payout in payouts]
    from django.db import connections

    pending = list(reversed(payouts))
    outcomes: list[str] = []
    guard = threading.Lock()

    def worker() -> None:
        try:
            while True:
                with guard:
                    if not pending:
                        return
                    payout = pending.pop()
                outcome = function(payout)
                with guard:
                    outcomes.append(outcome)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, name=f"payout-transfer-{index}")
               for index in range(min(limit, len(payouts)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def payouts_pay_batch(*, run_id: int, worker_ids: list[int]) -> dict:
    """One batch of a run: open a payout for each worker still due (each its own
    transaction: the committed in-flight row is the outbox), then transfer and settle
    them, PAYOUT_TRANSFER_CONCURRENCY at a time.

    Exactly once under redelivery: a batch job whose worker process died (SIGKILL, OOM)
    is delivered again (acks_late, reject_on_worker_lost). payout_open then finds the
    money of the workers it had reached already in flight and opens nothing for them;
    their payouts of this run still in flight are reconciled instead: the provider is
    asked for the transfer by transfer group and it is retried only if absent, with the
    same idempotency key. Settling is compare-and-swap on the payout's status.
    """
    run = PayoutRun.objects.get(pk=run_id)
    leftover = list(Payout.objects.filter(run=run, worker_id__in=worker_ids,
                                          status=PayoutStatus.IN_FLIGHT)
                    .exclude(provider=PayoutProvider.MANUAL)
                    .select_related("payout_account").order_by("pk"))
    accounts = list(PayoutAccount.objects.filter(worker_id__in=worker_ids,
                                                 status=PayoutAccountStatus.ACTIVE)
                    .order_by("worker_id"))
    opened = payouts_open_many(accounts=accounts, run=run)
    limit = settings.PAYOUT_TRANSFER_CONCURRENCY
    statuses = _concurrently(lambda payout: payout_reconcile(payout=payout), leftover, limit)
    transfers = _concurrently(lambda payout: (payout, *_transfer(payout)), opened, limit)
    payouts_settle_many(settled=[(payout, reference) for payout, status, reference
                                 in transfers if status == PayoutStatus.PAID])
    statuses += [status for _payout, status, _reference in transfers]
    counts = {"created": len(opened), "reconciled": len(leftover),
              PayoutStatus.PAID: statuses.count(PayoutStatus.PAID),
              PayoutStatus.FAILED: statuses.count(PayoutStatus.FAILED)}
    PayoutRun.objects.filter(pk=run.pk).update(
        payouts_created=F("payouts_created") + counts["created"],
        payouts_paid=F("payouts_paid") + counts[PayoutStatus.PAID],
        payouts_failed=F("payouts_failed") + counts[PayoutStatus.FAILED])
    return counts


# --- Admin actions ----------------------------------------------------------------------------

def _require_in_flight(payout: Payout) -> None:
    if payout.status != PayoutStatus.IN_FLIGHT:
        raise Conflict(f"This payout is {payout.status}, not in flight.",
                       code="payout_not_in_flight")


def payout_mark_paid(*, payout: Payout, actor: User, reference: str) -> Payout:
    """An admin confirms a manual payout went out, with the bank transfer's reference: the
    one thing that lets the worker and an auditor find the money (never invented)."""
    _require_in_flight(payout)
    if payout.provider != PayoutProvider.MANUAL:
        raise Conflict("Only manual payouts are marked paid by hand; provider payouts are "
                       "reconciled with the provider.", code="payout_not_manual")
    reference = required_text(reference, field="reference",
                              message="The bank transfer's reference is required.")
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
