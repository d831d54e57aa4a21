"""The background import job (services.item_import_run): idempotent and crash-safe.

The job may be delivered twice (acks_late) or die half way. It claims the import with a
compare-and-swap on (status, attempt); the insert, the task cutting and the final status
commit together, guarded by that attempt.
"""
import json
import math
from collections import Counter
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from conftest import project_payload
from marketplace import services
from marketplace.enums import ImportStatus
from marketplace.models import Item, ItemImport, Project, Task
from marketplace.services import imports as imports_module
from marketplace.tasks import run_item_import


def jsonl(objects) -> bytes:
    return "".join(json.dumps(obj) + "\n" for obj in objects).encode()


def texts(n, start=0):
    return [{"data": {"text": f"t{i}"}} for i in range(start, start + n)]


def make_import(project_id, user, rows, *, is_gold=False, **fields) -> ItemImport:
    return ItemImport.objects.create(
        project_id=project_id, created_by=user, is_gold=is_gold, file_format="jsonl",
        payload=jsonl(rows), rows_total=len(rows), **fields)


def items_of(project_id):
    return Item.objects.filter(project_id=project_id)


def tasks_of(project_id):
    return Task.objects.filter(project_id=project_id)


def task_sizes(project_id) -> list[int]:
    return list(tasks_of(project_id).annotate(size=Count("items")).order_by("id")
                .values_list("size", flat=True))


class Crash(Exception):
    """Stands in for a worker dying: not an error the job knows how to report."""


# --- one run -----------------------------------------------------------------------------

def test_run_stores_rows_and_marks_the_import_succeeded(requester, project):
    item_import = make_import(project["id"], requester, texts(5))

    services.item_import_run(import_id=item_import.pk)

    item_import.refresh_from_db()
    assert item_import.status == ImportStatus.SUCCEEDED
    assert item_import.attempt == 1
    assert (item_import.rows_total, item_import.rows_done) == (5, 5)
    assert (item_import.items_created, item_import.tasks_created) == (5, 3)
    assert item_import.errors == []
    assert item_import.finished_at is not None
    assert bytes(item_import.payload) == b""
    assert [item.data for item in items_of(project["id"]).order_by("id")] == \
        [row["data"] for row in texts(5)]
    assert task_sizes(project["id"]) == [2, 2, 1]


def test_celery_task_runs_the_import(requester, project):
    item_import = make_import(project["id"], requester, texts(3))

    run_item_import.delay(item_import.pk)

    item_import.refresh_from_db()
    assert item_import.status == ImportStatus.SUCCEEDED
    assert items_of(project["id"]).count() == 3


def test_bad_row_fails_the_import_and_stores_nothing(requester, project):
    rows = texts(6)
    rows[2] = {"data": {}}
    rows[4] = {"data": {"text": "x"}, "answer": "positive"}
    item_import = make_import(project["id"], requester, rows)

    services.item_import_run(import_id=item_import.pk)

    item_import.refresh_from_db()
    assert item_import.status == ImportStatus.FAILED
    assert item_import.errors == [
        {"row": 3, "field": "data", "message": "'data' must be a non-empty object."},
        {"row": 5, "field": "answer",
         "message": "items carry no answer; upload gold items to /gold."},
    ]
    assert (item_import.items_created, item_import.tasks_created) == (0, 0)
    assert item_import.finished_at is not None
    assert bytes(item_import.payload) == b""
    assert items_of(project["id"]).count() == 0
    assert tasks_of(project["id"]).count() == 0


def test_unparseable_payload_fails_with_the_row(requester, project):
    item_import = make_import(project["id"], requester, texts(2))
    item_import.payload = bytes(item_import.payload) + b"{nope\n"
    item_import.save(update_fields=["payload"])

    services.item_import_run(import_id=item_import.pk)

    item_import.refresh_from_db()
    assert item_import.status == ImportStatus.FAILED
    assert len(item_import.errors) == 1
    assert item_import.errors[0]["row"] == 3
    assert item_import.errors[0]["field"] is None
    assert item_import.errors[0]["message"].startswith("invalid JSON")
    assert items_of(project["id"]).count() == 0


