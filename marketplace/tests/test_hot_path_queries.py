"""Exact statement counts of the worker's hot path over HTTP, through the whole request
stack: next (new lease with the routable projects cached or not, live lease, nothing to
do) and submit (gold graded inline).

Measured on PostgreSQL. The test runs inside a transaction, so every atomic block of the
code adds SAVEPOINT + RELEASE (in production they are BEGIN + COMMIT, which the capture
does not count). Before the one-statement claim (issue 11): next 16, live lease 7,
submit 13.
"""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import client_for, fund_organization, make_worker
from flows import projects as projects_flow
from marketplace.models import Answer, Assignment, GoldSeen
from marketplace.services import items_import, project_create
from marketplace.uploads import UploadRow
from payments.selectors import effective_hourly_cents
from workers.tests.factories import make_ready_worker, project_fields

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="the counts of the one-statement claim (PostgreSQL)"),
]

NEXT = "/api/v1/worker/tasks/next"


def launched(requester, *, tasks=20, gold=5, **fields):
    project = project_create(organization=requester.membership.organization, actor=requester,
                             fields=project_fields(**fields))
    items_import(project=project, actor=requester, is_gold=False, rows=[
        UploadRow(row=i + 1, external_id=None, data={"text": f"t{i}"}, answer=None,
                  has_answer=False) for i in range(tasks * project.items_per_task)])
    if gold:
        items_import(project=project, actor=requester, is_gold=True, rows=[
            UploadRow(row=i + 1, external_id=None, data={"text": f"g{i}"},
                      answer="positive", has_answer=True) for i in range(gold)])
    fund_organization(requester)
    return projects_flow.launch(project=project, actor=requester)


def ready_client(email="dana@workers.example"):
    user = make_worker(email)
    make_ready_worker(user, skills={"sentiment-en": 90})
    return user, client_for(user)


def statements(action) -> tuple[list[str], object]:
    with CaptureQueriesContext(connection) as captured:
        result = action()
    return [query["sql"] for query in captured.captured_queries], result


def next_task(client):
    return client.post(NEXT, {}, format="json")


@pytest.fixture
def gold_project(requester):
    # gold_per_task = 1 and two items per task: the statement also picks and places gold.
    project = launched(requester, gold_per_task=1, items_per_task=2, overlap=2)
    effective_hourly_cents(project=project)  # cached per project after its first lookup
    return project


def test_a_new_lease_is_one_claim_statement_after_the_worker_lock(gold_project):
    user, client = ready_client()
    next_task(client)  # warms the routable-projects cache...
    client.post(f"/api/v1/worker/assignments/{Assignment.objects.get().pk}/return")

    sql, response = statements(lambda: next_task(client))  # ...used here

    assert response.status_code == 200
    # [savepoint], worker lock, the claim, [release] (the token's identity is cached
    # after its first request: accounts/identity_cache.py). In production, outside a
    # transaction: one pipeline, one round trip, no savepoint (test_claim_pipeline.py).
    assert len(sql) == 4, sql
    assert "FOR NO KEY UPDATE" in sql[1] and '"workers_workerprofile"' in sql[1]
    assert sql[2].startswith("WITH pick AS")
    body = response.json()
    assignment = Assignment.objects.get(pk=body["assignment_id"])
    served = list(Answer.objects.filter(assignment=assignment).order_by("position")
                  .values_list("pk", "is_gold"))
    assert [item["id"] for item in body["items"]] == [pk for pk, _ in served]
    assert sorted(is_gold for _, is_gold in served) == [False, False, True]
    assert GoldSeen.objects.filter(worker=assignment.worker).count() == 2  # both leases


def test_a_cold_cache_adds_the_fresh_worker_and_the_routable_projects(gold_project):
    _, client = ready_client()

    sql, response = statements(lambda: next_task(client))

    assert response.status_code == 200
    # token, worker (fresh), routable projects, [savepoint], lock, claim, [release]
    assert len(sql) == 7, sql
    assert '"marketplace_project"."priority"' in sql[2]


