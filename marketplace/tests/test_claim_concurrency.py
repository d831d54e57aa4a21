"""The claim under real concurrency, on PostgreSQL: real threads, one connection each.

Invariants (DESIGN.md): no task ever has more slot-holding assignments than its overlap,
no worker holds the same task twice, and a worker asking from several places at once
still holds one live lease.
"""
import threading
import time

import pytest
from django.db import OperationalError, connection
from django.db.models import Count, F

from accounts.enums import Role
from accounts.models import User
from config.errors import Conflict
from conftest import fund_organization, make_requester, requires_postgresql
from marketplace.enums import SLOT_HOLDING_STATUSES, AssignmentStatus, TaskStatus
from marketplace.models import Answer, Assignment, Task
from marketplace.services import (
    assignment_claim,
    items_import,
    project_create,
)
from marketplace.uploads import UploadRow
from workers.services import worker_profile_create
from workers.tests.factories import make_ready_worker, project_fields
from flows import projects as projects_flow
from flows import work as work_flow

pytestmark = [
    requires_postgresql,
    pytest.mark.slow,
    # serialized_rollback: the skill taxonomy comes from a data migration, and the flush
    # after an earlier transactional test would have wiped it.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

THREADS = 50
TASKS = 100
OVERLAP = 3
DEADLINE_SECONDS = 120


def eligible_worker(email: str):
    # No password: hashing fifty of them would dominate the test's run time.
    user = User.objects.create_user(email=email, password=None, role=Role.WORKER)
    worker_profile_create(user=user)
    return make_ready_worker(user, skills={"sentiment-en": 90})


def launched_project(requester, *, tasks: int, overlap: int):
    project = project_create(organization=requester.membership.organization, actor=requester,
                             fields=project_fields(overlap=overlap, items_per_task=1))
    items_import(project=project, actor=requester, is_gold=False, rows=[
        UploadRow(row=i + 1, external_id=None, data={"text": f"review {i}"}, answer=None,
                  has_answer=False) for i in range(tasks)])
    fund_organization(requester)
    return projects_flow.launch(project=project, actor=requester)


def connect(timeout: float = 60) -> None:
    """Open this thread's connection before the race starts. The PostgreSQL server is
    shared with other test runs: when it is out of connection slots, wait for one rather
    than fail the thread."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            connection.ensure_connection()
            return
        except OperationalError as exc:
            if "too many clients" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def use_generic_plans() -> None:
    """This thread's statements prepared from their first run and planned generically, as
    a long-lived connection runs the claim once it has prepared it (a handful of claims
    per thread here would otherwise stay on custom plans)."""
    connection.connection.prepare_threshold = 0
    with connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_generic_plan")


def run_threads(target, count: int, *, generic_plans: bool = False) -> list[BaseException]:
    """Start ``count`` threads on ``target(index, barrier)``; return what they raised."""
    barrier = threading.Barrier(count)
    failures: list[BaseException] = []

    def body(index):
        try:
            connect()
            if generic_plans:
                use_generic_plans()
            target(index, barrier)
        except BaseException as exc:  # surfaced by the caller's assertion, not lost
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=body, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=DEADLINE_SECONDS + 30)
    assert not any(thread.is_alive() for thread in threads), "a claiming thread hung"
    return failures


def open_slot_for(worker, projects) -> bool:
    """Is there a slot this worker could still take? (SKIP LOCKED may hide a task that
    another transaction holds for an instant, so "nothing now" is not "nothing left".)"""
    return (Task.objects.filter(project__in=projects, status=TaskStatus.OPEN,
                                filled__lt=F("overlap"))
            .exclude(assignments__worker=worker).exists())


@pytest.mark.parametrize("generic_plans, project_count", [
    (False, 1), (True, 1),
    # One priority, several projects: the claim picks each project's best free task and
    # takes the best of them (marketplace/services/claim_sql.py), locking one per project.
    (False, 3), (True, 3),
], ids=["as_planned", "generic_plans", "three_projects", "three_projects_generic_plans"])
def test_fifty_workers_fill_every_slot_and_never_exceed_overlap(generic_plans, project_count):
    requester = make_requester("alice@acme.example", "Acme AI")
    sizes = [TASKS // project_count + (index < TASKS % project_count)
             for index in range(project_count)]
    projects = [launched_project(requester, tasks=size, overlap=OVERLAP) for size in sizes]
    workers = [eligible_worker(f"worker{index}@workers.example") for index in range(THREADS)]
    claims_per_thread = [0] * THREADS

    def work(index, barrier):
        worker = workers[index]
        barrier.wait(timeout=90)
        deadline = time.monotonic() + DEADLINE_SECONDS
        while time.monotonic() < deadline:
            assignment = assignment_claim(worker=worker)
            if assignment is None:
                if not open_slot_for(worker, projects):
                    return
                time.sleep(0.005)
                continue
            claims_per_thread[index] += 1
            answers = [{"item_id": answer_id, "value": "positive"} for answer_id in
                       Answer.objects.filter(assignment=assignment).values_list("pk", flat=True)]
            work_flow.submit(assignment_id=assignment.pk, worker=worker, answers=answers)
        raise AssertionError(f"worker {index} still claiming after {DEADLINE_SECONDS}s")

    failures = run_threads(work, THREADS, generic_plans=generic_plans)

    assert failures == []
    # Every slot filled, none beyond overlap, the counter agrees with the rows.
    per_task = dict(Assignment.objects.filter(project__in=projects,
                                              status__in=SLOT_HOLDING_STATUSES)
                    .values_list("task_id").annotate(n=Count("id")))
    tasks = list(Task.objects.filter(project__in=projects)
                 .values_list("pk", "filled", "overlap"))
    assert len(tasks) == TASKS
    assert all(overlap == OVERLAP for _, _, overlap in tasks)
    assert {task_id: filled for task_id, filled, _ in tasks} == {
        task_id: OVERLAP for task_id, _, _ in tasks}
    assert per_task == {task_id: OVERLAP for task_id, _, _ in tasks}
    # No worker twice on a task (the unique constraint says so; the rows confirm it).
    pairs = list(Assignment.objects.filter(project__in=projects)
                 .values_list("task_id", "worker_id"))
    assert len(pairs) == len(set(pairs)) == TASKS * OVERLAP
    # Every claim was submitted: nothing expired, returned or left hanging.
    assert set(Assignment.objects.filter(project__in=projects)
               .values_list("status", flat=True)) == {AssignmentStatus.SUBMITTED}
    assert sum(claims_per_thread) == TASKS * OVERLAP
    # Every assignment was served exactly its task's one item.
    assert Answer.objects.filter(assignment__project__in=projects).count() == TASKS * OVERLAP
    assert Answer.objects.filter(assignment__project__in=projects,
                                 item__task_id=F("assignment__task_id")).count() == \
        TASKS * OVERLAP


def test_one_worker_claiming_from_ten_threads_holds_one_live_lease():
    requester = make_requester("alice@acme.example", "Acme AI")
    project = launched_project(requester, tasks=20, overlap=3)
    worker = eligible_worker("dana@workers.example")
    served: list[int | None] = [None] * 10

    def claim(index, barrier):
        barrier.wait(timeout=90)
        assignment = assignment_claim(worker=worker)
        served[index] = assignment.pk if assignment else None

    failures = run_threads(claim, 10)

    assert failures == []
    live = list(Assignment.objects.filter(worker=worker).values_list("pk", "status", "task_id"))
    assert len(live) == 1, live
    assignment_id, status, task_id = live[0]
    assert status == AssignmentStatus.ASSIGNED
    # Every request got that same lease back; nothing else was taken.
    assert served == [assignment_id] * 10
    assert dict(Task.objects.filter(project=project).exclude(filled=0)
                .values_list("pk", "filled")) == {task_id: 1}


def test_one_worker_asking_for_two_projects_from_ten_threads_holds_one_live_lease():
    requester = make_requester("alice@acme.example", "Acme AI")
    projects = [launched_project(requester, tasks=5, overlap=3) for _ in range(2)]
    worker = eligible_worker("dana@workers.example")
    outcomes: list = [None] * 10

    def claim(index, barrier):
        barrier.wait(timeout=90)
        try:
            assignment = assignment_claim(worker=worker,
                                          project_id=projects[index % 2].pk)
            outcomes[index] = ("lease", assignment.pk, assignment.project_id)
        except Conflict as refused:
            outcomes[index] = ("refused", refused.error_code)

    failures = run_threads(claim, 10)

    assert failures == []
    live = list(Assignment.objects.filter(worker=worker).values_list("pk", "project_id"))
    assert len(live) == 1, live
    assignment_id, project_id = live[0]
    # Asking for the lease's project returned it; asking for the other one was refused.
    assert sorted(outcomes, key=str) == sorted(
        [("lease", assignment_id, project_id)] * 5 + [("refused", "live_lease")] * 5, key=str)
    assert Task.objects.filter(filled__gt=0).count() == 1


def test_twelve_workers_racing_for_one_task_with_overlap_two_take_exactly_two_slots():
    requester = make_requester("alice@acme.example", "Acme AI")
    project = launched_project(requester, tasks=1, overlap=2)
    workers = [eligible_worker(f"worker{index}@workers.example") for index in range(12)]
    served: list[int | None] = [None] * len(workers)

    def claim(index, barrier):
        worker = workers[index]
        barrier.wait(timeout=90)
        while True:
            assignment = assignment_claim(worker=worker)
            if assignment is not None:
                served[index] = assignment.task_id
                return
            if not open_slot_for(worker, [project]):
                return
            time.sleep(0.002)

    failures = run_threads(claim, len(workers))

    assert failures == []
    task = Task.objects.get(project=project)
    assert sorted(served, key=lambda task_id: task_id is None) == [task.pk] * 2 + [None] * 10
    assert task.filled == 2
    assert Assignment.objects.filter(task=task).count() == 2