def test_import_into_a_project_cancelled_while_queued_fails(requester_client, requester,
                                                            project):
    item_import = make_import(project["id"], requester, texts(3))
    requester_client.post(f"/api/v1/projects/{project['id']}/cancel")

    services.item_import_run(import_id=item_import.pk)

    item_import.refresh_from_db()
    assert item_import.status == ImportStatus.FAILED
    assert item_import.errors == [{"row": None, "field": None,
                                   "message": "Items cannot be added to a cancelled project."}]
    assert items_of(project["id"]).count() == 0
    assert tasks_of(project["id"]).count() == 0


def test_gold_import_cuts_no_tasks(requester, project):
    rows = [{"data": {"text": f"g{i}"}, "answer": "negative"} for i in range(4)]
    item_import = make_import(project["id"], requester, rows, is_gold=True)

    services.item_import_run(import_id=item_import.pk)

    item_import.refresh_from_db()
    assert item_import.status == ImportStatus.SUCCEEDED
    assert (item_import.items_created, item_import.tasks_created) == (4, 0)
    assert list(items_of(project["id"]).values_list("is_gold", "gold_answer", "task_id")
                .distinct()) == [(True, "negative", None)]
    assert tasks_of(project["id"]).count() == 0


# --- duplicate deliveries and takeovers --------------------------------------------------

def test_running_twice_stores_the_rows_once(requester, project):
    item_import = make_import(project["id"], requester, texts(5))

    services.item_import_run(import_id=item_import.pk)
    services.item_import_run(import_id=item_import.pk)

    item_import.refresh_from_db()
    assert item_import.status == ImportStatus.SUCCEEDED
    assert item_import.attempt == 1
    assert item_import.items_created == 5
    assert items_of(project["id"]).count() == 5
    assert tasks_of(project["id"]).count() == 3


def test_running_a_failed_import_again_changes_nothing(requester, project):
    item_import = make_import(project["id"], requester, [{"data": {}}])
    services.item_import_run(import_id=item_import.pk)
    item_import.refresh_from_db()
    failed_at, errors = item_import.finished_at, item_import.errors

    services.item_import_run(import_id=item_import.pk)

    item_import.refresh_from_db()
    assert item_import.status == ImportStatus.FAILED
    assert (item_import.attempt, item_import.finished_at, item_import.errors) == \
        (1, failed_at, errors)
    assert items_of(project["id"]).count() == 0


def test_running_import_with_a_fresh_heartbeat_is_not_taken_over(requester, project):
    heartbeat = timezone.now() - imports_module.STALE_IMPORT_AFTER + timedelta(minutes=1)
    item_import = make_import(project["id"], requester, texts(4),
                              status=ImportStatus.RUNNING, attempt=1, heartbeat_at=heartbeat,
                              rows_done=2)

    services.item_import_run(import_id=item_import.pk)

    item_import.refresh_from_db()
    assert item_import.status == ImportStatus.RUNNING
    assert (item_import.attempt, item_import.rows_done) == (1, 2)
    assert item_import.heartbeat_at == heartbeat
    assert bytes(item_import.payload) != b""
    assert items_of(project["id"]).count() == 0
    assert tasks_of(project["id"]).count() == 0


def test_running_import_with_a_stale_heartbeat_is_taken_over(requester, project):
    heartbeat = timezone.now() - imports_module.STALE_IMPORT_AFTER - timedelta(seconds=1)
    item_import = make_import(project["id"], requester, texts(4),
                              status=ImportStatus.RUNNING, attempt=1, heartbeat_at=heartbeat,
                              rows_done=2)

    services.item_import_run(import_id=item_import.pk)

    item_import.refresh_from_db()
    assert item_import.status == ImportStatus.SUCCEEDED
    assert item_import.attempt == 2
    assert item_import.rows_done == 4
    assert item_import.heartbeat_at > heartbeat
    assert items_of(project["id"]).count() == 4
    assert tasks_of(project["id"]).count() == 2


