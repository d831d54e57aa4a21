"""Benchmark: importing 100,000 items, against a raw COPY of the same rows.

Run with ``make bench`` (DATABASE_URL must point at PostgreSQL). Prints one JSON line per
path:

- ``inline_chunks``: ``services.items_import`` called with 10 chunks of 10,000 UploadRows
  (the path of inline JSON uploads; validation, task cutting and inserts included);
- ``file_jsonl``: one multipart ``.jsonl`` upload through the API, large enough to become a
  background import, which runs eagerly at commit (parse, validate, cut tasks, insert);
- ``baseline_raw_copy``: psycopg ``COPY`` of the same 100,000 rows straight into the item
  table (same foreign keys, indexes and WAL), tasks made beforehand - the floor any
  import path is measured against; ``raw_copy_temp_table``: the same into an unlogged
  temporary table without foreign keys, for reference.

- ``pii_scan``: ``privacy.pii.scan_items`` alone over the same rows (what every import now
  does), and over rows of which one in ten holds an email and a phone number;
  ``vs_inline_chunks`` is its share of the inline import measured in the same run.

``vs_baseline`` is a path's seconds divided by the baseline's; the summary line gives
the file path's speed as a fraction of raw COPY's (goal >= 0.40) and the load average
around the run. ``client_cpu_seconds`` is this process's CPU for a path (the file path's
background import runs eagerly in it, so its parsing, validation and COPY are counted; the
PostgreSQL server's CPU is not): on a shared machine, the figure to compare across runs. The script creates its own
organization, requester and projects under unique names and deletes them at the end.
"""
import json
import os
import resource
import sys
import time
import uuid
from pathlib import Path

ROWS = 100_000
CHUNKS = 10
ITEMS_PER_TASK = 5

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# The background import must run inline in this process, whatever broker the shell names.
os.environ["CELERY_BROKER_URL"] = ""
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"

import django  # noqa: E402

django.setup()

from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import OperationalError, connection  # noqa: E402
from django.test import override_settings  # noqa: E402
import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402
from psycopg.types.json import Jsonb  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from accounts.enums import Role  # noqa: E402
from accounts.models import User  # noqa: E402
from accounts.services import token_issue  # noqa: E402
from marketplace import services  # noqa: E402
from marketplace.models import Item, ItemImport, Organization, Project, Task  # noqa: E402
from marketplace.uploads import UploadRow  # noqa: E402


def row_data(index: int) -> dict:
    return {"text": f"Review number {index}: the product did what it said.", "n": index}


def project_body(name: str) -> dict:
    return {
        "name": name,
        "instructions": "Pick the sentiment.",
        "task_type": "single_choice",
        "label_config": {"choices": ["positive", "negative", "neutral"]},
        "pay_model": "per_task",
        "reward_cents": 10,
        "items_per_task": ITEMS_PER_TASK,
        "gold_per_task": 0,
        "overlap": 1,
    }


def process_cpu() -> float:
    """CPU seconds of this process (user + system): on a shared machine, the figure that
    other processes' load does not inflate much. The server's own CPU is not in it."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def report(path: str, seconds: float, baseline: float | None, *, cpu: float | None = None,
           **extra) -> None:
    line = {"path": path, "rows": ROWS, "seconds": round(seconds, 3),
            "rows_per_second": round(ROWS / seconds)}
    if cpu is not None:
        line["client_cpu_seconds"] = round(cpu, 3)
    if baseline:
        line["vs_baseline"] = round(seconds / baseline, 2)
    line.update(extra)
    print(json.dumps(line), flush=True)


def pii_row_data(index: int) -> dict:
    if index % 10:
        return row_data(index)
    return {"text": f"Review {index}: broke in a week, mail me at user{index}@example.com "
                    f"or call +1 415 555 {index % 10000:04d}.", "n": index}


def bench_pii_scan(make_row) -> tuple[float, float, int]:
    """Seconds to scan ROWS rows, one-off recognizer build seconds, rows with findings."""
    from privacy import pii

    rows = [make_row(index) for index in range(ROWS)]
    started = time.perf_counter()
    pii._recognizers()  # built once per process, on the first row that needs it
    build = time.perf_counter() - started
    started = time.perf_counter()
    findings = pii.scan_items(rows)
    return time.perf_counter() - started, build, sum(1 for finding in findings if finding)


def bench_baseline() -> float:
    """COPY the same rows into a temp table with the item table's columns and indexes."""
    connection.ensure_connection()
    raw = connection.connection
    now = time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime())
    with raw.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE bench_item ("
            " id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
            " project_id bigint NOT NULL, task_id bigint NULL,"
            " external_id varchar(255) NULL, data jsonb NOT NULL,"
            " is_gold boolean NOT NULL, gold_answer jsonb NULL, created_at timestamptz NOT NULL,"
            " UNIQUE (project_id, external_id))")
        cursor.execute("CREATE INDEX ON bench_item (project_id, is_gold)")
        cursor.execute("CREATE INDEX ON bench_item (task_id)")
        raw.commit()
        started = time.perf_counter()
        with cursor.copy("COPY bench_item (project_id, task_id, external_id, data, is_gold,"
                         " created_at) FROM STDIN") as copy:
            for index in range(ROWS):
                copy.write_row((1, index // ITEMS_PER_TASK + 1, f"e{index}",
                                Jsonb(row_data(index)), False, now))
        raw.commit()
        seconds = time.perf_counter() - started
        cursor.execute("SELECT count(*) FROM bench_item")
        assert cursor.fetchone()[0] == ROWS
        cursor.execute("DROP TABLE bench_item")
        raw.commit()
    return seconds


