"""Item and gold imports: all-or-nothing, bulk inserts, tasks cut as items are stored.

Small uploads are stored inside the request. Large ones are parked in an ItemImport row
and processed by ``item_import_run`` (a Celery job). That job may be delivered twice
(acks_late) or die half way: it claims the import with a compare-and-swap on
(status, attempt), and the insert, the task cutting and the final status change commit in
one transaction guarded by that attempt - so a crash stores nothing and a duplicate
delivery stores nothing twice.

Both paths validate under the project lock, inside the transaction that stores the rows,
and on PostgreSQL store them as they go (``_validate_and_store``): each good chunk of rows
is COPYed on a thread of its own while the next is read and checked, and a refused upload
rolls back. Lock order: Project -> Task -> Item -> Prediction -> ledger accounts ->
ItemImport (the job's own row, locked last to check its attempt).
"""
import json
import queue
import threading
from dataclasses import dataclass, replace
from datetime import timedelta
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.db.models import F, Max, Q
from django.utils import timezone
from psycopg import sql as psycopg_sql

from accounts.models import User
from automation.services import (
    MAX_PREDICTIONS_PER_REQUEST,
    prediction_problems,
    predictions_store,
)
from payments.services import escrow_reserve_shortfall
from workers.models import QualificationExam
from config.compiled_query import prepared_cursor
from config.errors import Conflict, InvalidInput, PaymentRequired
from config.gc_pause import gc_paused

from .. import task_types
from ..enums import ImportStatus, ProjectStatus
from ..locks import item_import_for_update, project_for_update
from ..models import Item, ItemImport, Project, Task
from ..uploads import MAX_ROW_ERRORS, PREDICTION_KEYS, UploadRow, upload_rows
from .sensitive_data import (
    MAX_REFUSED_ROWS_NAMED,
    import_record_pii,
    items_scan_for_pii,
    pii_refusal,
)

INSERT_BATCH_SIZE = 5000
EXTERNAL_ID_LOOKUP_CHUNK = 5000
MAX_EXTERNAL_ID_LENGTH = 255
# A running import whose progress has not moved for this long is taken to be dead.
STALE_IMPORT_AFTER = timedelta(minutes=10)
MAX_IMPORT_ATTEMPTS = 3


@dataclass(frozen=True)
class ImportResult:
    created: int
    tasks_created: int
    pii_raised: int = 0
    predictions: int = 0


@dataclass(slots=True)
class NewItem:
    """A validated row on its way into the item table. Not a model instance: building
    100,000 of those cost more than storing them."""
    external_id: str | None
    data: Any
    gold_answer: Any
    task_id: int | None = None
    # Set by the personal-data scan (sensitive_data.items_scan_for_pii); None is "nothing
    # found" (a fresh dict and list per row cost more than building the row itself).
    sensitivity: str = ""
    pii_types: dict | None = None
    pii_spans: list | None = None
    # {value, score, model_version}, validated; stored by the automation app once the
    # item has its id.
    prediction: dict | None = None


@dataclass(frozen=True)
class RowProblem:
    row: int
    field: str
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "field": self.field, "message": self.message}


def _require_open(project: Project) -> None:
    if project.status in (ProjectStatus.COMPLETED, ProjectStatus.CANCELLED):
        raise Conflict(f"Items cannot be added to a {project.status} project.",
                       code="project_closed")


def _require_items_allowed(project: Project, *, is_gold: bool) -> None:
    if not is_gold and QualificationExam.objects.filter(project=project).exists():
        raise Conflict("This project is a qualification exam: it holds gold items only.",
                       code="exam_project")


def _normalise_external_id(value) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError("must be a string or an integer.")
    text = str(value).strip()
    if len(text) > MAX_EXTERNAL_ID_LENGTH:
        raise ValueError(f"at most {MAX_EXTERNAL_ID_LENGTH} characters.")
    return text or None