def test_crash_before_commit_stores_nothing_and_a_takeover_stores_once(
        requester, project, monkeypatch):
    item_import = make_import(project["id"], requester, texts(5))
    real_finish = imports_module._finish

    def crash_at_finish(import_id, attempt, **fields):
        raise Crash  # the rows and tasks are written, the commit never happens

    monkeypatch.setattr(imports_module, "_finish", crash_at_finish)
    with pytest.raises(Crash):
        services.item_import_run(import_id=item_import.pk)

    item_import.refresh_from_db()
    assert item_import.status == ImportStatus.RUNNING
    assert item_import.attempt == 1
    assert items_of(project["id"]).count() == 0
    assert tasks_of(project["id"]).count() == 0

    # The redelivered job finds the import still owned by a live-looking run...
    monkeypatch.setattr(imports_module, "_finish", real_finish)
    services.item_import_run(import_id=item_import.pk)
    assert items_of(project["id"]).count() == 0

    # ...and takes it over once the heartbeat has gone stale.
    ItemImport.objects.filter(pk=item_import.pk).update(
        heartbeat_at=timezone.now() - imports_module.STALE_IMPORT_AFTER - timedelta(seconds=1))
    services.item_import_run(import_id=item_import.pk)
    services.item_import_run(import_id=item_import.pk)

    item_import.refresh_from_db()
    assert item_import.status == ImportStatus.SUCCEEDED
    assert item_import.attempt == 2
    assert items_of(project["id"]).count() == 5
    assert task_sizes(project["id"]) == [2, 2, 1]


def test_run_that_lost_its_claim_stores_nothing(requester, project, monkeypatch):
    item_import = make_import(project["id"], requester, texts(5))
    real_rows = imports_module.upload_rows

    def newer_run_claims_first(payload, file_format):
        # A newer delivery took the import over as this run began.
        ItemImport.objects.filter(pk=item_import.pk).update(attempt=2)
        return real_rows(payload, file_format)

    monkeypatch.setattr(imports_module, "upload_rows", newer_run_claims_first)

    services.item_import_run(import_id=item_import.pk)

    item_import.refresh_from_db()
    assert item_import.status == ImportStatus.RUNNING
    assert item_import.attempt == 2
    assert item_import.finished_at is None
    assert items_of(project["id"]).count() == 0
    assert tasks_of(project["id"]).count() == 0


def test_project_edited_after_the_claim_is_cut_by_its_new_shape(requester, project,
                                                                monkeypatch):
    item_import = make_import(project["id"], requester, texts(7))
    real_lock = imports_module.project_for_update

    def edit_then_lock(*, project_id):
        Project.objects.filter(pk=project_id).update(items_per_task=3)
        return real_lock(project_id=project_id)

    monkeypatch.setattr(imports_module, "project_for_update", edit_then_lock)

    services.item_import_run(import_id=item_import.pk)

    item_import.refresh_from_db()
    assert item_import.status == ImportStatus.SUCCEEDED
    assert item_import.tasks_created == 3
    assert task_sizes(project["id"]) == [3, 3, 1]


def test_external_id_clash_the_lookup_missed_fails_the_import_cleanly(
        requester, project, monkeypatch):
    """Every upload holds the project lock, so the up-front lookup sees every stored id; a
    writer that skipped the lock is caught by the unique index, inside the COPY thread,
    and reported like any other conflict."""
    rows = [{"external_id": f"e{i}", "data": {"text": f"t{i}"}} for i in range(4)]
    item_import = make_import(project["id"], requester, rows)
    Item.objects.create(project_id=project["id"], external_id="e2", data={"text": "other"})
    monkeypatch.setattr(imports_module, "_taken_external_ids", lambda project, rows: set())

    services.item_import_run(import_id=item_import.pk)

    item_import.refresh_from_db()
    assert item_import.status == ImportStatus.FAILED
    assert item_import.errors == [{
        "row": None, "field": None,
        "message": "Another upload added some of these external_ids; nothing was stored. "
                   "Retry to see which rows clash."}]
    assert list(items_of(project["id"]).values_list("external_id", flat=True)) == ["e2"]
    assert tasks_of(project["id"]).count() == 0


