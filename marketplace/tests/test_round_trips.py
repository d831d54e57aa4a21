"""Round trips to PostgreSQL on the worker's hot path, read from libpq's protocol trace.

The claim's worker lock and claim statements go in one pipeline (routing.py,
_claim_postgresql): one round trip outside a transaction, and a failure in it rolls the
whole implicit transaction back (the worker's lock included) before the claim is tried
again. The race of one worker's requests against this path is in
test_claim_concurrency.py. The submit keeps its four."""
import tempfile

import psycopg
import pytest
from django.db import connection, transaction

from conftest import make_requester, requires_postgresql
from marketplace.enums import AssignmentStatus
from marketplace.models import Assignment, Project, Task
from marketplace.services import assignment_claim, assignment_submit, routing
from marketplace.tests.test_claim_concurrency import eligible_worker, launched_project
from workers.models import WorkerProfile

pytestmark = [requires_postgresql]

# Takes a slot, then breaks CHECK (filled <= overlap): an IntegrityError after a write.
_FAILING_CLAIM = ("WITH slot AS (UPDATE marketplace_task SET filled = filled + 1 "
                  "WHERE id = %s RETURNING id) "
                  "UPDATE marketplace_task SET filled = overlap + 1 "
                  "WHERE id = (SELECT id FROM slot) RETURNING id")


@pytest.fixture
def first_claim_fails(monkeypatch):
    """Two free tasks; the first pipelined claim statement takes the first one's slot and
    then fails. Gives the project, the worker and the claims' project ids."""
    requester = make_requester("alice@acme.example", "Acme AI")
    project = launched_project(requester, tasks=2, overlap=1)
    worker = eligible_worker("dana@workers.example")
    first_task = Task.objects.filter(project=project).order_by("pk").first()
    calls = []
    real = routing.claim_statement

    def first_fails(**kwargs):
        calls.append(kwargs["project_ids"])
        return (_FAILING_CLAIM, (first_task.pk,)) if len(calls) == 1 else real(**kwargs)

    monkeypatch.setattr(routing, "claim_statement", first_fails)
    return project, worker, calls


def server_messages(action) -> list[str]:
    """The protocol messages the server sent back while ``action`` ran (libpq's trace)."""
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    with tempfile.TemporaryFile("w+") as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            action()
        finally:
            pgconn.untrace()
        trace.seek(0)
        return [line.split("\t")[2] for line in trace if line.split("\t")[0] == "B"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_claim_outside_a_transaction_is_one_round_trip():
    requester = make_requester("alice@acme.example", "Acme AI")
    launched_project(requester, tasks=3, overlap=1)
    worker = eligible_worker("dana@workers.example")
    assignment_claim(worker=worker)  # the routable projects cached, statements prepared
    Assignment.objects.update(status=AssignmentStatus.EXPIRED)

    messages = server_messages(lambda: assignment_claim(worker=worker))

    # One ReadyForQuery: the lock and the claim answered after a single Sync, with no
    # BEGIN or COMMIT of their own (four round trips in one transaction before).
    assert messages.count("ReadyForQuery") == 1, messages
    assert Assignment.objects.filter(status=AssignmentStatus.ASSIGNED).count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_failing_claim_rolls_back_with_its_lock_and_the_retry_claims(first_claim_fails):
    project, worker, calls = first_claim_fails

    assignment = assignment_claim(worker=worker)

    assert calls == [[project.pk]] * 2  # the first pipeline's claim failed...
    # ...the retry's claimed.
    assert assignment is not None and assignment.status == AssignmentStatus.ASSIGNED
    # The failed statement's slot was rolled back: only the real claim's slot is taken.
    assert sorted(Task.objects.filter(project=project).values_list("filled", flat=True)) \
        == [0, 1]
    # No transaction left open holding the worker's row.
    assert connection.connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        other.execute("SET lock_timeout = '1s'")
        other.execute("SELECT 1 FROM workers_workerprofile WHERE id = %s FOR UPDATE NOWAIT",
                      (worker.pk,))


@pytest.mark.django_db
def test_inside_a_callers_transaction_a_failing_claim_rolls_back_to_its_savepoint(
        first_claim_fails):
    project, worker, _ = first_claim_fails

    with transaction.atomic():
        assignment = assignment_claim(worker=worker)
        # The caller's transaction goes on: the failure ended at the claim's savepoint.
        assert Assignment.objects.filter(worker=worker).count() == 1

    assert assignment is not None
    assert sorted(Task.objects.filter(project=project).values_list("filled", flat=True)) \
        == [0, 1]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_live_lease_or_nothing_to_do_costs_one_round_trip_more_the_lookup():
    requester = make_requester("alice@acme.example", "Acme AI")
    launched_project(requester, tasks=1, overlap=1)
    worker = eligible_worker("dana@workers.example")
    lease = assignment_claim(worker=worker)

    again: list = []
    messages = server_messages(lambda: again.append(assignment_claim(worker=worker)))
    assert again[0].pk == lease.pk
    # The pipeline (lock, claim: refused), then the lease looked up; five before.
    assert messages.count("ReadyForQuery") == 2, messages

    Assignment.objects.update(status=AssignmentStatus.EXPIRED)  # a task it held: not again
    messages = server_messages(lambda: again.append(assignment_claim(worker=worker)))
    assert again[1] is None
    assert messages.count("ReadyForQuery") == 2, messages


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_one_pipeline_over_two_priority_levels_takes_one_task_of_the_first():
    requester = make_requester("alice@acme.example", "Acme AI")
    low, high = (launched_project(requester, tasks=3, overlap=1) for _ in range(2))
    Project.objects.filter(pk=high.pk).update(priority=5)
    worker = eligible_worker("dana@workers.example")

    lease = assignment_claim(worker=worker)

    # The low level's claim ran after the high level's took a task, in the same
    # transaction: it saw that lease and picked nothing.
    assert lease.project_id == high.pk
    assert list(Assignment.objects.values_list("pk", flat=True)) == [lease.pk]
    assert sum(Task.objects.filter(project=low).values_list("filled", flat=True)) == 0


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_submit_is_four_round_trips():
    requester = make_requester("alice@acme.example", "Acme AI")
    launched_project(requester, tasks=1, overlap=1)
    worker = WorkerProfile.objects.select_related("user").get(
        pk=eligible_worker("dana@workers.example").pk)  # as the request has it
    lease = assignment_claim(worker=worker)
    answers = [{"item_id": item["id"], "value": "positive"} for item in lease.served]

    def submit():
        with transaction.atomic():
            assignment_submit(assignment_id=lease.pk, worker=worker, answers=answers)

    messages = server_messages(submit)

    # BEGIN, the locked read of the assignment with its served answers, the one write,
    # COMMIT. (psycopg syncs after BEGIN even in pipeline mode, so the BEGIN cannot ride
    # with the read; the write needs the read's rows, and the flow's quality record needs
    # the write's before the COMMIT.)
    assert messages.count("ReadyForQuery") == 4, messages
    assert Assignment.objects.get().status == AssignmentStatus.SUBMITTED
