"""config.compiled_write: the ORM's single-row writes, their SQL built once."""
from datetime import timedelta

import pytest
from django.db import DatabaseError, connection
from django.db.models import signals
from django.db.models.sql import compiler
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conftest import make_worker
from config.compiled_write import insert, save_fields
from marketplace.models import Organization
from marketplace.services import project_create
from qa.models import WorkerProjectStats
from workers.tests.factories import make_ready_worker, project_fields

pytestmark = pytest.mark.django_db


@pytest.fixture
def worker_and_project(requester) -> dict:
    return {"worker": make_ready_worker(make_worker("dana@workers.example"), skills={}),
            "project": project_create(organization=requester.membership.organization,
                                      actor=requester, fields=project_fields())}


def test_save_fields_writes_only_the_named_fields():
    organization = Organization.objects.create(name="Acme")
    created = organization.created_at
    Organization.objects.filter(pk=organization.pk).update(
        created_at=created - timedelta(days=1))
    organization.name = "Acme Labs"

    save_fields(organization, ["name"])

    stored = Organization.objects.get(pk=organization.pk)
    assert (stored.name, stored.created_at) == ("Acme Labs", created - timedelta(days=1))


def test_save_fields_applies_auto_now_to_the_row_and_the_instance(worker_and_project):
    stats = WorkerProjectStats.objects.create(**worker_and_project)
    before = stats.updated_at
    stats.submitted = 7

    save_fields(stats, ["submitted", "updated_at"])

    stored = WorkerProjectStats.objects.get(pk=stats.pk)
    assert stored.submitted == 7
    assert stored.updated_at == stats.updated_at > before


def test_save_fields_of_a_deleted_row_is_a_database_error():
    organization = Organization.objects.create(name="Acme")
    Organization.objects.filter(pk=organization.pk).delete()
    organization.name = "Gone"

    with pytest.raises(DatabaseError):
        save_fields(organization, ["name"])


def test_insert_applies_auto_now_add_and_sets_the_key():
    started = timezone.now()

    organization = insert(Organization(name="Acme"))

    stored = Organization.objects.get(pk=organization.pk)
    assert stored.name == "Acme"
    assert started - timedelta(seconds=1) < stored.created_at == organization.created_at
    assert not organization._state.adding


def test_insert_stores_json_and_null_foreign_keys(requester):
    from marketplace.models import Assignment, AssignmentEvent
    from marketplace.tests.test_hot_path_queries import launched, next_task, ready_client
    launched(requester)
    _, client = ready_client()
    assignment = Assignment.objects.get(pk=next_task(client).json()["assignment_id"])

    event = insert(AssignmentEvent(assignment=assignment, kind="test.kind",
                                   details={"n": [1, "two", None]}))

    stored = AssignmentEvent.objects.get(pk=event.pk)
    assert (stored.kind, stored.details, stored.actor_id) == (
        "test.kind", {"n": [1, "two", None]}, None)


def test_a_model_with_save_receivers_goes_through_the_orm_so_they_fire():
    heard = []

    def receiver(sender, instance, **kwargs):
        heard.append((instance.pk, kwargs.get("update_fields"), kwargs["created"]))

    signals.post_save.connect(receiver, sender=Organization, dispatch_uid="test-receiver")
    try:
        organization = insert(Organization(name="Acme"))
        organization.name = "Acme Labs"
        save_fields(organization, ["name"])
    finally:
        signals.post_save.disconnect(sender=Organization, dispatch_uid="test-receiver")

    assert heard == [(organization.pk, None, True),
                     (organization.pk, frozenset({"name"}), False)]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the compiled path")
def test_each_statement_is_built_once(monkeypatch):
    organization = insert(Organization(name="Acme"))  # both compiled here
    save_fields(organization, ["name"])
    monkeypatch.setattr(compiler.SQLUpdateCompiler, "as_sql",
                        lambda *args, **kwargs: pytest.fail("the ORM built the update"))
    monkeypatch.setattr(compiler.SQLInsertCompiler, "as_sql",
                        lambda *args, **kwargs: pytest.fail("the ORM built the insert"))
    organization.name = "Acme Labs"

    with CaptureQueriesContext(connection) as captured:
        save_fields(organization, ["name"])
        other = insert(Organization(name="Beta"))

    assert len(captured.captured_queries) == 2
    assert Organization.objects.get(pk=organization.pk).name == "Acme Labs"
    assert Organization.objects.get(pk=other.pk).name == "Beta"


