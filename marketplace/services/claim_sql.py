"""The claim as one PostgreSQL statement (routing.py keeps the ORM path for SQLite).

One round trip picks the best free task of a group of projects, takes its slot, inserts
the assignment, its answer rows (the task's items plus unseen gold at random positions),
the gold-seen record and the worker's pseudonym, and returns the served items with the
project. Same guarantees as the ORM path (routing.py's docstring):
- the pick is ``claimable_tasks`` (the one definition of a claimable task, shared with the
  availability explanation) compiled by the ORM, locked ``FOR NO KEY UPDATE SKIP LOCKED``;
- the slot is taken by ``filled = filled + 1 WHERE filled < overlap`` (CHECK filled <=
  overlap behind it), the unique (task, worker) constraint stays the last guard;
- the caller holds the worker's row lock, and the pick refuses to run while the worker
  holds a live lease: a statement sees the rows committed before it started, so a lease a
  concurrent request of the worker committed while this one waited for the lock is seen.
Lock order (config/lock_order.py): the worker row (caller), then Task; the inserts take
FOR KEY SHARE on their parents (task, project, item, worker) at commit.

Within a group the order is an index scan: ``task_routing_free_idx`` (most started first,
then oldest) or, for projects in automation mode "active", ``task_active_routing_idx``
(lowest routing_score first). Gold: the project's gold items not retired and with no
``GoldSeen`` row of the worker (one probe of the unique index per gold item), a random
``gold_per_task`` of them; each lands in a uniformly random gap between the task's items.
"""
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import BooleanField, CharField, Exists, F
from django.db.models.expressions import RawSQL

from config.compiled_query import CompiledQuery, ModelColumns
from workers.models import WorkerProfile

from ..enums import AssignmentStatus, PayModel, ProjectStatus, TaskStatus
from ..models import Assignment, Item, Project, Task
from ..selectors import claimable_tasks
from .pseudonyms import pseudonym_value

ORDERS = {
    "default": ("-filled", "id"),  # task_routing_free_idx: finish started tasks first
    # task_active_routing_idx: most uncertain first, tasks without predictions last (an
    # ascending index keeps nulls last on PostgreSQL; SQLite needs it said)
    "active": (F("routing_score").asc(nulls_last=True), "id"),
}
# The same orders over the projects' candidates (one per project, see _pick_sql): the
# column each pick returns besides id and project_id, and the ORDER BY over them.
_CANDIDATE_ORDERS = {
    "default": ("filled", "filled DESC, id"),
    "active": ("routing_score", "routing_score ASC NULLS LAST, id"),
}

# The project's columns close each row the claim returns, after nine of its own.
_PROJECT = ModelColumns(Project, alias="p", start=9)
_PROJECT_COLUMNS = ", ".join(_PROJECT.select(lambda name: f'"{name}"'))

