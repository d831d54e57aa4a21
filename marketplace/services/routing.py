"""Claiming work: the hot path.

Guarantee: no task ever has more slot-holding assignments than its overlap, and no
worker ever holds the same task twice, under any concurrency. Three things make it so:
1. the candidate task is locked with SELECT ... FOR UPDATE SKIP LOCKED, so concurrent
   claims spread over different tasks instead of queueing on one (PostgreSQL; SQLite runs
   IMMEDIATE transactions, which serialise claims);
2. the slot is taken by ``UPDATE task SET filled = filled + 1 WHERE filled < overlap``,
   and a CHECK (filled <= overlap) constraint backs it;
3. a unique (task, worker) constraint on assignments.
A worker holds at most one live lease: each claim first locks the worker's row, so two
requests of one worker (a retry, a second tab) run one after the other and the second
finds the first one's lease. A lease that is never submitted simply expires
(``assignments_expire_overdue``).

On PostgreSQL the pick, the slot, the assignment, its answer rows, the gold-seen record and
the pseudonym are one statement (claim_sql.py), sent with the worker lock in one round
trip (_claim_postgresql); SQLite (``make run``) takes the same steps through the ORM
below. Both read the worker's routable projects from routing_cache.py and try them by
priority level, then order: tasks others started first, or, for projects in automation
mode "active", the most uncertain first (Task.routing_score).
"""
import random
from contextlib import ExitStack, nullcontext
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from config.compiled_query import CompiledQuery, pipelined, prepared_cursor
from config.errors import Conflict
from workers.models import WorkerProfile

from ..enums import AssignmentStatus, PayModel, ProjectStatus
from ..models import Answer, Assignment, GoldSeen, Item, Task, WorkerPseudonym
from ..routing_cache import routable_project_list
from ..selectors import claimable_tasks
from .claim_sql import ORDERS, claim_statement, claimed_from_rows
from .pseudonyms import pseudonym_value

CLAIM_ATTEMPTS = 3
ACTIVE_MODE = "active"
_random = random.SystemRandom()

# (project ids, order) in the order routing tries them.
Group = tuple[list[int], str]


def _groups(projects: list[tuple[int, int, str]]) -> list[Group]:
    """Highest priority first; within a level, the ordinary projects, then the "active"
    ones. One group is one index-ordered scan (a single order per statement)."""
    groups: dict[tuple[int, bool], list[int]] = {}
    for pk, priority, mode in projects:
        groups.setdefault((-priority, mode == ACTIVE_MODE), []).append(pk)
    return [(ids, "active" if is_active else "default")
            for (_, is_active), ids in sorted(groups.items())]


def _next_task(*, worker: WorkerProfile, project_ids: list[int], order: str) -> Task | None:
    """The ORM path: lock the best open task of these projects for this worker."""
    return (claimable_tasks(worker=worker, project_ids=project_ids)
            .filter(project__status=ProjectStatus.ACTIVE)  # even from a stale cache entry
            .select_for_update(no_key=True, skip_locked=True, of=("self",))
            .select_related("project")
            .order_by(*ORDERS[order])
            .first())


def _serve_items(assignment: Assignment, task: Task, worker: WorkerProfile) -> None:
    """The task's items in order, plus unseen gold items at random positions."""
    project = task.project
    gold_ids: list[int] = []
    if project.gold_per_task:
        seen = GoldSeen.objects.filter(worker=worker, item=OuterRef("pk"))
        # Retired gold (services/gold.py) is never served again. Drawn by this module's
        # generator rather than ORDER BY RANDOM(): SQLite's cannot be seeded, and the
        # simulation seeds the generator so that one seed gives one report.
        unseen = list(Item.objects.filter(project=project, is_gold=True,
                                          retired_at__isnull=True)
                      .exclude(Exists(seen)).order_by("pk").values_list("pk", flat=True))
        gold_ids = _random.sample(unseen, min(len(unseen), project.gold_per_task))
        GoldSeen.objects.bulk_create([GoldSeen(worker=worker, item_id=pk) for pk in gold_ids],
                                     ignore_conflicts=True)
    item_ids = list(Item.objects.filter(task=task).order_by("pk").values_list("pk", flat=True))
    served = [(item_id, False) for item_id in item_ids]
    for gold_id in gold_ids:
        served.insert(_random.randint(0, len(served)), (gold_id, True))
    Answer.objects.bulk_create(
        Answer(assignment=assignment, item_id=item_id, position=position, is_gold=is_gold)
        for position, (item_id, is_gold) in enumerate(served))


_LIVE_LEASE = CompiledQuery(  # the lease a claim gives back instead of a second one
    lambda worker_id, now: Assignment.objects.filter(
        worker_id=worker_id, status=AssignmentStatus.ASSIGNED, expires_at__gt=now)
    .select_related("project").order_by("created_at")[:1], worker_id=int, now=datetime)


def _lock_worker(worker: WorkerProfile) -> None:
    _WORKER_LOCK.fetch(worker_id=worker.pk)


# FOR NO KEY UPDATE: serialises this worker's claims without blocking the inserts that
# merely reference the worker row (they take FOR KEY SHARE). Taken before any task lock,
# and the task locks are SKIP LOCKED, so claims cannot deadlock on it.
_WORKER_LOCK = CompiledQuery(  # every claim
    lambda worker_id: WorkerProfile.objects.select_for_update(no_key=True)
    .filter(pk=worker_id).values_list("pk", flat=True), worker_id=int)


def _live_or_conflict(*, worker: WorkerProfile, project_id: int | None) -> Assignment | None:
    live = _LIVE_LEASE.fetch(worker_id=worker.pk, now=timezone.now())
    lease = live[0] if live else None
    if lease is not None and project_id is not None and lease.project_id != project_id:
        raise Conflict(
            f"You hold a live lease on assignment {lease.pk} (project {lease.project_id}); "
            "submit or return it before taking work on another project.",
            code="live_lease")
    return lease