def _row_problems(project: Project, row: UploadRow, *, is_gold: bool) -> list[RowProblem]:
    """Everything wrong with one row. The single place every row of every upload path
    (inline JSON, files, background imports) passes before anything is stored: a
    per-row check added here (a PII scan, say) refuses the upload with the row named."""
    data_problems = task_types.item_data_problems(project.task_type, row.data,
                                                  project.label_config)
    if not (data_problems or row.unknown_keys or is_gold or row.has_answer
            or row.prediction is not None):
        return []  # the common row: good data and nothing else to check
    problems = []
    if row.unknown_keys:
        problems.append(RowProblem(row.row, "row", "unknown key(s): "
                                   + ", ".join(row.unknown_keys) + "."))
    for message in data_problems:
        problems.append(RowProblem(row.row, "data", message))
    if is_gold:
        if not row.has_answer:
            problems.append(RowProblem(row.row, "answer", "gold items need an 'answer'."))
        elif not problems:
            for message in task_types.answer_problems(
                    project.task_type, project.label_config, row.answer, row.data):
                problems.append(RowProblem(row.row, "answer", message))
    elif row.has_answer and row.answer is not None:
        problems.append(RowProblem(row.row, "answer",
                                   "items carry no answer; upload gold items to /gold."))
    if row.prediction is not None:
        if is_gold:
            problems.append(RowProblem(row.row, "prediction", "gold items carry no "
                                       "prediction (in prelabel mode Quorum shows decoys)."))
        elif not problems:
            problems.extend(_prediction_problems(project, row))
    return problems


def _prediction_problems(project: Project, row: UploadRow) -> list[RowProblem]:
    """A row's prediction is checked by the rule of the bulk predictions endpoint
    (automation.services.prediction_problems: the value like a worker's answer, the score
    in 0..1), so both ways in accept exactly the same predictions."""
    prediction = row.prediction
    if not isinstance(prediction, dict):
        return [RowProblem(row.row, "prediction",
                           "must be an object {value, score, model_version}.")]
    unknown = sorted(map(str, set(prediction) - set(PREDICTION_KEYS)))
    if unknown:
        return [RowProblem(row.row, "prediction", f"unknown key(s): {', '.join(unknown)}.")]
    found = prediction_problems(project=project, value=prediction.get("value"),
                                score=prediction.get("score"),
                                model_version=prediction.get("model_version"), data=row.data)
    return [RowProblem(row.row, f"prediction.{name}", message)
            for name, messages in found.items() for message in messages]


def _csv_cell_read(project: Project, text: str, parsed: Any, data: Any) -> Any:
    """A CSV cell is text: read it as the label config expects. The cell as written is
    the value when that is valid (choices "1", "2", "3"); otherwise its JSON reading
    (ratings, lists, spans); if neither is valid, the JSON reading's problems are shown."""
    text = text.strip()
    readings = [text]
    if parsed != text:
        readings.insert(0 if isinstance(parsed, (list, dict)) else 1, parsed)
    for reading in readings:
        if not task_types.answer_problems(project.task_type, project.label_config, reading,
                                          data):
            return reading
    return parsed


def _csv_answer_read(project: Project, row: UploadRow) -> UploadRow:
    """The CSV answer and prediction cells, read against the label config."""
    if row.answer_text is not None:
        row = replace(row, answer=_csv_cell_read(project, row.answer_text, row.answer,
                                                 row.data))
    if row.prediction_text is not None and isinstance(row.prediction, dict):
        value = _csv_cell_read(project, row.prediction_text, row.prediction["value"],
                               row.data)
        row = replace(row, prediction={**row.prediction, "value": value})
    return row


def _validated_chunks(project: Project, rows: Iterable[UploadRow], *, is_gold: bool,
                      on_progress=None) -> Iterator[list[NewItem]]:
    """The rows as items to store, INSERT_BATCH_SIZE at a time, scanned for personal data.

    A chunk is yielded only while every row so far is good, so a caller in a transaction
    may store each chunk as it comes (the database ingests it while later rows are still
    read and checked) and roll back if the upload is refused: at the first bad row the
    rest are still checked for a report naming every bad row (up to MAX_ROW_ERRORS), then
    InvalidInput is raised. External ids already in the project are looked up here, before
    the first chunk, while the connection is still free."""
    taken: set[str] = set()
    if Item.objects.filter(project=project, external_id__isnull=False).exists():
        rows = list(rows)
        taken = _taken_external_ids(project, rows)
    return _checked_chunks(project, rows, is_gold=is_gold, taken=taken,
                           on_progress=on_progress)