def test_bulk_update_of_one_row_writes_it_as_given_and_counts_it(worker_and_project):
    from config.bulk import bulk_update
    stats = WorkerProjectStats.objects.create(**worker_and_project)
    stamped = stats.updated_at
    stats.submitted, stats.accuracy_lower_bound = 3, 0.25

    assert bulk_update(WorkerProjectStats, [stats], ["submitted", "accuracy_lower_bound",
                                                     "updated_at"]) == 1

    stored = WorkerProjectStats.objects.get(pk=stats.pk)
    # As Django's bulk_update: the values as they are, auto_now not applied.
    assert (stored.submitted, stored.accuracy_lower_bound, stored.updated_at) == (
        3, 0.25, stamped)
    WorkerProjectStats.objects.filter(pk=stats.pk).delete()
    assert bulk_update(WorkerProjectStats, [stats], ["submitted"]) == 0


def test_bulk_update_of_several_rows_writes_each(requester):
    from config.bulk import bulk_update
    project = project_create(organization=requester.membership.organization,
                             actor=requester, fields=project_fields())
    records = [WorkerProjectStats.objects.create(
        worker=make_ready_worker(make_worker(f"w{index}@workers.example"), skills={}),
        project=project) for index in range(3)]
    for index, record in enumerate(records):
        record.submitted = index + 10

    assert bulk_update(WorkerProjectStats, records, ["submitted"]) == 3

    assert sorted(WorkerProjectStats.objects.values_list("submitted", flat=True)) == [
        10, 11, 12]


def test_update_returning_counts_locks_and_reads_the_row_in_one_statement(
        worker_and_project):
    from config.compiled_write import update_returning
    made = WorkerProjectStats.objects.create(**worker_and_project, gold_seen=2,
                                             accuracy_lower_bound=0.5)
    key = {"worker_id": made.worker_id, "project_id": made.project_id}

    with CaptureQueriesContext(connection) as captured:
        stats = update_returning(WorkerProjectStats, where=key,
                                 add={"gold_seen": 3, "submitted": 1})

    assert (stats.pk, stats.gold_seen, stats.submitted, stats.accuracy_lower_bound) == (
        made.pk, 5, 1, 0.5)
    assert stats.updated_at > made.updated_at  # auto_now applied, as save() would
    stored = WorkerProjectStats.objects.get(pk=made.pk)
    assert (stored.gold_seen, stored.submitted, stored.updated_at) == (5, 1, stats.updated_at)
    if connection.vendor == "postgresql":
        assert len(captured.captured_queries) == 1
        assert captured.captured_queries[0]["sql"].startswith("UPDATE")


def test_update_returning_of_no_row_is_none(requester):
    from config.compiled_write import update_returning
    assert update_returning(WorkerProjectStats, where={"worker_id": 0, "project_id": 0},
                            add={"submitted": 1}) is None


def _together_writes(worker_and_project):
    from config.bulk import bulk_update_write
    from config.compiled_write import insert_write, save_fields_write
    stats = WorkerProjectStats.objects.create(**worker_and_project)
    organization = Organization.objects.create(name="Acme")
    stats.submitted = 4
    organization.name = "Acme Labs"
    new = Organization(name="Beta")
    writes = (save_fields_write(stats, ["submitted", "updated_at"]),
              bulk_update_write(Organization, [organization], ["name"]),
              insert_write(new))
    return stats, organization, new, writes


def test_write_together_applies_each_write_as_alone(worker_and_project):
    from config.compiled_write import write_together
    stats, organization, new, writes = _together_writes(worker_and_project)

    with CaptureQueriesContext(connection) as captured:
        write_together(*writes)

    stored = WorkerProjectStats.objects.get(pk=stats.pk)
    assert (stored.submitted, stored.updated_at) == (4, stats.updated_at)
    assert Organization.objects.get(pk=organization.pk).name == "Acme Labs"
    assert new.pk is not None and not new._state.adding
    assert Organization.objects.get(pk=new.pk).name == "Beta"
    if connection.vendor == "postgresql":
        assert len(captured.captured_queries) == 1
        assert captured.captured_queries[0]["sql"].startswith("WITH w0 AS (UPDATE")
    else:
        assert len(captured.captured_queries) >= 3