def test_bad_row_after_chunks_were_copied_stores_nothing(requester, project, monkeypatch):
    monkeypatch.setattr(imports_module, "INSERT_BATCH_SIZE", 3)
    rows = texts(10)
    rows[7] = {"data": {"text": "t7"}, "colour": "red"}
    item_import = make_import(project["id"], requester, rows)

    services.item_import_run(import_id=item_import.pk)

    item_import.refresh_from_db()
    assert item_import.status == ImportStatus.FAILED
    assert item_import.errors == [{"row": 8, "field": "row",
                                   "message": "unknown key(s): colour."}]
    assert items_of(project["id"]).count() == 0
    assert tasks_of(project["id"]).count() == 0


@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="progress is written on a second connection while the run's "
                           "transaction is open: SQLite has one writer at a time")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_progress_is_reported_while_the_rows_are_validated_and_stored(
        requester, project, monkeypatch):
    monkeypatch.setattr(imports_module, "INSERT_BATCH_SIZE", 3)
    item_import = make_import(project["id"], requester, texts(10))
    claimed_at = timezone.now()
    seen = []
    real_lock = imports_module.item_import_for_update

    def record_progress_then_lock(*, import_id):
        # The run locks its import row last, with every row stored but not committed:
        # what GET /imports/{id} shows meanwhile.
        seen.append(ItemImport.objects.values_list("rows_done", "heartbeat_at")
                    .get(pk=import_id))
        return real_lock(import_id=import_id)

    monkeypatch.setattr(imports_module, "item_import_for_update", record_progress_then_lock)

    services.item_import_run(import_id=item_import.pk)

    [(rows_done, heartbeat_at)] = seen
    assert rows_done == 9
    assert heartbeat_at >= claimed_at
    item_import.refresh_from_db()
    assert (item_import.status, item_import.rows_done) == (ImportStatus.SUCCEEDED, 10)
    assert items_of(project["id"]).count() == 10


# --- volume ------------------------------------------------------------------------------

@pytest.mark.slow
def test_100k_row_jsonl_import_through_the_api(requester_client,
                                               django_capture_on_commit_callbacks):
    project = requester_client.post("/api/v1/projects", project_payload(items_per_task=3),
                                    format="json").json()
    rows_total = 100_000
    content = "".join(f'{{"external_id": "e{i}", "data": {{"text": "item {i}", "n": {i}}}}}\n'
                      for i in range(rows_total)).encode()
    with django_capture_on_commit_callbacks(execute=True):
        response = requester_client.post(
            f"/api/v1/projects/{project['id']}/items",
            {"file": SimpleUploadedFile("items.jsonl", content)}, format="multipart")

    assert response.status_code == 202, response.json()
    body = requester_client.get(f"/api/v1/imports/{response.json()['import_id']}").json()
    expected_tasks = math.ceil(rows_total / 3)
    assert (body["status"], body["rows_total"], body["rows_done"], body["items_created"],
            body["tasks_created"], body["errors"]) == \
        ("succeeded", rows_total, rows_total, rows_total, expected_tasks, [])
    assert items_of(project["id"]).count() == rows_total
    assert items_of(project["id"]).filter(task__isnull=True).count() == 0
    assert tasks_of(project["id"]).count() == expected_tasks
    assert Counter(task_sizes(project["id"])) == {3: expected_tasks - 1, 1: 1}
    assert task_sizes(project["id"])[-1] == 1  # only the last task is short
    last = items_of(project["id"]).order_by("-id").first()
    assert (last.external_id, last.data) == ("e99999", {"text": "item 99999", "n": 99999})
    # Its speed is measured by bench/import_items.py, not asserted here.