def _checked_chunks(project: Project, rows: Iterable[UploadRow], *, is_gold: bool,
                    taken: set[str], on_progress) -> Iterator[list[NewItem]]:
    problems: list[RowProblem] = []
    refused: dict[str, list[str]] = {}
    items: list[NewItem] = []
    items_rows: list[UploadRow] = []
    seen_external_ids: dict[str, int] = {}

    def scanned() -> list[NewItem]:
        """The chunk so far, if it may be stored; refusals are collected until the limit."""
        if not items or problems or len(refused) >= MAX_REFUSED_ROWS_NAMED:
            return []
        refused.update(items_scan_for_pii(project=project, items=items, rows=items_rows))
        return [] if refused else items

    for position, row in enumerate(rows, start=1):
        if row.answer_text is not None or row.prediction_text is not None:
            row = _csv_answer_read(project, row)
        row_problems = _row_problems(project, row, is_gold=is_gold)
        try:
            external_id = _normalise_external_id(row.external_id)
        except ValueError as exc:
            row_problems.append(RowProblem(row.row, "external_id", str(exc)))
            external_id = None
        if external_id is not None:
            if external_id in seen_external_ids:
                row_problems.append(RowProblem(
                    row.row, "external_id",
                    f"duplicate of row {seen_external_ids[external_id]} ({external_id!r})."))
            else:
                seen_external_ids[external_id] = row.row
                if external_id in taken:
                    row_problems.append(RowProblem(
                        row.row, "external_id",
                        f"{external_id!r} already exists in this project."))
        problems.extend(row_problems)
        if len(problems) >= MAX_ROW_ERRORS:
            break
        if not problems:
            items.append(NewItem(external_id=external_id, data=row.data,
                                 gold_answer=row.answer if is_gold else None,
                                 prediction=row.prediction))
            items_rows.append(row)
        if position % INSERT_BATCH_SIZE == 0:
            if on_progress:
                on_progress(position)
            if chunk := scanned():
                yield chunk
            items, items_rows = [], []
    if chunk := scanned():
        yield chunk
    if problems:
        _raise_row_problems(problems)
    if refused:
        raise pii_refusal(refused)


def _taken_external_ids(project: Project, rows: list[UploadRow]) -> set[str]:
    """The rows' external ids already stored in the project."""
    external_ids = []
    for row in rows:
        try:
            external_id = _normalise_external_id(row.external_id)
        except ValueError:
            continue  # reported with the row
        if external_id is not None:
            external_ids.append(external_id)
    if connection.vendor == "postgresql":
        # One array parameter: an IN list of 100,000 placeholders costs more to build
        # and parse than the lookup itself. Bound on the server: Django's cursor would
        # quote the 100,000 strings into the SQL text in Python.
        with prepared_cursor(connection) as cursor:
            cursor.execute(f"SELECT external_id FROM {Item._meta.db_table} "
                           "WHERE project_id = %s AND external_id = ANY(%s)",
                           [project.pk, external_ids])
            return {external_id for (external_id,) in cursor.fetchall()}
    taken = set()
    for start in range(0, len(external_ids), EXTERNAL_ID_LOOKUP_CHUNK):
        chunk = external_ids[start:start + EXTERNAL_ID_LOOKUP_CHUNK]
        taken.update(Item.objects.filter(project=project, external_id__in=chunk)
                     .values_list("external_id", flat=True))
    return taken


def _raise_row_problems(problems: list[RowProblem]) -> None:
    problems = sorted(problems, key=lambda p: p.row)[:MAX_ROW_ERRORS]
    first = problems[0]
    fields: dict[str, list[str]] = {}
    for problem in problems:
        fields.setdefault(f"rows.{problem.row}.{problem.field}", []).append(problem.message)
    raise InvalidInput(f"Row {first.row}: {first.field}: {first.message} "
                       "Nothing was stored.", code="invalid_rows", fields=fields)


