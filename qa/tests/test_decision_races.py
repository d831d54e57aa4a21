"""Decisions on one assignment racing each other, on PostgreSQL with real threads.

Each thread pauses right after its first row lock, which widens the window in which the
other one runs: with two lock orders (a verdict locking Review then Task, an approval
locking Task then Assignment then Review) PostgreSQL detected a deadlock and the reviewer
got a 500. With one order the second decision waits, then finds the work decided: 409.
"""
import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from conftest import client_for, make_requester, requires_postgresql
from config.lock_order import _lock_of
from marketplace.enums import AssignmentStatus
from flows import results
from marketplace.models import Assignment, Item, WorkerPseudonym
from payments.models import Bonus, Earning
from qa.models import Review, ReviewerGrant
from qa.tests.conftest import claim, eligible_worker, label, launched_project
from workers.models import Skill

pytestmark = [
    requires_postgresql,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PAUSE_SECONDS = 0.5


def pause_after_first_lock(execute, sql, params, many, context):
    result = execute(sql, params, many, context)
    if _lock_of(sql) is not None and not getattr(_state, "paused", False):
        _state.paused = True
        time.sleep(PAUSE_SECONDS)
    return result


_state = threading.local()


def race(*calls):
    """Run each call in its own thread and connection, started together; return the
    HTTP status codes in the order of ``calls`` (an exception becomes its repr)."""
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def body(index, call):
        try:
            connection.ensure_connection()
            barrier.wait()
            with connection.execute_wrapper(pause_after_first_lock):
                outcomes[index] = call().status_code
        except BaseException as exc:  # reported by the assertions, not lost
            outcomes[index] = repr(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=body, args=(index, call))
               for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a decision hung"
    return outcomes


def test_review_verdict_and_requester_approval_of_one_assignment_never_deadlock():
    requester = make_requester("alice@acme.example", "Acme AI")
    project = launched_project(requester, tasks=2, items_per_task=2, overlap=1,
                               quality={"spot_check_rate": 1.0})
    assignment = label(eligible_worker("dana@workers.example"), project, "positive")
    rita = eligible_worker("rita@workers.example")
    ReviewerGrant.objects.create(worker=rita, skill=Skill.objects.get(slug="sentiment-en"),
                                 granted_by=rita.user)
    reviewer_client, requester_client = client_for(rita.user), client_for(requester)
    review_id = reviewer_client.post("/api/v1/worker/reviews/next").json()["review_id"]

    outcomes = race(
        lambda: reviewer_client.post(f"/api/v1/worker/reviews/{review_id}/verdict",
                                     {"verdict": "reject", "reason": "Off-topic labels."},
                                     format="json"),
        lambda: requester_client.post(f"/api/v1/assignments/{assignment.pk}/approve"),
    )

    assert sorted(map(str, outcomes)) == ["200", "409"], outcomes
    assignment.refresh_from_db()
    if outcomes[0] == 200:  # the reviewer won: rejected, nothing paid, review done
        assert assignment.status == AssignmentStatus.REJECTED
        assert Earning.objects.filter(assignment=assignment).count() == 0
        assert Review.objects.get(pk=review_id).status == "done"
    else:  # the requester won: approved and paid once, the review is moot
        assert assignment.status == AssignmentStatus.APPROVED
        assert Earning.objects.filter(assignment=assignment).count() == 1
        assert Review.objects.get(pk=review_id).status == "moot"


class Done:
    status_code = 200


def test_a_bonus_and_the_projects_completion_never_deadlock():
    """A bonus locks ledger accounts and, at commit, checks its foreign key to the
    project (FOR KEY SHARE); completion locks the project, then the same accounts. With
    FOR UPDATE on the project they waited on each other; FOR NO KEY UPDATE does not
    block the key check."""
    requester = make_requester("alice@acme.example", "Acme AI")
    project = launched_project(requester, tasks=2, items_per_task=1, overlap=1)
    worker = eligible_worker("dana@workers.example")
    label(worker, project, "positive")
    # Every other item final too: the next completion check completes the project.
    Item.objects.filter(project=project, is_gold=False).update(finalized_at=timezone.now())
    pseudonym = WorkerPseudonym.objects.get(project=project, worker=worker).pseudonym
    requester_client = client_for(requester)

    def complete():
        results.complete_project_if_done(project_id=project.pk)
        return Done

    outcomes = race(
        lambda: requester_client.post(f"/api/v1/projects/{project.pk}/bonuses",
                                      {"worker_id": pseudonym, "amount_cents": 100,
                                       "reason": "Careful work."}, format="json"),
        complete,
    )

    assert outcomes == [201, 200], outcomes
    project.refresh_from_db()
    assert project.status == "completed"
    assert Bonus.objects.filter(project=project).count() == 1


def test_a_rejection_reopening_a_slot_and_concurrent_claims_fill_it_once():
    """A rejection after finalisation reopens the task (filled - 1, status open) while
    other workers ask for work: exactly one of them gets the reopened slot, the task
    never holds more than its overlap, and the rejected worker never gets it back."""
    requester = make_requester("alice@acme.example", "Acme AI")
    # Two tasks, so finishing one leaves the project active; eve holds the other's slot.
    project = launched_project(requester, tasks=2, items_per_task=1, overlap=1)
    dana = eligible_worker("dana@workers.example")
    rejected = label(dana, project, "positive")
    claim(eligible_worker("eve@workers.example"), project)
    task = rejected.task
    task.refresh_from_db()
    assert (task.status, task.filled) == ("complete", 1)
    claimants = [client_for(eligible_worker(f"w{n}@workers.example").user) for n in range(4)]
    requester_client = client_for(requester)

    outcomes = race(
        lambda: requester_client.post(f"/api/v1/assignments/{rejected.pk}/reject",
                                      {"reason_code": "other", "reason": "Wrong sense."},
                                      format="json"),
        *[lambda client=client: client.post("/api/v1/worker/tasks/next",
                                            {"project_id": project.pk}, format="json")
          for client in claimants],
    )

    assert outcomes[0] == 200, outcomes
    assert all(code in (200, 204) for code in outcomes[1:]), outcomes
    task.refresh_from_db()
    live = Assignment.objects.filter(task=task, status=AssignmentStatus.ASSIGNED)
    assert task.filled <= task.overlap
    assert live.count() == outcomes[1:].count(200) <= 1
    assert not live.filter(worker=dana).exists()
    # Whoever lost the race can still get the slot once it is open.
    if live.count() == 0:
        takers = [client.post("/api/v1/worker/tasks/next", {"project_id": project.pk},
                              format="json").status_code for client in claimants]
        assert takers.count(200) == 1, takers
    # The rejected label keeps its slot (an overturn may restore it): one slot was added.
    task.refresh_from_db()
    assert (task.overlap, task.filled) == (2, 2)
    assert Assignment.objects.filter(task=task, status=AssignmentStatus.ASSIGNED).count() == 1


def test_two_submits_of_one_assignment_store_the_first_and_refuse_the_second():
    """A double click: both submits read the assignment and its served answers in one
    statement that waits on the other's lock. The one that waited reads the answers from
    before the first committed, but the assignment as it is now (submitted): 409, and
    the first submit's answers stand, recorded and counted once."""
    from marketplace import events
    from marketplace.models import Answer, AssignmentEvent
    from qa.models import WorkerProjectStats

    requester = make_requester("alice@acme.example", "Acme AI")
    project = launched_project(requester, tasks=2, items_per_task=2, overlap=1)
    worker = eligible_worker("dana@workers.example")
    worker_client = client_for(worker.user)
    served = worker_client.post("/api/v1/worker/tasks/next", {}, format="json").json()

    def submit(value):
        return lambda: worker_client.post(
            f"/api/v1/worker/assignments/{served['assignment_id']}/submit",
            {"answers": [{"item_id": item["id"], "value": value}
                         for item in served["items"]]}, format="json")

    outcomes = race(submit("positive"), submit("negative"))

    assert sorted(map(str, outcomes)) == ["200", "409"], outcomes
    stored = set(Answer.objects.filter(assignment_id=served["assignment_id"])
                 .values_list("value", flat=True))
    assert stored == {"positive" if outcomes[0] == 200 else "negative"}
    assert AssignmentEvent.objects.filter(assignment_id=served["assignment_id"],
                                          kind=events.SUBMITTED).count() == 1
    assert WorkerProjectStats.objects.get(worker=worker, project=project).submitted == 1