def test_a_live_lease_costs_the_lock_an_empty_claim_and_the_lease(gold_project):
    _, client = ready_client()
    first = next_task(client).json()

    sql, response = statements(lambda: next_task(client))

    assert response.json()["assignment_id"] == first["assignment_id"]
    # [savepoint], lock, claim (refused: live lease), [release], the lease, its items
    assert len(sql) == 6, sql
    assert '"marketplace_assignment"' in sql[4] and "FOR" not in sql[4]


def test_nothing_to_do_is_a_204_in_one_statement(requester):
    _, client = ready_client()  # no project at all
    next_task(client)

    sql, response = statements(lambda: next_task(client))

    assert response.status_code == 204
    # No project to claim from: no lock, no claim, only the look for a live lease.
    assert len(sql) == 1, sql


def submit(client, body):
    answers = [{"item_id": item["id"], "value": "positive"} for item in body["items"]]
    return client.post(f"/api/v1/worker/assignments/{body['assignment_id']}/submit",
                       {"answers": answers}, format="json")


def test_submit_statements_grading_gold_inline(gold_project):
    _, client = ready_client()
    assert submit(client, next_task(client).json()).status_code == 200  # records exist now
    body = next_task(client).json()

    sql, response = statements(lambda: submit(client, body))

    assert response.status_code == 200, response.content
    assert len(sql) == SUBMIT_STATEMENTS, "\n".join(sql)
    assignment = Assignment.objects.get(pk=body["assignment_id"])
    assert assignment.graded_at is not None  # graded by the submit, not by a job
    assert list(Answer.objects.filter(assignment=assignment, is_gold=True)
                .values_list("is_correct", flat=True)) == [True]


def test_submit_statements_without_gold(requester):
    launched(requester, gold=0, items_per_task=1, overlap=2)
    _, client = ready_client()
    assert submit(client, next_task(client).json()).status_code == 200  # records exist now
    body = next_task(client).json()

    sql, response = statements(lambda: submit(client, body))

    assert response.status_code == 200, response.content
    # [savepoint], the assignment locked with its served answers, in one statement: the
    # answer (a primary-key update), the assignment update, its event row and the
    # worker's project record counted and read back (no gold: its lower bound stands),
    # [release].
    assert len(sql) == 4, "\n".join(sql)
    assert sql[1].startswith("WITH locked AS") and "FOR NO KEY UPDATE OF a" in sql[1]
    assert sql[2].startswith('WITH w0 AS (UPDATE "marketplace_answer"')
    assert "jsonb" not in sql[2] and 'INSERT INTO "marketplace_assignmentevent"' in sql[2]
    assert 'UPDATE "qa_workerprojectstats"' in sql[2] and "RETURNING" in sql[2]


# [savepoint], in one statement the assignment lock (with its project: the answers are
# unmasked under it) and the served answers with items; in one more the answers update
# (values and gold grades), the assignment update (submitted and graded), the event row
# and the worker's project record counted; its lower bound, the project's skills, the
# worker's skill record: lock and update, [release]. From the cache: the quality settings
# (spot-check rate, tolerances, rules: qa/settings_cache.py) and whether the organization
# listens to assignment.submitted (marketplace/webhooks/subscriptions.py). Before grading
# inline (issue 11): 11 here plus 16 in the grading job (its own project and settings
# lookups, the assignment lock and answers again, the records); 14 until the view stopped
# reading the assignment apart, 13 until the three writes of the submit went in one
# statement, 11 until the token's identity was cached (its first request still reads
# it), 10 until the record's count joined that statement, 9 until the lock and the
# answers' read were one.
SUBMIT_STATEMENTS = 8


def _generic_plan(sql: str, params: tuple) -> str:
    """EXPLAIN of the statement as PostgreSQL's plan cache keeps it once it goes generic
    (the claim is a prepared statement), with sorts and sequential scans priced out: only
    a plan that can read the routing index in order avoids them."""
    def declared_type(value) -> str:
        for kind, name in ((bool, "boolean"), (int, "bigint"), (str, "text")):
            if isinstance(value, kind):
                return name
        return "timestamptz"

    pieces = sql.split("%s")
    numbered = "".join(piece + (f"${index + 1}" if index < len(params) else "")
                       for index, piece in enumerate(pieces))
    declared = ", ".join(declared_type(value) for value in params)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"PREPARE generic_pick ({declared}) AS {numbered}")
        try:
            cursor.execute("EXPLAIN EXECUTE generic_pick(" + ", ".join(
                ["%s"] * len(params)) + ")", params)
            return "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("DEALLOCATE generic_pick")