def _cut_into_tasks(project: Project, count: int) -> tuple[list[int], int]:
    """Tasks of ``items_per_task`` items for ``count`` new items: the task id of each
    item in upload order, and how many tasks were created.

    On a draft project (nobody can hold a task yet) the last short task of an earlier
    upload is topped up first, so uploading in pieces cuts the same tasks as one upload.
    """
    slots: list[int] = []
    if project.status == ProjectStatus.DRAFT:
        # Two index lookups: counting every task's items to pick the last one made the
        # planner join the project's whole item table (0.13 s before a 100k-row upload).
        last_task_id = (Task.objects.filter(project=project).order_by("-id")
                        .values_list("id", flat=True).first())
        if last_task_id is not None:
            room = project.items_per_task - Item.objects.filter(task_id=last_task_id).count()
            slots = [last_task_id] * max(0, min(count, room))
    size = project.items_per_task
    task_ids = _insert_tasks(project, -(-(count - len(slots)) // size))
    slots.extend(task_id for task_id in task_ids for _ in range(size))
    return slots[:count], len(task_ids)


def _prepared_columns(instance) -> tuple[list, list]:
    """(fields, values) of a model instance as an insert would store them: defaults and
    auto_now_add applied, values prepared for the database. New model fields need no
    change to the bulk paths below."""
    fields = [field for field in type(instance)._meta.concrete_fields if not field.primary_key]
    return fields, [field.get_db_prep_save(field.pre_save(instance, add=True),
                                           connection=connection) for field in fields]


def _insert_tasks(project: Project, count: int) -> list[int]:
    """Insert ``count`` identical open tasks; their ids."""
    if not count:
        return []
    if connection.vendor != "postgresql":
        return [task.pk for task in Task.objects.bulk_create(
            [Task(project=project, overlap=project.overlap) for _ in range(count)],
            batch_size=INSERT_BATCH_SIZE)]
    # One statement instead of bulk_create's batches of parameter lists: every row is
    # the same, so the server repeats it.
    fields, values = _prepared_columns(Task(project=project, overlap=project.overlap))
    statement = psycopg_sql.SQL(
        "INSERT INTO {} ({}) SELECT {} FROM generate_series(1, %s) RETURNING id").format(
        psycopg_sql.Identifier(Task._meta.db_table),
        psycopg_sql.SQL(", ").join(psycopg_sql.Identifier(field.column) for field in fields),
        psycopg_sql.SQL(", ").join(psycopg_sql.Placeholder() for _ in fields))
    with connection.cursor() as cursor:
        cursor.execute(statement.as_string(cursor.cursor), [*values, count])
        return sorted(task_id for (task_id,) in cursor.fetchall())


# Filled per row; every other item column is the same for the whole upload.
_PER_ROW_COLUMNS = ("task_id", "external_id", "data", "gold_answer", "sensitivity", "pii_types",
                    "pii_spans")


def _insert_items(project: Project, chunks: Iterable[list[NewItem]], *, is_gold: bool,
                  task_ids: list[int]) -> list[NewItem]:
    """Store the chunks' items as they come, the i-th item in task ``task_ids[i]`` (none
    for gold); returns them all."""
    if connection.vendor != "postgresql":
        items = [item for chunk in chunks for item in chunk]
        for item, task_id in zip(items, task_ids):
            item.task_id = task_id
        Item.objects.bulk_create(
            [Item(project=project, task_id=item.task_id, external_id=item.external_id,
                  data=item.data, is_gold=is_gold, gold_answer=item.gold_answer,
                  sensitivity=item.sensitivity, pii_types=item.pii_types or {},
                  pii_spans=item.pii_spans or [])
             for item in items], batch_size=INSERT_BATCH_SIZE)
        return items
    copy = _ItemCopy(project, is_gold=is_gold)
    items: list[NewItem] = []
    with copy:
        for chunk in chunks:
            if copy.failed:
                break  # the transaction is lost: the caller reports the database error
            for item, task_id in zip(chunk, task_ids[len(items):]):
                item.task_id = task_id
            items.extend(chunk)
            copy.send(chunk)
    return items


class _ItemCopy:
    """COPY of item chunks on a thread of its own, in the caller's transaction.

    The chunks come from the validation (``_validated_chunks``): while the database
    ingests one chunk (rows, indexes, and the foreign-key checks, made immediate so they
    run per chunk instead of all at commit), this process reads, checks and formats the
    next - two cores instead of one after the other. The COPY thread only sends bytes and
    waits: formatting rows there too made it queue for the interpreter lock behind the
    validation, and the database sat idle (100k rows: 2.0 s of COPY, now 1.4-1.6 s).
    The caller's thread does not touch the connection between ``__enter__`` and
    ``__exit__``; the thread is joined before either returns, and its database error is
    raised in the caller's thread as Django's.
    """

    def __init__(self, project: Project, *, is_gold: bool):
        # COPY in text format, the per-row values written as the column's text input
        # (JSON as json.dumps text, as Django's JSONField stores it); the columns common
        # to the upload are prepared once from a template instance.
        fields, values = _prepared_columns(Item(project=project, is_gold=is_gold, data={}))
        columns = [field.column for field in fields]
        missing = set(_PER_ROW_COLUMNS) - set(columns)
        if missing:
            raise RuntimeError(f"Item has no column(s) {sorted(missing)}")
        constant = {column: value for column, value in zip(columns, values)
                    if column not in _PER_ROW_COLUMNS}
        if any(not isinstance(value, (str, int, bool, float, type(None)))
               and not hasattr(value, "isoformat") for value in constant.values()):
            raise RuntimeError("An Item column's default needs preparing per row; "
                               "extend _ItemCopy.")
        self._statement = psycopg_sql.SQL("COPY {} ({}) FROM STDIN").format(
            psycopg_sql.Identifier(Item._meta.db_table),
            psycopg_sql.SQL(", ").join(psycopg_sql.Identifier(column) for column in columns))
        self._template = [_copy_text(constant.get(column)) for column in columns]
        self._positions = tuple(columns.index(column) for column in _PER_ROW_COLUMNS)
        # Most rows hold no personal data: their empty JSON is written as is.
        self._template[columns.index("pii_types")] = "{}"
        self._template[columns.index("pii_spans")] = "[]"
        self._chunks: queue.SimpleQueue = queue.SimpleQueue()
        self._stop = threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._copy_chunks, name="item-copy",
                                        daemon=True)

    def __enter__(self) -> "_ItemCopy":
        with connection.cursor() as cursor:
            self._foreign_keys = _deferrable_foreign_keys(cursor, Item._meta.db_table)
            if self._foreign_keys:
                cursor.execute(f"SET CONSTRAINTS {self._foreign_keys} IMMEDIATE")
        self._raw = connection.connection
        self._thread.start()
        return self

    @property
    def failed(self) -> bool:
        return self._failure is not None

    def send(self, chunk: list[NewItem]) -> None:
        """Queue the chunk, formatted here: the COPY thread only waits on the database,
        which ingests one chunk while this thread formats the next."""
        self._chunks.put(self._copy_data(chunk))

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is not None:
            self._stop.set()  # the upload is refused: what is queued need not be stored
        self._chunks.put(None)
        self._thread.join()
        if exc_type is not None:
            return  # the caller's exception rolls everything back
        if self._failure is not None:
            with connection.wrap_database_errors:
                raise self._failure
        if self._foreign_keys:
            with connection.cursor() as cursor:
                cursor.execute(f"SET CONSTRAINTS {self._foreign_keys} DEFERRED")

    def _copy_chunks(self) -> None:
        try:
            with self._raw.cursor() as cursor:
                while (data := self._chunks.get()) is not None:
                    if not self._stop.is_set():
                        with cursor.copy(self._statement) as copy:
                            copy.write(data)
        except BaseException as exc:  # handed to the caller's thread
            self._failure = exc

    def _copy_data(self, chunk: list[NewItem]) -> bytes:
        """The chunk's rows in COPY's text format. JSON is written as json.dumps text (as
        Django's JSONField stores it), which is ASCII with no control characters: only
        its backslashes need escaping."""
        dumps = json.dumps
        template = self._template
        (task_at, external_id_at, data_at, gold_answer_at, sensitivity_at, pii_types_at,
         pii_spans_at) = self._positions
        lines = []
        for item in chunk:
            row = template.copy()
            if item.task_id is not None:
                row[task_at] = str(item.task_id)
            if item.external_id is not None:
                row[external_id_at] = item.external_id.translate(_COPY_TEXT_ESCAPES)
            row[data_at] = dumps(item.data).replace("\\", "\\\\")
            if item.gold_answer is not None:
                row[gold_answer_at] = dumps(item.gold_answer).replace("\\", "\\\\")
            row[sensitivity_at] = item.sensitivity.translate(_COPY_TEXT_ESCAPES)
            if item.pii_types:
                row[pii_types_at] = dumps(item.pii_types).replace("\\", "\\\\")
            if item.pii_spans:
                row[pii_spans_at] = dumps(item.pii_spans).replace("\\", "\\\\")
            lines.append("\t".join(row))
        lines.append("")
        return "\n".join(lines).encode()


# COPY's text format: a backslash starts an escape, tab and newline end a column and a row.
_COPY_TEXT_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value) -> str:
    """A value as COPY's text format reads it (NULL is \\N)."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value).translate(_COPY_TEXT_ESCAPES)


def _deferrable_foreign_keys(cursor, table: str) -> str:
    """The table's deferrable foreign keys, quoted and comma-separated for SET CONSTRAINTS
    (Django creates every foreign key DEFERRABLE INITIALLY DEFERRED)."""
    cursor.execute("SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass "
                   "AND contype = 'f' AND condeferrable ORDER BY conname", [table])
    return ", ".join(connection.ops.quote_name(name) for (name,) in cursor.fetchall())


def _validate_and_store(project: Project, rows: Iterable[UploadRow], *, count: int,
                        is_gold: bool, on_progress=None) -> ImportResult:
    """Validate every row and store all ``count`` of them or none: under the project lock,
    in the caller's transaction. Rows go into the item table while later rows are still
    being read and checked; a refused upload rolls back with the transaction."""
    chunks = _validated_chunks(project, rows, is_gold=is_gold, on_progress=on_progress)
    # A stored upload has every row valid: its tasks can be cut before the rows are seen.
    task_ids, tasks_created = ([], 0) if is_gold else _cut_into_tasks(project, count)
    last_pk = _item_id_high_water()
    try:
        with transaction.atomic():
            items = _insert_items(project, chunks, is_gold=is_gold, task_ids=task_ids)
    except IntegrityError:
        # An external_id stored without the project lock (which every upload holds).
        raise Conflict("Another upload added some of these external_ids; nothing was "
                       "stored. Retry to see which rows clash.", code="duplicate_external_id")
    if len(items) != count:
        raise RuntimeError(f"The upload was counted {count} rows and holds {len(items)}.")
    # Before the escrow: lock order Item -> Prediction -> ledger accounts.
    predictions = (_store_predictions(project, items, after_pk=last_pk)
                   if any(item.prediction is not None for item in items) else 0)
    # A launched project's new tasks need escrow now; a draft reserves it all at launch.
    if tasks_created and project.status != ProjectStatus.DRAFT \
            and not escrow_reserve_shortfall(project=project):
        raise PaymentRequired("These items need more escrow than the organization has "
                              "available; top up, then upload again. Nothing was stored.")
    return ImportResult(created=len(items), tasks_created=tasks_created,
                        pii_raised=import_record_pii(project=project, items=items),
                        predictions=predictions)


# An upload this large can change the item and task tables' shape faster than autovacuum
# notices (it analyzes after 10 % of a table changed, on its own schedule): planning the
# claim and the submit with the old row counts chose sequential scans of the item table
# (measured right after a 2,000-item import: 5.2 ms of database CPU per next -> submit
# cycle with the stale statistics, 3.9 ms after ANALYZE).
PLANNER_STATISTICS_AFTER_ROWS = 1000


def planner_statistics_refresh() -> None:
    """ANALYZE the tables an import grows (PostgreSQL samples a bounded number of rows:
    well under a second whatever their size)."""
    with connection.cursor() as cursor:
        for table in (Item._meta.db_table, Task._meta.db_table):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")


def _item_id_high_water() -> int:
    """An id below every item inserted from now on: ids come from one sequence in
    insertion order and the project is locked, so the project's items above it are this
    upload's (for their predictions). Drawn from the sequence on PostgreSQL: MAX(id) walks
    back over the index entries of rows deleted since the last vacuum."""
    if connection.vendor != "postgresql":
        return Item.objects.aggregate(last=Max("pk"))["last"] or 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))",
                       [Item._meta.db_table])
        return cursor.fetchone()[0]


def _store_predictions(project: Project, items: list[NewItem], *, after_pk: int) -> int:
    """Store the rows' predictions through the automation app's one writer (the bulk
    endpoint's), now that the items have ids. COPY returns no ids; but the project is
    locked, so this project's items above ``after_pk`` are exactly the rows just inserted,
    and a sequence hands out ids in insertion order."""
    new_pks = list(Item.objects.filter(project=project, pk__gt=after_pk)
                   .order_by("pk").values_list("pk", flat=True))
    if len(new_pks) != len(items):
        raise RuntimeError(f"Expected {len(items)} new items, found {len(new_pks)}.")
    entries = [{"item_id": pk, **item.prediction}
               for pk, item in zip(new_pks, items) if item.prediction is not None]
    chunk = MAX_PREDICTIONS_PER_REQUEST
    return sum(predictions_store(project=project, by_item_id=True,
                                 predictions=entries[start:start + chunk])
               for start in range(0, len(entries), chunk))


def items_import(*, project: Project, actor: User, rows: list[UploadRow],
                 is_gold: bool) -> ImportResult:
    """Validate every row, then store all of them or none."""
    if not rows:
        raise InvalidInput("The upload holds no rows.", code="empty_upload",
                           fields={"items": ["At least one row is required."]})
    with gc_paused(), transaction.atomic():
        project = project_for_update(project_id=project.pk)
        _require_open(project)
        _require_items_allowed(project, is_gold=is_gold)
        return _validate_and_store(project, rows, count=len(rows), is_gold=is_gold)


def item_import_enqueue(*, project: Project, actor: User, payload: bytes, file_format: str,
                        rows_total: int, is_gold: bool) -> ItemImport:
    """Queue a large upload (in the caller's transaction; flows.imports runs the job
    after commit, and imports_resume_stale picks up a job that was lost)."""
    _require_open(project)
    _require_items_allowed(project, is_gold=is_gold)
    item_import = ItemImport.objects.create(
        project=project, created_by=actor, is_gold=is_gold, file_format=file_format,
        payload=b"", rows_total=rows_total)
    _payload_store(item_import, payload)
    return item_import


def _payload_store(item_import: ItemImport, payload: bytes) -> None:
    if connection.vendor != "postgresql":
        ItemImport.objects.filter(pk=item_import.pk).update(payload=payload)
        return
    # A binary parameter bound by the server: Django's client-side binding sends bytes
    # as a hex literal twice their size for the server to parse (0.9-1.2 s against
    # 0.2-0.3 s for an 11 MB upload on the loaded test machine).
    with prepared_cursor(connection) as cursor:
        cursor.execute(f"UPDATE {connection.ops.quote_name(ItemImport._meta.db_table)} "
                       "SET payload = %b WHERE id = %s", [payload, item_import.pk])
    item_import.payload = payload


def _payload_load(import_id: int) -> bytes:
    if connection.vendor != "postgresql":
        return bytes(ItemImport.objects.values_list("payload", flat=True).get(pk=import_id))
    # In binary: as text, an 11 MB payload arrives as 22 MB of hex for psycopg to decode
    # (0.14 s against 0.03 s).
    with prepared_cursor(connection) as cursor, connection.wrap_database_errors:
        cursor.cursor.execute(f"SELECT payload FROM "
                              f"{connection.ops.quote_name(ItemImport._meta.db_table)} "
                              "WHERE id = %s", [import_id], binary=True)
        return bytes(cursor.cursor.fetchone()[0])


def _claim_import(import_id: int) -> int | None:
    """Compare-and-swap the import to running; returns this run's attempt number."""
    now = timezone.now()
    claimable = Q(status=ImportStatus.QUEUED) | Q(status=ImportStatus.RUNNING,
                                                  heartbeat_at__lt=now - STALE_IMPORT_AFTER)
    claimed = ItemImport.objects.filter(claimable, pk=import_id).update(
        status=ImportStatus.RUNNING, attempt=F("attempt") + 1, heartbeat_at=now,
        rows_done=0)
    if not claimed:
        return None
    return ItemImport.objects.values_list("attempt", flat=True).get(pk=import_id)


def imports_resume_stale(*, now=None) -> list[int]:
    """Imports whose job was lost (never started, or died mid-run) are run again; after
    MAX_IMPORT_ATTEMPTS they fail for good instead of looping on a poisonous upload."""
    now = now or timezone.now()
    stale = ItemImport.objects.filter(
        Q(status=ImportStatus.QUEUED, created_at__lt=now - STALE_IMPORT_AFTER)
        | Q(status=ImportStatus.RUNNING, heartbeat_at__lt=now - STALE_IMPORT_AFTER))
    ItemImport.objects.filter(pk__in=stale.filter(attempt__gte=MAX_IMPORT_ATTEMPTS).values("pk")
                              ).update(status=ImportStatus.FAILED, finished_at=now, payload=b"",
                                       errors=[{"row": None, "field": None, "message":
                                                "The import failed repeatedly; upload again."}])
    return list(stale.filter(attempt__lt=MAX_IMPORT_ATTEMPTS).values_list("pk", flat=True))


def _finish(import_id: int, attempt: int, **fields) -> bool:
    return bool(ItemImport.objects.filter(
        pk=import_id, attempt=attempt, status=ImportStatus.RUNNING,
    ).update(finished_at=timezone.now(), payload=b"", **fields))


def item_import_run(*, import_id: int) -> ImportResult | None:
    """What this run stored, or None when it stored nothing (the rows were refused, the
    import is finished already or another live run owns it)."""
    attempt = _claim_import(import_id)
    if attempt is None:
        return None
    with gc_paused(), _ProgressReport(import_id, attempt) as report_progress:
        return _run_claimed_import(import_id, attempt, report_progress)


class _ProgressReport:
    """Progress and heartbeat of a running import, written while its rows are validated
    and stored in a transaction that commits only at the end: on a connection of its own,
    in autocommit, so ``GET /imports/{id}`` shows them and the stale-import sweep leaves
    the run alone. The import row is locked by the run only at its end (lock order
    Project -> ItemImport), so these writes never wait on it. SQLite (one writer at a
    time) reports nothing until the end."""

    def __init__(self, import_id: int, attempt: int):
        self._import_id, self._attempt = import_id, attempt
        self._connection = None

    def __enter__(self):
        return self if connection.vendor == "postgresql" else None

    def __call__(self, rows_done: int) -> None:
        if self._connection is None:
            self._connection = connections.create_connection(DEFAULT_DB_ALIAS)
        table = connection.ops.quote_name(ItemImport._meta.db_table)
        with self._connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET rows_done = %s, heartbeat_at = %s "
                           "WHERE id = %s AND attempt = %s",
                           [rows_done, timezone.now(), self._import_id, self._attempt])

    def __exit__(self, *exc_info) -> None:
        if self._connection is not None:
            self._connection.close()