def bench_baseline_item_table(project: Project) -> tuple[float, float]:
    """COPY the same rows into the item table itself (its foreign keys, indexes and
    constraints, WAL-logged), tasks made beforehand: the database's limit for storing
    this upload, which the import paths are measured against."""
    connection.ensure_connection()
    raw = connection.connection
    now = time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime())
    with raw.cursor() as cursor:
        cursor.execute(
            "INSERT INTO marketplace_task (project_id, overlap, status, created_at, filled) "
            "SELECT %s, 1, 'open', now(), 0 FROM generate_series(1, %s) RETURNING id",
            [project.pk, -(-ROWS // ITEMS_PER_TASK)])
        task_ids = sorted(row[0] for row in cursor.fetchall())
        raw.commit()
        started, cpu_started = time.perf_counter(), process_cpu()
        # Every NOT NULL column the import writes (the item table has no column defaults).
        with cursor.copy("COPY marketplace_item (project_id, task_id, external_id, data,"
                         " is_gold, created_at, sensitivity, pii_types, pii_spans, revision)"
                         " FROM STDIN") as copy:
            for index in range(ROWS):
                copy.write_row((project.pk, task_ids[index // ITEMS_PER_TASK], f"e{index}",
                                Jsonb(row_data(index)), False, now, "public", "{}", "[]", 0))
        raw.commit()
        seconds, cpu = time.perf_counter() - started, process_cpu() - cpu_started
        cursor.execute("SELECT count(*) FROM marketplace_item WHERE project_id = %s",
                       [project.pk])
        assert cursor.fetchone()[0] == ROWS
    return seconds, cpu


def bench_inline_chunks(project: Project, user: User) -> tuple[float, float]:
    size = ROWS // CHUNKS
    chunks = [[UploadRow(row=position + 1, external_id=f"e{start + position}",
                         data=row_data(start + position), answer=None, has_answer=False)
               for position in range(size)]
              for start in range(0, ROWS, size)]
    started, cpu_started = time.perf_counter(), process_cpu()
    tasks_created = 0
    for rows in chunks:
        result = services.items_import(project=project, actor=user, rows=rows, is_gold=False)
        assert result.created == len(rows)
        tasks_created += result.tasks_created
    seconds, cpu = time.perf_counter() - started, process_cpu() - cpu_started
    _check(project, tasks_created)
    return seconds, cpu


def bench_file_jsonl(client: APIClient, project: Project) -> tuple[float, float, dict]:
    content = "".join(json.dumps({"external_id": f"e{index}", "data": row_data(index)}) + "\n"
                      for index in range(ROWS)).encode()
    started, cpu_started = time.perf_counter(), process_cpu()
    response = client.post(f"/api/v1/projects/{project.pk}/items",
                           {"file": SimpleUploadedFile("items.jsonl", content)},
                           format="multipart")
    seconds, cpu = time.perf_counter() - started, process_cpu() - cpu_started
    assert response.status_code == 202, response.content[:500]
    detail = client.get(f"/api/v1/imports/{response.json()['import_id']}").json()
    assert detail["status"] == "succeeded", detail
    assert detail["rows_done"] == ROWS, detail
    _check(project, detail["tasks_created"])
    return seconds, cpu, {"bytes": len(content)}


def _check(project: Project, tasks_created: int) -> None:
    expected_tasks = -(-ROWS // ITEMS_PER_TASK)
    assert tasks_created == expected_tasks, (tasks_created, expected_tasks)
    assert Item.objects.filter(project=project).count() == ROWS
    assert Task.objects.filter(project=project).count() == expected_tasks


def cleanup(user: User | None, organization: Organization | None) -> None:
    if organization is not None:
        project_ids = list(Project.objects.filter(organization=organization)
                           .values_list("pk", flat=True))
        if project_ids:
            # The bench's items have no answers hanging off them: delete in bulk rather
            # than let the ORM collect 200,000 objects for cascades.
            with connection.cursor() as cursor:
                for model in (Item, Task):
                    cursor.execute(f"DELETE FROM {model._meta.db_table} "
                                   "WHERE project_id = ANY(%s)", [project_ids])
            ItemImport.objects.filter(project_id__in=project_ids).delete()
            Project.objects.filter(pk__in=project_ids).delete()
        organization.delete()
    if user is not None:
        user.delete()


def ensure_database() -> None:
    """Create the database DATABASE_URL names if the server does not have it yet."""
    try:
        connection.ensure_connection()
        return
    except OperationalError as exc:
        if "does not exist" not in str(exc):
            raise
    params = connection.get_connection_params()
    name = params.pop("dbname")
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    connection.ensure_connection()


def main() -> int:
    if connection.vendor != "postgresql":
        print("bench/import_items.py needs DATABASE_URL pointing at PostgreSQL "
              f"(got {connection.vendor}).", file=sys.stderr)
        return 2
    ensure_database()
    call_command("migrate", verbosity=0)

    tag = uuid.uuid4().hex[:10]
    user = organization = None
    try:
        user = User.objects.create_user(email=f"bench-{tag}@bench.example",
                                        password=uuid.uuid4().hex, role=Role.REQUESTER)
        organization = services.organization_create(name=f"bench-imports-{tag}", owner=user)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_issue(user=user).token}")

        def new_project(name: str) -> Project:
            response = client.post("/api/v1/projects", project_body(f"{name}-{tag}"),
                                   format="json")
            assert response.status_code == 201, response.content[:500]
            return Project.objects.get(pk=response.json()["id"])

        load_before = os.getloadavg()
        temp_table = bench_baseline()
        baseline, baseline_cpu = bench_baseline_item_table(new_project("bench-copy"))

        inline_seconds, inline_cpu = bench_inline_chunks(new_project("bench-inline"), user)
        report("inline_chunks", inline_seconds, baseline, cpu=inline_cpu, chunks=CHUNKS)

        with override_settings(IMPORT_SYNC_MAX_ROWS=1000):
            file_seconds, file_cpu, extra = bench_file_jsonl(client, new_project("bench-file"))
        report("file_jsonl", file_seconds, baseline, cpu=file_cpu, **extra)

        for label, make_row in (("clean rows", row_data), ("1 in 10 rows with PII", pii_row_data)):
            scan_seconds, build_seconds, flagged = bench_pii_scan(make_row)
            report("pii_scan", scan_seconds, baseline, rows_kind=label, rows_flagged=flagged,
                   recognizer_build_seconds=round(build_seconds, 3),
                   vs_inline_chunks=round(scan_seconds / inline_seconds, 3))
        report("baseline_raw_copy", baseline, baseline, cpu=baseline_cpu,
               method="psycopg COPY into marketplace_item (same table, FKs, indexes)")
        report("raw_copy_temp_table", temp_table, baseline,
               method="psycopg COPY, temp table (unlogged, no foreign keys)")
        print(json.dumps({"summary": True, "goal": "file import >= 40% of raw COPY speed",
                          "file_vs_raw_copy_speed": round(baseline / file_seconds, 3),
                          "met": baseline / file_seconds >= 0.40,
                          "load_average_before": [round(x, 2) for x in load_before],
                          "load_average_after": [round(x, 2) for x in os.getloadavg()]}),
              flush=True)
    finally:
        cleanup(user, organization)
    return 0


if __name__ == "__main__":
    sys.exit(main())