# After the pick (compiled from claimable_tasks, first in the statement). Positional
# parameters after the pick's: worker, now x3 (the assignment), worker (unseen gold),
# worker (gold seen), worker, project ids, pseudonyms (the pseudonym row).
_REST = f"""
, slot AS (
    UPDATE marketplace_task t SET filled = t.filled + 1
    FROM pick WHERE t.id = pick.id AND t.filled < t.overlap
    RETURNING t.id, t.project_id
), claimed AS (
    INSERT INTO marketplace_assignment (
        task_id, project_id, worker_id, status, created_at, expires_at, last_heartbeat_at,
        active_seconds, review_reason, review_reason_code, reward_cents,
        instructions_version)
    SELECT slot.id, p.id, %s, '{AssignmentStatus.ASSIGNED}', %s,
           %s + make_interval(secs => p.assignment_duration_seconds), %s, 0, '', '',
           CASE WHEN p.pay_model = '{PayModel.PER_TASK}' THEN p.reward_cents END,
           p.instructions_version
    FROM slot JOIN marketplace_project p ON p.id = slot.project_id
    RETURNING id, task_id, project_id, created_at, expires_at, last_heartbeat_at,
              reward_cents, instructions_version
), task_items AS (
    SELECT i.id AS item_id, (row_number() OVER (ORDER BY i.id))::float8 AS slot_key
    FROM claimed c JOIN marketplace_item i ON i.task_id = c.task_id
), gold AS (
    SELECT g.id AS item_id
    FROM claimed c JOIN marketplace_item g ON g.project_id = c.project_id AND g.is_gold
    WHERE g.retired_at IS NULL AND NOT EXISTS (SELECT 1 FROM marketplace_goldseen seen
                      WHERE seen.worker_id = %s AND seen.item_id = g.id)
    ORDER BY random()
    LIMIT (SELECT p.gold_per_task FROM claimed c
           JOIN marketplace_project p ON p.id = c.project_id)
), served AS (
    SELECT item_id, false AS is_gold, slot_key FROM task_items
    UNION ALL
    -- gap k (0..n) sits between item k and item k + 1
    SELECT item_id, true, floor(random() * ((SELECT count(*) FROM task_items) + 1)) + 0.5
    FROM gold
), answers AS (
    INSERT INTO marketplace_answer (assignment_id, item_id, position, is_gold)
    SELECT c.id, s.item_id, row_number() OVER (ORDER BY s.slot_key, random()) - 1,
           s.is_gold
    FROM claimed c CROSS JOIN served s
    RETURNING id, item_id, position
), seen AS (
    INSERT INTO marketplace_goldseen (worker_id, item_id)
    SELECT %s, item_id FROM gold
    ON CONFLICT DO NOTHING
), pseudonym AS (
    INSERT INTO marketplace_workerpseudonym (project_id, worker_id, pseudonym)
    SELECT c.project_id, %s, names.pseudonym
    FROM claimed c
    JOIN unnest(%s::bigint[], %s::text[]) AS names(project_id, pseudonym)
      ON names.project_id = c.project_id
    ON CONFLICT DO NOTHING
)
SELECT c.id, c.task_id, c.created_at, c.expires_at, c.last_heartbeat_at, c.reward_cents,
       c.instructions_version, a.id, i.data, {_PROJECT_COLUMNS}
FROM claimed c
JOIN marketplace_project p ON p.id = c.project_id
JOIN answers a ON true
JOIN marketplace_item i ON i.id = a.item_id
ORDER BY a.position
"""


@dataclass
class Claimed:
    assignment: Assignment
    items: list[dict]  # [{id: answer id, data}] in served order


def _pick(*, worker: WorkerProfile, project_id: int, order: str, now: datetime,
          step: str = "full"):
    """The pick of one project: ``full`` reads its routing order to the first task the
    worker may take; ``fresh`` the same among tasks nobody started; ``window`` checks
    the one task of the project's routing window at hand (see _project_pick)."""
    if step == "window":
        # The window's row at hand (a lateral reference), by its physical address: a TID
        # scan, whatever the planner believes of the indexes (by key, it chose to walk a
        # routing index for the key on a table it had no statistics of). The row the
        # window read is the one this statement's snapshot sees; if it changed since,
        # the lock goes on to its newest version and checks the conditions again, as
        # through any index. The window is of this project already.
        tasks = claimable_tasks(worker=worker, project_ids=None).filter(RawSQL(
            f'{_TASK_TABLE}.ctid = {_WINDOW_ALIAS}.row_address', (),
            output_field=BooleanField()))
    else:
        # A scalar equality (not = ANY) lets the planner walk the partial index in order.
        tasks = claimable_tasks(worker=worker, project_ids=[project_id]).filter(
            project_id=project_id)
    if step == "fresh":  # no slot taken yet: task_routing_free_idx / task_fresh_active_idx
        tasks = tasks.filter(filled=0)
    order_column, _ = _CANDIDATE_ORDERS[order]
    live_lease = Assignment.objects.filter(worker_id=worker.pk, expires_at__gt=now,
                                           status=AssignmentStatus.ASSIGNED)
    # Even from a stale cache entry. Of the one project, not joined per task: a one-time
    # filter where a join probed the project again for every task the walk passed.
    project_active = Project.objects.filter(pk=project_id, status=ProjectStatus.ACTIVE)
    picked = (tasks
              .filter(Exists(project_active))
              .exclude(Exists(live_lease))  # one live lease per worker
              .select_for_update(no_key=True, skip_locked=True, of=("self",))
              .values("id", "project_id", order_column))
    if step == "window":
        return picked  # one row at most: no order for the planner to walk an index by
    return picked.order_by(*ORDERS[order])[:1]


