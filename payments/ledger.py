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
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.models import BigIntegerField, Case, F, Value, When
from django.utils import timezone

from .enums import EXTERNAL_KINDS, AccountKind
from .models import Entry, Journal, LedgerAccount


class LedgerError(Exception):
    """A programming error: an unbalanced or empty journal. Never user input."""


class InsufficientFunds(Exception):
    def __init__(self, account: LedgerAccount, *, needed_cents: int,
                 balance_cents: int | None = None):
        self.account = account
        self.balance_cents = account.balance_cents if balance_cents is None else balance_cents
        self.needed_cents = needed_cents
        self.shortfall_cents = needed_cents - self.balance_cents
        super().__init__(f"{account.key} holds {self.balance_cents} cents; "
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


@dataclass(frozen=True)
class Posting:
    """One journal to post: ``lines`` are (account, signed amount) pairs; ``causes`` are
    the Journal foreign keys naming what caused it (organization, project, worker,
    assignment, topup, manual_credit, bonus, payout)."""

    key: str
    kind: str
    lines: list[tuple[AccountRef, int]]
    memo: str = ""
    actor: object = None
    causes: dict = field(default_factory=dict)


def post_journal(*, key: str, kind: str, lines: list[tuple[AccountRef, int]], memo: str = "",
                 actor=None, locked: dict[str, LedgerAccount] | None = None,
                 **causes) -> Journal:
    """Post one balanced journal inside the caller's transaction (``post_journals`` for
    one). ``locked`` passes accounts the caller already locked in this transaction with
    ``lock_accounts`` (saves a query). Raises InsufficientFunds (nothing written) when a
    non-external account would go negative, LedgerError when the lines do not balance,
    IntegrityError when the key was posted before.
    """
    return post_journals([Posting(key=key, kind=kind, lines=lines, memo=memo, actor=actor,
                                  causes=causes)], locked=locked)[0]


def post_journals(postings: list[Posting], *,
                  locked: dict[str, LedgerAccount] | None = None) -> list[Journal]:
    """Post balanced journals inside the caller's transaction, in a fixed number of
    statements however many there are (a payout batch posts hundreds): the journals in
    one insert, their entries in one, every cached balance in one update.

    Each posting is checked as if posted alone and in order: it balances, has two or more
    non-zero lines, and leaves no non-external account below zero after the postings
    before it. Any refusal raises before anything is written (InsufficientFunds,
    LedgerError); a key posted before raises IntegrityError from the unique index.
    """
    if not postings:
        return []
    checked = []
    for posting in postings:
        lines = [(ref, int(amount)) for ref, amount in posting.lines if amount]
        if sum(amount for _ref, amount in lines) != 0:
            raise LedgerError(f"journal {posting.key!r} does not balance: {lines!r}")
        if len(lines) < 2:
            raise LedgerError(f"journal {posting.key!r} needs two or more non-zero lines")
        checked.append((posting, lines))
    wanted = {ref.key: ref for _posting, lines in checked for ref, _amount in lines}
    if locked is not None and all(key in locked for key in wanted):
        accounts = locked
    else:
        accounts = lock_accounts(wanted.values())
    balances = {key: accounts[key].balance_cents for key in wanted}
    for _posting, lines in checked:
        deltas: dict[str, int] = defaultdict(int)
        for ref, amount in lines:
            deltas[ref.key] += amount
        for account_key, delta in deltas.items():
            account = accounts[account_key]
            if (delta < 0 and account.kind not in EXTERNAL_KINDS
                    and balances[account_key] + delta < 0):
                raise InsufficientFunds(account, needed_cents=-delta,
                                        balance_cents=balances[account_key])
            balances[account_key] += delta
    if connection.vendor == "postgresql":
        journals = _insert_postgresql(checked, accounts)
    else:
        journals = Journal.objects.bulk_create(
            Journal(key=posting.key, kind=posting.kind, memo=posting.memo[:500],
                    actor=posting.actor, **posting.causes) for posting, _lines in checked)
        Entry.objects.bulk_create(
            Entry(journal_id=journal.pk, account_id=accounts[ref.key].pk, amount_cents=amount)
            for journal, (_posting, lines) in zip(journals, checked) for ref, amount in lines)
    changed = {accounts[key].pk: balances[key] - accounts[key].balance_cents
               for key in wanted if balances[key] != accounts[key].balance_cents}
    if changed:
        _add_to_balances(changed)
    for key in wanted:
        accounts[key].balance_cents = balances[key]
    return journals


_JOURNAL_FIELDS = [field for field in Journal._meta.concrete_fields if not field.primary_key]


def _insert_postgresql(checked, accounts: dict[str, LedgerAccount]) -> list[Journal]:
    """The journals and their entries in two INSERT ... SELECT FROM unnest(arrays)
    statements, column by column: the same rows bulk_create writes, without building
    and preparing a model instance per row and value first (that was half the Python
    time of a payout batch's ledger work). Journal instances are built for the caller
    from the returned ids."""
    now = timezone.now()
    columns: dict[str, list] = {field.attname: [] for field in _JOURNAL_FIELDS}
    rows = []
    for posting, _lines in checked:
        row = {"key": posting.key, "kind": posting.kind, "memo": posting.memo[:500],
               "actor_id": posting.actor.pk if posting.actor is not None else None}
        for name, value in posting.causes.items():
            row[Journal._meta.get_field(name).attname] = getattr(value, "pk", value)
        for field in _JOURNAL_FIELDS:
            if field.attname in row:
                value = row[field.attname]
            elif getattr(field, "auto_now_add", False) or getattr(field, "auto_now", False):
                value = row[field.attname] = now
            else:
                value = row[field.attname] = field.get_default()
            columns[field.attname].append(value)
        rows.append(row)
    names = ", ".join(connection.ops.quote_name(field.column) for field in _JOURNAL_FIELDS)
    arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in _JOURNAL_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(f'INSERT INTO "{Journal._meta.db_table}" ({names}) '
                       f'SELECT * FROM unnest({arrays}) RETURNING "id", "key"',
                       [columns[field.attname] for field in _JOURNAL_FIELDS])
        ids = {key: pk for pk, key in cursor.fetchall()}
        entries = [(ids[posting.key], accounts[ref.key].pk, amount)
                   for posting, lines in checked for ref, amount in lines]
        cursor.execute(
            f'INSERT INTO "{Entry._meta.db_table}" (journal_id, account_id, amount_cents) '
            "SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[])",
            [list(column) for column in zip(*entries)])
    journals = []
    for row in rows:
        journal = Journal(id=ids[row["key"]], **row)
        journal._state.adding = False
        journal._state.db = connection.alias
        journals.append(journal)
    return journals


def _add_to_balances(changed: dict[int, int]) -> None:
    """One UPDATE adding each delta to its account's cached balance (rows already locked,
    in pk order). On PostgreSQL the pairs travel as two arrays: a CASE of hundreds of
    branches costs milliseconds to build and evaluate."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f'UPDATE "{LedgerAccount._meta.db_table}" AS account '
                "SET balance_cents = account.balance_cents + change.delta "
                "FROM unnest(%s::bigint[], %s::bigint[]) AS change(id, delta) "
                "WHERE account.id = change.id",
                [list(changed), list(changed.values())])
        return
    LedgerAccount.objects.filter(pk__in=changed).update(
        balance_cents=F("balance_cents") + Case(
            *[When(pk=pk, then=Value(delta)) for pk, delta in changed.items()],
            output_field=BigIntegerField()))