@pytest.mark.parametrize("order, index", [("default", "task_routing_free_idx"),
                                          ("active", "task_active_routing_idx")])
def test_the_prepared_claims_generic_plan_reads_the_routing_index_in_order(
        gold_project, order, index):
    from django.utils import timezone

    from marketplace.services.claim_sql import _pick_sql
    from workers.models import WorkerProfile
    user, _ = ready_client()
    worker = WorkerProfile.objects.get(user=user)

    sql, params = _pick_sql(worker=worker, project_ids=[gold_project.pk], order=order,
                            now=timezone.now())
    plan = _generic_plan(sql, params)

    # With the task's status as a parameter the partial index (WHERE status = 'open')
    # could not serve a generic plan: it sorted every free task of the project.
    assert index in plan, plan
    assert "Sort" not in plan, plan


def _task_rows_read(sql: str, params: tuple) -> int:
    """Rows the statement's plan actually read from the task table (EXPLAIN ANALYZE)."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]

    def read(node) -> int:
        own = (node["Actual Rows"] * node["Actual Loops"]
               if node.get("Relation Name") == "marketplace_task" else 0)
        return own + sum(read(child) for child in node.get("Plans", ()))

    return read(plan[0]["Plan"])


@pytest.mark.parametrize("order", ["default", "active"])
def test_a_claim_over_several_projects_reads_one_task_of_each_not_all_of_them(
        requester, order):
    from django.utils import timezone

    from marketplace.services.claim_sql import _pick_sql
    from workers.models import WorkerProfile

    projects = [launched(requester, tasks=40, gold=0, name=f"Batch {n}") for n in range(3)]
    user, _ = ready_client()
    worker = WorkerProfile.objects.get(user=user)

    sql, params = _pick_sql(worker=worker, project_ids=[p.pk for p in projects],
                            order=order, now=timezone.now())

    # One pick over all three (project_id = ANY) sorted the 120 free tasks.
    assert _task_rows_read(sql, params) <= 3 * 2


def test_a_claim_over_several_projects_takes_the_best_task_of_all_of_them(requester):
    from marketplace.models import Task

    older, newer = (launched(requester, tasks=5, gold=0, name=name, overlap=3)
                    for name in ("Older", "Newer"))
    started = Task.objects.filter(project=newer).order_by("-pk").first()
    Task.objects.filter(pk=started.pk).update(filled=1)  # someone else holds a slot
    _, client = ready_client()

    # Started tasks first (whatever their project), then the oldest.
    first = next_task(client).json()
    assert Assignment.objects.get(pk=first["assignment_id"]).task_id == started.pk
    client.post(f"/api/v1/worker/assignments/{first['assignment_id']}/submit", {
        "answers": [{"item_id": item["id"], "value": "positive"}
                    for item in first["items"]]}, format="json")
    second = next_task(client).json()
    assert Assignment.objects.get(pk=second["assignment_id"]).task_id == \
        Task.objects.filter(project=older).order_by("pk").first().pk


def _ran_ahead(requester, *, tasks: int, held: int, started: int):
    """A project whose first ``started`` tasks (in routing order: ``routing_score`` is
    the task's rank too) hold one worker of three, this worker on the first ``held`` of
    them: a fast worker in a small crowd, the others not caught up yet."""
    from datetime import timedelta

    from django.utils import timezone

    from marketplace.enums import AssignmentStatus
    from marketplace.models import Task
    from workers.models import WorkerProfile

    project = launched(requester, tasks=tasks, gold=0, overlap=3)
    ordered = list(Task.objects.filter(project=project).order_by("pk"))
    for rank, task in enumerate(ordered):
        task.routing_score = rank
        task.filled = 1 if rank < started else 0
    Task.objects.bulk_update(ordered, ["routing_score", "filled"])
    user, client = ready_client()
    worker = WorkerProfile.objects.get(user=user)
    now = timezone.now()
    Assignment.objects.bulk_create(Assignment(
        task=task, project=project, worker=worker, status=AssignmentStatus.SUBMITTED,
        expires_at=now, last_heartbeat_at=now - timedelta(minutes=1), submitted_at=now)
        for task in ordered[:held])
    return project, ordered, worker


def _picked(sql: str, params: tuple) -> int:
    """The task the pick takes (locked until the test's transaction ends)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


@pytest.mark.parametrize("order", ["default", "active"])
def test_a_worker_far_ahead_of_the_crowd_is_not_walked_past_every_task_it_did(
        requester, order):
    from django.utils import timezone

    from marketplace.services.claim_sql import _pick_sql
    project, ordered, worker = _ran_ahead(requester, tasks=260, held=200, started=200)

    sql, params = _pick_sql(worker=worker, project_ids=[project.pk], order=order,
                            now=timezone.now())

    # The pick walked the routing index past the 200 tasks this worker did, each probed
    # for its assignment: a claim's cost grew with the worker's lead.
    assert _task_rows_read(sql, params) <= 100
    assert _picked(sql, params) == ordered[200].pk  # the first task it never did


@pytest.mark.parametrize("order", ["default", "active"])
def test_a_worker_ahead_still_gets_a_started_task_when_no_fresh_one_is_left(
        requester, order):
    from django.utils import timezone

    from marketplace.services.claim_sql import _pick_sql
    project, ordered, worker = _ran_ahead(requester, tasks=220, held=200, started=220)

    sql, params = _pick_sql(worker=worker, project_ids=[project.pk], order=order,
                            now=timezone.now())

    assert _picked(sql, params) == ordered[200].pk


def test_a_worker_a_little_ahead_still_finishes_started_tasks_first(requester):
    from django.utils import timezone

    from marketplace.services.claim_sql import _pick_sql
    project, ordered, worker = _ran_ahead(requester, tasks=60, held=10, started=20)

    sql, params = _pick_sql(worker=worker, project_ids=[project.pk], order="default",
                            now=timezone.now())

    assert _picked(sql, params) == ordered[10].pk  # started, not a fresh one


def test_the_claim_statement_is_converted_once_not_on_every_claim(requester, monkeypatch):
    from psycopg import _queries
    launched(requester, gold=0)
    _, client = ready_client()
    submit(client, next_task(client).json())
    converted_again = []
    uncached = _queries._query2pg_nocache

    def spy(query, encoding):
        converted_again.append(query)
        return uncached(query, encoding)

    monkeypatch.setattr(_queries, "_query2pg_nocache", spy)

    assert next_task(client).status_code == 200

    # Past 4,096 characters psycopg found the placeholders again on every claim
    # (config/compiled_query.py raises its limits).
    assert not [query for query in converted_again if b"WITH pick AS" in query]


def test_the_submits_one_read_gives_what_the_lock_and_the_answers_query_give(gold_project):
    from django.db import transaction

    from marketplace.locks import (_SERVED_ANSWERS, assignment_and_served_for_update,
                                   assignment_for_update)

    _, client = ready_client()
    assignment_id = next_task(client).json()["assignment_id"]

    with transaction.atomic():
        assignment, served = assignment_and_served_for_update(assignment_id=assignment_id)
        expected = assignment_for_update(assignment_id=assignment_id)
        expected_served = _SERVED_ANSWERS.fetch(assignment_id=assignment_id)

    def fields(instance):
        return {field.attname: getattr(instance, field.attname)
                for field in type(instance)._meta.concrete_fields}

    assert fields(assignment) == fields(expected)
    assert fields(assignment.project) == fields(expected.project)
    assert len(served) == len(expected_served) >= 2  # an item and a gold item
    assert [fields(answer) for answer in served] == [fields(a) for a in expected_served]
    assert [fields(answer.item) for answer in served] == [
        fields(a.item) for a in expected_served]
    with pytest.raises(Assignment.DoesNotExist), transaction.atomic():
        assignment_and_served_for_update(assignment_id=assignment_id + 10_000)