def _compiled_pick(order: str, step: str) -> CompiledQuery:
    return CompiledQuery(
        lambda worker_id, now, project_id: _pick(
            worker=WorkerProfile(pk=worker_id), now=now, order=order, project_id=project_id,
            step=step),
        worker_id=int, now=datetime, project_id=int)


# How far down a project's routing order a claim looks for a task the worker never held
# before it takes the first task nobody has started instead.
WINDOW = 32
_WINDOW_ALIAS = '"routing_window"'
_TASK_TABLE = f'"{Task._meta.db_table}"'


def _compiled_window(order: str) -> CompiledQuery:
    order_column, _ = _CANDIDATE_ORDERS[order]
    return CompiledQuery(
        lambda project_id: Task.objects.filter(
            project_id=project_id, status=TaskStatus.OPEN, filled__lt=F("overlap"))
        .annotate(row_address=RawSQL(f"{_TASK_TABLE}.ctid", (), output_field=CharField()))
        .order_by(*ORDERS[order]).values("id", order_column, "row_address")[:WINDOW],
        project_id=int)


# Compiling the pick through the ORM costs more CPU than the database spends running the
# whole claim, so each is compiled once per order.
_PICKS = {(order, step): _compiled_pick(order, step)
          for order in ORDERS for step in ("full", "fresh", "window")}
_WINDOWS = {order: _compiled_window(order) for order in ORDERS}


def _project_pick(*, worker: WorkerProfile, project_id: int, order: str,
                  now: datetime) -> tuple[str, tuple]:
    """One project's best free task for the worker, in three steps, each run only if the
    one before found nothing:
    1. the first of the project's first WINDOW free tasks (in routing order) that the
       worker never held;
    2. else the first task nobody has started (``filled = 0``, its own index range);
    3. else the first of all, read down the whole order (a worker who did every task
       near the front, with no fresh task left: the end of a project).
    Reading the whole order first, as one pick did, made each claim walk past every
    task the worker had done that still waited for other workers: a fast worker in a
    small crowd (two experts on an overlap-3 project) paid 10 ms per claim after 3,000
    tasks. The cost is a bounded walk now; the price is that a worker ahead of the crowd
    by more than WINDOW tasks starts a fresh task instead of one started further down."""
    values = {"worker_id": worker.pk, "now": now, "project_id": project_id}
    steps = (_WINDOWS[order].sql_with_params(project_id=project_id),
             _PICKS[order, "window"].sql_with_params(**values),
             _PICKS[order, "fresh"].sql_with_params(**values),
             _PICKS[order, "full"].sql_with_params(**values))
    return (_project_pick_text(order, *(sql for sql, _ in steps)),
            tuple(param for _, params in steps for param in params))


def _project_pick_text(order: str, window: str, at_hand: str, fresh: str, full: str) -> str:
    order_column, order_by = _CANDIDATE_ORDERS[order]
    # LATERAL: the window drives, row by row in its order (the ORDER BY is the window's
    # own, so no sort pulls it whole), and each row is checked and locked by the pick's
    # own conditions; the first that passes ends the walk.
    near = (f"SELECT at_hand.id, at_hand.project_id, at_hand.{order_column} "
            f"FROM ({window}) AS {_WINDOW_ALIAS} CROSS JOIN LATERAL ({at_hand}) AS at_hand "
            f"ORDER BY {_qualified(order_by, _WINDOW_ALIAS)} LIMIT 1")
    # MATERIALIZED: each step runs once; an uncorrelated NOT EXISTS is a one-time filter
    # that keeps the next step from running (and locking) at all.
    return (f"WITH near AS MATERIALIZED ({near}), "
            f"fresh AS MATERIALIZED (SELECT * FROM ({fresh}) AS fresh_pick "
            f"WHERE NOT EXISTS (SELECT FROM near)) "
            f"SELECT * FROM near UNION ALL SELECT * FROM fresh UNION ALL "
            f"SELECT * FROM ({full}) AS full_pick "
            f"WHERE NOT EXISTS (SELECT FROM near) AND NOT EXISTS (SELECT FROM fresh)")