def _run_claimed_import(import_id: int, attempt: int, report_progress) -> ImportResult | None:
    item_import = ItemImport.objects.defer("payload").get(pk=import_id)
    try:
        # Read while stored: the request that queued the upload parsed it whole and
        # counted its rows.
        rows = upload_rows(_payload_load(import_id), item_import.file_format)
        with transaction.atomic():
            project = project_for_update(project_id=item_import.project_id)
            _require_open(project)
            result = _validate_and_store(project, rows, count=item_import.rows_total,
                                         is_gold=item_import.is_gold,
                                         on_progress=report_progress)
            locked_import = item_import_for_update(import_id=import_id)
            if locked_import.attempt != attempt or locked_import.status != ImportStatus.RUNNING:
                # A newer run took the import over: it stores the rows, this one nothing.
                transaction.set_rollback(True)
                return None
            _finish(import_id, attempt, status=ImportStatus.SUCCEEDED, rows_done=result.created,
                    items_created=result.created, tasks_created=result.tasks_created,
                    pii_raised=result.pii_raised)
        return result
    except (InvalidInput, Conflict, PaymentRequired) as exc:
        errors = [{"row": None, "field": name, "message": "; ".join(messages)}
                  for name, messages in getattr(exc, "fields", {}).items()] or [
            {"row": None, "field": None, "message": str(exc.detail)}]
        for error in errors:
            parts = (error["field"] or "").split(".")
            if len(parts) >= 2 and parts[0] == "rows" and parts[1].isdigit():
                error["row"] = int(parts[1])
                error["field"] = ".".join(parts[2:]) or None
        _finish(import_id, attempt, status=ImportStatus.FAILED, errors=errors)
        return None

