"""Row locks of the marketplace. The system-wide order (WorkerProfile -> Project -> Task
-> Item -> Assignment -> Answer -> qa rows -> payments rows -> ledger accounts) is
written once, in config/lock_order.py; every lock here is FOR NO KEY UPDATE (why: same
place)."""
from django.db import connections

from config.compiled_query import CompiledQuery, ModelColumns, prepared_cursor

from .models import Answer, Assignment, Item, ItemImport, Project, Task


def project_for_update(*, project_id: int) -> Project:
    return Project.objects.select_for_update(no_key=True).get(pk=project_id)


def task_for_update(*, task_id: int) -> Task:
    return Task.objects.select_for_update(no_key=True).get(pk=task_id)


_ASSIGNMENT_FOR_UPDATE = CompiledQuery(  # every submit and heartbeat: compiled once
    lambda assignment_id: Assignment.objects.select_for_update(no_key=True, of=("self",))
    .select_related("project").filter(pk=assignment_id), assignment_id=int)


def assignment_for_update(*, assignment_id: int) -> Assignment:
    return _ASSIGNMENT_FOR_UPDATE.get(assignment_id=assignment_id)


_SERVED_ANSWERS = CompiledQuery(
    lambda assignment_id: Answer.objects.filter(assignment_id=assignment_id)
    .select_related("item").order_by("position"), assignment_id=int)


def assignment_and_served_for_update(*, assignment_id: int) -> tuple[Assignment, list]:
    """``assignment_for_update`` (with its project) and the answers served in it (each
    with its item, in served order): the submit's reads, in one statement on PostgreSQL.
    Assignment.DoesNotExist when there is no such assignment.

    The answers are read from the statement's snapshot, taken before the lock is granted:
    a submit that waited on a concurrent one reads the answers as they were, and the
    assignment as it is now (submitted), and refuses on that. Served answers are only
    ever changed by that submit, under this lock."""
    connection = connections[Assignment.objects.db]
    if connection.vendor != "postgresql":
        return (assignment_for_update(assignment_id=assignment_id),
                _SERVED_ANSWERS.fetch(assignment_id=assignment_id))
    with prepared_cursor(connection) as cursor:
        cursor.execute(_with_served_sql(connection), [assignment_id])
        rows = cursor.fetchall()
    if not rows:
        raise Assignment.DoesNotExist("Assignment matching query does not exist.")
    parts = _WITH_SERVED_PARTS
    assignment = parts[0].instance(rows[0], connection)
    assignment.project = parts[1].instance(rows[0], connection)
    served = []
    for row in rows:
        if row[parts[2].key_position] is None:  # no answer joined: none was served
            continue
        answer = parts[2].instance(row, connection)
        answer.item = parts[3].instance(row, connection)
        served.append(answer)
    return assignment, served


def _parts() -> list[ModelColumns]:
    parts, start = [], 0
    for model, alias in ((Assignment, "a"), (Project, "p"), (Answer, "s"), (Item, "i")):
        parts.append(ModelColumns(model, alias=alias, start=start))
        start = parts[-1].end
    return parts


_WITH_SERVED_PARTS = _parts()
_WITH_SERVED_SQL: dict[str, str] = {}


def _with_served_sql(connection) -> str:
    sql = _WITH_SERVED_SQL.get(connection.alias)
    if sql is None:
        quote = connection.ops.quote_name
        table = {part.alias: quote(part.model._meta.db_table) for part in _WITH_SERVED_PARTS}
        assignment, project, answer, item = _WITH_SERVED_PARTS
        # The lock as assignment_for_update takes it (FOR NO KEY UPDATE of the assignment
        # alone); a CTE with a locking clause is never inlined, so it locks once.
        sql = ("WITH locked AS (SELECT "
               + ", ".join(assignment.select(quote, named=True)
                           + project.select(quote, named=True))
               + f" FROM {table['a']} a INNER JOIN {table['p']} p ON p.{quote('id')} = "
               f"a.{quote('project_id')} WHERE a.{quote('id')} = %s FOR NO KEY UPDATE OF a) "
               f"SELECT locked.*, "
               + ", ".join(answer.select(quote) + item.select(quote))
               + f" FROM locked LEFT JOIN {table['s']} s ON s.{quote('assignment_id')} = "
               f"locked.a_0 LEFT JOIN {table['i']} i ON i.{quote('id')} = s.{quote('item_id')}"
               f" ORDER BY s.{quote('position')}")
        _WITH_SERVED_SQL[connection.alias] = sql
    return sql


def item_import_for_update(*, import_id: int) -> ItemImport:
    # Without the payload: the run has read it already, and it may be 100 MiB.
    return ItemImport.objects.select_for_update(no_key=True).defer("payload").get(pk=import_id)


def gold_item_for_update(*, project_id: int, item_id) -> Item:
    return Item.objects.select_for_update(no_key=True).get(pk=item_id, project_id=project_id,
                                                           is_gold=True)