def _qualified(order_by: str, alias: str) -> str:
    """``filled DESC, id`` as ``alias.filled DESC, alias.id``."""
    return ", ".join(f"{alias}.{term.strip()}" for term in order_by.split(","))


def _pick_sql(*, worker: WorkerProfile, project_ids: list[int], order: str,
              now: datetime) -> tuple[str, tuple]:
    """One project: its best free task (_project_pick). Several: the best free task of
    each, the same way, then the best of those. One pick over all of them (``project_id
    = ANY``) could not read the index in order across projects: it sorted every free task
    of the group (45 ms for 38,000 tasks in two projects, against 0.45 ms this way). Each
    project's candidate is locked (SKIP LOCKED, as the single pick locks its task); the
    ones not taken stay locked until the claim commits, and a concurrent claim passes
    over them to the next task of that project."""
    picks = [_project_pick(worker=worker, project_id=project_id, order=order, now=now)
             for project_id in project_ids]
    if len(picks) == 1:
        return picks[0]
    _, order_by = _CANDIDATE_ORDERS[order]
    candidates = " UNION ALL ".join(f"SELECT * FROM ({sql}) AS project_{index}"
                                    for index, (sql, _) in enumerate(picks))
    return (f"SELECT id, project_id FROM ({candidates}) AS candidates "
            f"ORDER BY {order_by} LIMIT 1",
            tuple(param for _, params in picks for param in params))


def claim_statement(*, worker: WorkerProfile, project_ids: list[int], order: str,
                    now: datetime) -> tuple[str, tuple]:
    """The claim of the best free task among ``project_ids`` (one priority level, one
    order), for a worker whose row the caller locked in an earlier statement of the same
    transaction; its rows go to ``claimed_from_rows``.

    Run it prepared (prepared_cursor): planning this statement took more of the
    database's time than running it (0.69 vs 0.44 ms a claim). Its generic plan walks the
    routing index like a custom one because the pick's constants (the statuses) are
    written into its SQL (config/compiled_query.py); with them as parameters it sorted
    every free task."""
    pick_sql, pick_params = _pick_sql(worker=worker, project_ids=project_ids, order=order,
                                      now=now)
    params = (*pick_params, worker.pk, now, now, now, worker.pk, worker.pk, worker.pk,
              list(project_ids),
              [pseudonym_value(project_id, worker.pk) for project_id in project_ids])
    return f"WITH pick AS ({pick_sql}){_REST}", params


def claimed_from_rows(rows: list[tuple], worker: WorkerProfile) -> Claimed | None:
    """The claim statement's rows as the assignment and its served items; None when it
    picked nothing (no task free, or the worker holds a live lease: the caller looks)."""
    if not rows:
        return None
    first = rows[0]
    project = _PROJECT.instance(first, connection)
    assignment_id, task_id, created_at, expires_at, heartbeat_at, reward_cents, version = (
        first[:7])
    assignment = Assignment.from_db(connection.alias, [
        "id", "task_id", "project_id", "worker_id", "status", "created_at", "expires_at",
        "last_heartbeat_at", "active_seconds", "reward_cents", "instructions_version"], [
        assignment_id, task_id, project.pk, worker.pk, AssignmentStatus.ASSIGNED,
        created_at, expires_at, heartbeat_at, 0, reward_cents, version])
    assignment.project = project
    assignment.worker = worker
    data_field = Item._meta.get_field("data")
    items = [{"id": row[7], "data": data_field.from_db_value(row[8], None, connection)}
             for row in rows]
    return Claimed(assignment=assignment, items=items)
