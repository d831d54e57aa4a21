"""The one lock order of the whole system, and a recorder that checks code against it.

Two transactions can wait on each other in a cycle only if they lock the same rows in
different orders. Every transaction that locks or updates more than one kind of row
takes them in the order of ``LOCK_ORDER`` below (rows of one table by primary key):

    WorkerProfile  (a claim serialises one worker's requests first)
    Project -> AutomationSettings -> Task -> Assignment -> Answer (GoldSeen) -> Item
        -> Prediction
    Review -> Dispute
    quality records (WorkerProjectStats -> WorkerSkillStats -> QualityAction)
    worker skills
    payments rows (Bonus, Earning, Payout, TopUp)
    ledger accounts (by pk)
    outbox and logs (webhook deliveries, events)

Rows are locked through each app's ``locks.py`` helpers (or ``payments.ledger
.lock_accounts``) and always as ``FOR NO KEY UPDATE``: a foreign-key insert takes
``FOR KEY SHARE`` on the parent row when the transaction commits (Django's constraints are
deferred), and ``FOR KEY SHARE`` conflicts with ``FOR UPDATE`` but not with ``FOR NO KEY
UPDATE``. With plain ``FOR UPDATE`` a bonus (ledger accounts, then the project at commit)
and a project completion (project, then ledger accounts) deadlocked.

The claim on PostgreSQL (marketplace/services/claim_sql.py) is one statement after the
worker lock (both sent in one pipeline, one implicit transaction): the recorder sees its pick (``FROM "marketplace_task" ... FOR NO KEY UPDATE
SKIP LOCKED``, the statement's first table); its slot update, inserts (assignment, answers,
gold seen, pseudonym) follow in that order inside it.

``recorded_row_locks`` lists the tables whose rows a block of code locks or updates, in
order; ``assert_lock_order`` fails when that order goes backwards or a lock is a
key-strength ``FOR UPDATE``. Tests run every flow under it. Coming back to a table locked
earlier in the same block passes (the flow holds that row already: an update after its
own lock); the recorder does not see row ids.
"""
import re
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connections

LOCK_ORDER: tuple[tuple[str, ...], ...] = (
    ("workers_workerprofile",),
    ("marketplace_project",),
    ("automation_automationsettings",),
    ("marketplace_task",),
    ("marketplace_assignment",),
    ("marketplace_answer", "marketplace_goldseen"),
    ("marketplace_item",),
    ("automation_prediction", "automation_builtinmodelrun"),
    ("qa_review",),
    ("qa_dispute",),
    ("qa_workerprojectstats",),
    ("qa_workerskillstats",),
    ("qa_qualityaction",),
    ("workers_workerskill",),
    ("payments_bonus", "payments_earning", "payments_payout", "payments_topup",
     "payments_payoutrun"),
    ("payments_ledgeraccount",),
    ("marketplace_webhookendpoint", "marketplace_webhookdelivery",
     "marketplace_itemimport", "workers_workerapplication", "workers_examattempt",
     "automation_predictionendpoint", "automation_predictionrun"),
)
RANK = {table: rank for rank, tables in enumerate(LOCK_ORDER) for table in tables}

_LOCKING_SELECT = re.compile(
    r'\bFROM\s+"(?P<table>\w+)".*\bFOR\s+(?P<strength>NO KEY UPDATE|UPDATE|SHARE|KEY SHARE)'
    r'(?:\s+OF\s+[^\s]+)?(?P<skip>\s+SKIP LOCKED)?',
    re.S | re.I)
_UPDATE = re.compile(r'^\s*UPDATE\s+"(?P<table>\w+)"', re.I)
_DELETE = re.compile(r'^\s*DELETE\s+FROM\s+"(?P<table>\w+)"', re.I)


@dataclass(frozen=True)
class RowLock:
    table: str
    how: str  # "NO KEY UPDATE", "UPDATE", "SHARE", "KEY SHARE", "update", "delete"
    skip_locked: bool = False


def _lock_of(sql: str) -> RowLock | None:
    if match := _UPDATE.match(sql):
        return RowLock(match["table"], "update")
    if match := _DELETE.match(sql):
        return RowLock(match["table"], "delete")
    if match := _LOCKING_SELECT.search(sql):
        return RowLock(match["table"], match["strength"].upper(), bool(match["skip"]))
    return None


@contextmanager
def recorded_row_locks(using: str = "default"):
    """Yield a list that fills with a RowLock per statement that locks or changes rows."""
    locks: list[RowLock] = []

    def record(execute, sql, params, many, context):
        lock = _lock_of(sql)
        if lock is not None:
            locks.append(lock)
        return execute(sql, params, many, context)

    with connections[using].execute_wrapper(record):
        yield locks


def lock_order_problems(locks: list[RowLock]) -> list[str]:
    problems = []
    highest, highest_table = -1, None
    seen: set[str] = set()
    for lock in locks:
        if lock.table not in RANK:
            problems.append(f"{lock.table} is not in config.lock_order.LOCK_ORDER")
            continue
        if lock.how == "UPDATE" and not lock.skip_locked:
            # A key-strength lock waits on every foreign-key insert's commit-time check.
            problems.append(f"{lock.table} locked FOR {lock.how}: use FOR NO KEY UPDATE")
        rank = RANK[lock.table]
        if rank < highest and lock.table not in seen:
            problems.append(f"{lock.table} locked after {highest_table}")
        seen.add(lock.table)
        if rank > highest:
            highest, highest_table = rank, lock.table
    return problems


def assert_lock_order(locks: list[RowLock]) -> None:
    problems = lock_order_problems(locks)
    assert not problems, "Lock order broken:\n  " + "\n  ".join(
        problems + ["sequence: " + " -> ".join(f"{lock.table}({lock.how})" for lock in locks)])
