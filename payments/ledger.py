"""Posting to the ledger: the only code that writes journals, entries and cached balances.

Guarantees, for every ``post_journal`` call that commits:
- the journal's entries sum to zero (checked here; on PostgreSQL also by a deferred
  constraint trigger at commit, and entries/journals reject UPDATE and DELETE);
- a journal key is posted at most once (unique index; callers derive keys from domain
  ids, so a retried job or a replayed webhook collides instead of paying twice);
- an account that is not external never goes below zero (checked under the row lock here,
  and by a CHECK constraint on the cached balance);
- a cached balance equals the sum of its entries: both change in the same transaction,
  under the account's row lock.

Locks: accounts are locked with SELECT ... FOR UPDATE in primary-key order - the last
step of the global order Project -> Task -> Assignment -> payments rows (top-up, payout,
earning) -> ledger accounts - so two postings never wait on each other in a cycle.
"""
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db.models import BigIntegerField, Case, F, Value, When

from .enums import EXTERNAL_KINDS, AccountKind
from .models import Entry, Journal, LedgerAccount


class LedgerError(Exception):
    """A programming error: an unbalanced or empty journal. Never user input."""


class InsufficientFunds(Exception):
    def __init__(self, account: LedgerAccount, *, needed_cents: int):
        self.account = account
        self.balance_cents = account.balance_cents
        self.needed_cents = needed_cents
        self.shortfall_cents = needed_cents - account.balance_cents
        super().__init__(f"{account.key} holds {account.balance_cents} cents; "
                         f"{needed_cents} needed")


@dataclass(frozen=True)
class AccountRef:
    """Names an account without loading it; the row is created on first use."""

    kind: str
    organization_id: int | None = None
    project_id: int | None = None
    worker_id: int | None = None

    @property
    def key(self) -> str:
        if self.kind == AccountKind.ORGANIZATION_AVAILABLE:
            return f"org:{self.organization_id}:available"
        if self.kind == AccountKind.PROJECT_ESCROW:
            return f"project:{self.project_id}:escrow"
        if self.kind == AccountKind.WORKER_PENDING:
            return f"worker:{self.worker_id}:pending"
        if self.kind == AccountKind.WORKER_AVAILABLE:
            return f"worker:{self.worker_id}:available"
        if self.kind == AccountKind.PAYOUT_IN_FLIGHT:
            return f"worker:{self.worker_id}:in_flight"
        return f"platform:{self.kind}"

    def new_row(self) -> LedgerAccount:
        return LedgerAccount(key=self.key, kind=self.kind,
                             organization_id=self.organization_id,
                             project_id=self.project_id, worker_id=self.worker_id)


def organization_available(organization_id: int) -> AccountRef:
    return AccountRef(AccountKind.ORGANIZATION_AVAILABLE, organization_id=organization_id)


def project_escrow(project) -> AccountRef:
    return AccountRef(AccountKind.PROJECT_ESCROW, organization_id=project.organization_id,
                      project_id=project.pk)


def worker_pending(worker_id: int) -> AccountRef:
    return AccountRef(AccountKind.WORKER_PENDING, worker_id=worker_id)


def worker_available(worker_id: int) -> AccountRef:
    return AccountRef(AccountKind.WORKER_AVAILABLE, worker_id=worker_id)


def payout_in_flight(worker_id: int) -> AccountRef:
    return AccountRef(AccountKind.PAYOUT_IN_FLIGHT, worker_id=worker_id)


PLATFORM_FEES = AccountRef(AccountKind.PLATFORM_FEES)
EXTERNAL_FUNDING = AccountRef(AccountKind.EXTERNAL_FUNDING)
EXTERNAL_PAYOUTS = AccountRef(AccountKind.EXTERNAL_PAYOUTS)


def platform_fee_cents(amount_cents: int) -> int:
    """The platform's fee on top of a worker's pay, rounded half up. Monotonic in the
    amount, so the fee on a capped hourly payment never exceeds the fee reserved for it."""
    return (amount_cents * settings.PLATFORM_FEE_PERCENT + 50) // 100


def balance_of(ref: AccountRef) -> int:
    """Read without locking (reports, selectors). Decisions use ``lock_accounts``."""
    return (LedgerAccount.objects.filter(key=ref.key).values_list("balance_cents", flat=True)
            .first() or 0)


def lock_accounts(refs) -> dict[str, LedgerAccount]:
    """Lock the accounts (creating missing ones) in primary-key order; by key.

    The common case is one query. An account used for the first time is inserted first
    (ON CONFLICT DO NOTHING: a concurrent first use waits on the unique index, then both
    see the same row) and everything is locked again in pk order.
    """
    wanted = {ref.key: ref for ref in refs}
    locked = {account.key: account for account in
              LedgerAccount.objects.select_for_update(no_key=True).filter(key__in=wanted).order_by("pk")}
    missing = [ref for key, ref in wanted.items() if key not in locked]
    if missing:
        LedgerAccount.objects.bulk_create([ref.new_row() for ref in missing],
                                          ignore_conflicts=True)
        locked = {account.key: account for account in
                  LedgerAccount.objects.select_for_update(no_key=True).filter(key__in=wanted)
                  .order_by("pk")}
    return locked


def post_journal(*, key: str, kind: str, lines: list[tuple[AccountRef, int]], memo: str = "",
                 actor=None, locked: dict[str, LedgerAccount] | None = None,
                 **causes) -> Journal:
    """Post one balanced journal inside the caller's transaction.

    ``lines`` are (account, signed amount) pairs; zero lines are dropped. ``causes`` are
    the Journal foreign keys naming what caused it (organization, project, worker,
    assignment, topup, manual_credit, bonus, payout). ``locked`` passes accounts the
    caller already locked in this transaction with ``lock_accounts`` (saves a query).
    Raises InsufficientFunds (nothing
    written) when a non-external account would go negative, LedgerError when the lines
    do not balance, IntegrityError when the key was posted before.
    """
    lines = [(ref, int(amount)) for ref, amount in lines if amount]
    if sum(amount for _ref, amount in lines) != 0:
        raise LedgerError(f"journal {key!r} does not balance: {lines!r}")
    if len(lines) < 2:
        raise LedgerError(f"journal {key!r} needs two or more non-zero lines")
    if locked is not None and all(ref.key in locked for ref, _amount in lines):
        accounts = locked
    else:
        accounts = lock_accounts(ref for ref, _amount in lines)
    deltas: dict[str, int] = defaultdict(int)
    for ref, amount in lines:
        deltas[ref.key] += amount
    for account_key, delta in deltas.items():
        account = accounts[account_key]
        if (delta < 0 and account.kind not in EXTERNAL_KINDS
                and account.balance_cents + delta < 0):
            raise InsufficientFunds(account, needed_cents=-delta)
    journal = Journal.objects.create(key=key, kind=kind, memo=memo[:500], actor=actor, **causes)
    Entry.objects.bulk_create(Entry(journal=journal, account_id=accounts[ref.key].pk,
                                    amount_cents=amount) for ref, amount in lines)
    changed = {accounts[k].pk: delta for k, delta in deltas.items() if delta}
    if changed:
        # One UPDATE for all accounts (rows already locked above, in pk order).
        LedgerAccount.objects.filter(pk__in=changed).update(
            balance_cents=F("balance_cents") + Case(
                *[When(pk=pk, then=Value(delta)) for pk, delta in changed.items()],
                output_field=BigIntegerField()))
    for account_key, delta in deltas.items():
        accounts[account_key].balance_cents += delta
    return journal