def _claim_postgresql(*, worker: WorkerProfile, project_id: int | None,
                      groups: list[Group]) -> Assignment | None:
    """The worker lock and each group's claim statement in routing order, sent to
    PostgreSQL together (psycopg's pipeline mode) and read back in one round trip, where
    a transaction of them took one per statement plus BEGIN and COMMIT (4 for a new
    lease). Same guarantees as statements sent one by one: the server runs them in order
    and, under READ COMMITTED, gives each its own snapshot, so the claims' are taken once
    the lock is granted and see a lease a concurrent request of the worker committed
    meanwhile. A claim picks nothing while the worker holds a live lease, its own
    transaction's included: after one group's claim took a task the later ones stop at a
    one-time filter. Outside a transaction the statements up to the pipeline's Sync are
    one implicit transaction, committed at the Sync and rolled back whole, the worker's
    lock included, if one fails; inside a caller's transaction they run under a
    savepoint.

    When no claim took a task the worker's live lease is looked up afterwards, in a
    statement of its own: the claims saw, after the lock, either no free task or a live
    lease. A lease only ends (submitted, returned, expired) or, once the lock is released,
    is taken by a concurrent request of the worker; the lookup reports whichever stands
    when it runs, as if this request had come after that one. (Looked up before the
    lock, two concurrent requests could both miss the lease one of them then took.)"""
    if groups:
        now = timezone.now()
        statements = [
            _WORKER_LOCK.sql_with_params(worker_id=worker.pk),
            *(claim_statement(worker=worker, project_ids=project_ids, order=order, now=now)
              for project_ids, order in groups)]
        with (transaction.atomic() if connection.in_atomic_block else nullcontext(),
              ExitStack() as stack):
            cursors = [stack.enter_context(prepared_cursor(connection)) for _ in statements]
            with pipelined(connection):
                for cursor, (sql, params) in zip(cursors, statements, strict=True):
                    cursor.execute(sql, params)
            for cursor in cursors[1:]:
                claimed = claimed_from_rows(cursor.fetchall(), worker)
                if claimed is not None:
                    claimed.assignment.served = claimed.items
                    return claimed.assignment
    return _live_or_conflict(worker=worker, project_id=project_id)


def _claim_orm(*, worker: WorkerProfile, project_id: int | None,
               groups: list[Group]) -> Assignment | None | bool:
    """False when the slot was gone after all (possible only without row locks)."""
    live = _live_or_conflict(worker=worker, project_id=project_id)
    if live is not None:
        return live
    for project_ids, order in groups:
        task = _next_task(worker=worker, project_ids=project_ids, order=order)
        if task is not None:
            break
    else:
        return None
    took_slot = Task.objects.filter(pk=task.pk, filled__lt=F("overlap")).update(
        filled=F("filled") + 1)
    if not took_slot:
        return False
    project = task.project
    now = timezone.now()
    assignment = Assignment.objects.create(
        task=task, project=project, worker=worker, created_at=now,
        expires_at=now + timedelta(seconds=project.assignment_duration_seconds),
        last_heartbeat_at=now, instructions_version=project.instructions_version,
        reward_cents=project.reward_cents
        if project.pay_model == PayModel.PER_TASK else None)
    _serve_items(assignment, task, worker)
    WorkerPseudonym.objects.bulk_create(
        [WorkerPseudonym(project=project, worker=worker,
                         pseudonym=pseudonym_value(project.pk, worker.pk))],
        ignore_conflicts=True)
    return assignment


def assignment_claim(*, worker: WorkerProfile, project_id: int | None = None) -> Assignment | None:
    """Give the worker a task, or None when nothing fits.

    A worker holds one live lease, whatever the project: asking again (a retry, a second
    tab) returns it instead of a second one, so nobody hoards slots; asking for another
    project while it is live is a 409 (``live_lease``) naming it.

    A new assignment comes back with ``served`` (on PostgreSQL: the served items, read by
    selectors.served_items) and ``automation_mode`` set.
    """
    # Eligible minus quality suspensions (the availability explanation's rule), cached;
    # read before the transaction so no lock waits on the cache.
    projects = routable_project_list(worker=worker)
    if project_id is not None:
        projects = [project for project in projects if project[0] == project_id]
    groups = _groups(projects)
    modes = {pk: mode for pk, _, mode in projects}
    for _attempt in range(CLAIM_ATTEMPTS):
        try:
            if connection.vendor == "postgresql":
                assignment = _claim_postgresql(worker=worker, project_id=project_id,
                                               groups=groups)
            else:
                with transaction.atomic():
                    _lock_worker(worker)
                    assignment = _claim_orm(worker=worker, project_id=project_id,
                                            groups=groups)
                if assignment is False:
                    continue
            if assignment is not None and assignment.project_id in modes:
                assignment.automation_mode = modes[assignment.project_id]
            return assignment
        except IntegrityError:
            # The unique (task, worker) constraint refused a second hold. The worker lock
            # above should make this unreachable; it stays the last line of defence.
            continue
    return None


def tasks_set_routing_scores(*, scores: dict[int, float | None]) -> int:
    """Store each task's routing score (automation's prediction certainty): the active
    order follows at the next claim, through the index, with nothing to rebuild. One
    statement; the task rows only (called in a transaction of its own, after the
    predictions committed: Task comes before Prediction in the lock order)."""
    tasks = [Task(pk=task_id, routing_score=score) for task_id, score in sorted(scores.items())]
    return Task.objects.bulk_update(tasks, ["routing_score"]) if tasks else 0