def test_write_together_still_refuses_a_save_of_a_vanished_row(worker_and_project):
    from django.db import transaction

    from config.compiled_write import write_together
    stats, organization, new, writes = _together_writes(worker_and_project)
    WorkerProjectStats.objects.filter(pk=stats.pk).delete()

    with pytest.raises(DatabaseError), transaction.atomic():
        write_together(*writes)

    # The caller's transaction rolled back: the other writes went with it.
    assert Organization.objects.get(pk=organization.pk).name == "Acme"
    assert not Organization.objects.filter(name="Beta").exists()


def test_write_together_runs_each_write_alone_when_one_needs_the_orm(worker_and_project):
    from config.compiled_write import write_together
    heard = []

    def receiver(sender, instance, **kwargs):
        heard.append((instance.name, kwargs["created"]))

    signals.post_save.connect(receiver, sender=Organization, dispatch_uid="test-receiver")
    try:
        stats, organization, new, writes = _together_writes(worker_and_project)
        heard.clear()  # the fixture's own create
        with CaptureQueriesContext(connection) as captured:
            write_together(*writes)
    finally:
        signals.post_save.disconnect(sender=Organization, dispatch_uid="test-receiver")

    # The bulk update sends no signal (as Django's); the insert went through save().
    assert heard == [("Beta", True)]
    assert len(captured.captured_queries) >= 3
    assert WorkerProjectStats.objects.get(pk=stats.pk).submitted == 4
    assert Organization.objects.get(pk=organization.pk).name == "Acme Labs"


def test_write_together_reads_back_a_counted_row_as_update_returning_does(
        worker_and_project):
    from config.compiled_write import update_returning_write, write_together
    stats, organization, _, writes = _together_writes(worker_and_project)
    counted = update_returning_write(WorkerProjectStats, where=worker_and_project_key(stats),
                                     add={"gold_seen": 3, "gold_correct": 2, "submitted": 1})
    nothing = update_returning_write(WorkerProjectStats,
                                     where={"worker_id": 0, "project_id": 0},
                                     add={"gold_seen": 1, "gold_correct": 0, "submitted": 1})

    with CaptureQueriesContext(connection) as captured:
        write_together(writes[1], counted, nothing, writes[2])

    row = counted.outcome
    stored = WorkerProjectStats.objects.get(pk=stats.pk)
    assert isinstance(row, WorkerProjectStats) and row.pk == stats.pk
    assert (row.gold_seen, row.gold_correct, row.submitted, row.updated_at) == (
        stored.gold_seen, stored.gold_correct, stored.submitted, stored.updated_at) == (
        3, 2, 1, stored.updated_at)
    assert row.updated_at > stats.updated_at
    assert nothing.outcome is None  # no row matched: nothing written, nothing made up
    assert Organization.objects.get(pk=organization.pk).name == "Acme Labs"
    assert writes[2].outcome is None and Organization.objects.filter(name="Beta").exists()
    if connection.vendor == "postgresql":
        assert len(captured.captured_queries) == 1


def test_update_returning_write_through_the_orm_gives_the_same_row(worker_and_project,
                                                                  monkeypatch):
    from config import compiled_write
    stats = WorkerProjectStats.objects.create(**worker_and_project, gold_seen=1)
    monkeypatch.setattr(compiled_write, "_compiled_path", lambda model, using: None)
    counted = compiled_write.update_returning_write(
        WorkerProjectStats, where=worker_and_project_key(stats), add={"gold_seen": 2})
    assert counted.sql is None

    compiled_write.write_together(counted)

    assert counted.outcome.pk == stats.pk and counted.outcome.gold_seen == 3
    assert WorkerProjectStats.objects.get(pk=stats.pk).gold_seen == 3


def worker_and_project_key(stats) -> dict:
    return {"worker_id": stats.worker_id, "project_id": stats.project_id}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the compiled path")
def test_write_together_builds_its_statement_once(worker_and_project, monkeypatch):
    from config import compiled_write
    _, _, _, writes = _together_writes(worker_and_project)
    compiled_write.write_together(*writes)
    (shape, sql), = [(shape, sql) for shape, sql in compiled_write._TOGETHER.items()
                     if shape == tuple((write.sql, write.returning) for write in writes)]
    monkeypatch.setitem(compiled_write._TOGETHER, shape, sql + " /* kept */")
    _, _, _, writes = _together_writes(
        {**worker_and_project,
         "worker": make_ready_worker(make_worker("eve@workers.example"), skills={})})

    with CaptureQueriesContext(connection) as captured:
        compiled_write.write_together(*writes)

    assert captured.captured_queries[-1]["sql"].endswith("/* kept */")
