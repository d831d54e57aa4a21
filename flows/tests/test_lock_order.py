"""Every flow locks rows in the one system order (config/lock_order.py), and only as
FOR NO KEY UPDATE (a key-strength lock waits on foreign-key checks at commit).

Each test records the statements that lock or change rows while one flow runs and
asserts their tables never go backwards in LOCK_ORDER.
"""
import pytest
from django.test import TestCase
from django.utils import timezone

from config.lock_order import (
    RowLock,
    assert_lock_order,
    lock_order_problems,
    recorded_row_locks,
)
from flows import decisions, projects, results, work
from marketplace.models import Assignment
from payments.models import Earning, Payout
from payments.services import payout_account_setup, payout_run_start, payouts_run
from marketplace.services import assignment_claim, assignment_heartbeat, project_pause
from payments.services import bonus_grant
from qa.models import Dispute, Review, ReviewerGrant
from qa.services import review_claim
from qa.tests.conftest import (
    answers_for,
    claim,
    committed,
    eligible_worker,
    label,
    launched_project,
    pseudonym_of,
    run_commit_hooks,
)
from workers.models import Skill
from conftest import requires_postgresql

pytestmark = [pytest.mark.django_db, requires_postgresql]


def locks_of(action, *args, **kwargs) -> list[RowLock]:
    """The row locks of one flow's own transaction (what it enqueues runs afterwards,
    unrecorded: each job is a flow of its own, recorded by its own test)."""
    with TestCase.captureOnCommitCallbacks() as callbacks:
        with recorded_row_locks() as locks:
            action(*args, **kwargs)
    run_commit_hooks(callbacks)
    assert locks, "the flow locked nothing: the recorder saw no statement"
    return locks


# --- the recorder itself --------------------------------------------------------------------

def test_the_recorder_flags_a_lock_taken_against_the_order():
    # What review_decide used to do: Review, then Task.
    locks = [RowLock("qa_review", "NO KEY UPDATE"), RowLock("marketplace_task", "NO KEY UPDATE")]

    assert lock_order_problems(locks) == ["marketplace_task locked after qa_review"]


def test_the_recorder_flags_key_strength_locks_and_unknown_tables():
    locks = [RowLock("marketplace_project", "UPDATE"), RowLock("some_table", "update")]

    assert lock_order_problems(locks) == [
        "marketplace_project locked FOR UPDATE: use FOR NO KEY UPDATE",
        "some_table is not in config.lock_order.LOCK_ORDER"]


def test_the_recorder_sees_real_statements(requester):
    project = launched_project(requester, tasks=1)
    worker = eligible_worker("dana@workers.example")

    with recorded_row_locks() as locks:
        assignment_claim(worker=worker, project_id=project.pk)

    assert [(lock.table, lock.how) for lock in locks[:2]] == [
        ("workers_workerprofile", "NO KEY UPDATE"), ("marketplace_task", "NO KEY UPDATE")]
    assert locks[1].skip_locked


# --- the flows ------------------------------------------------------------------------------

def test_claim_heartbeat_submit_grade_aggregate_and_complete(requester):
    project = launched_project(requester, tasks=1, items_per_task=2, overlap=1,
                               gold_per_task=1, gold=[({"text": "gold"}, "positive")])
    worker = eligible_worker("dana@workers.example")

    with recorded_row_locks() as claim_locks:
        assignment = assignment_claim(worker=worker, project_id=project.pk)
    assert_lock_order(claim_locks)
    with recorded_row_locks() as heartbeat_locks:
        assignment_heartbeat(assignment_id=assignment.pk, worker=worker)
    assert_lock_order(heartbeat_locks)
    assert_lock_order(locks_of(work.submit, assignment_id=assignment.pk, worker=worker,
                               answers=answers_for(assignment, "positive")))
    # The commit ran grading, aggregation and completion; each again, recorded alone.
    project.refresh_from_db()
    assert project.status == "completed"
    assert_lock_order(locks_of(results.refine_project, project_id=project.pk))


def test_each_step_after_submit_in_its_own_order(requester):
    project = launched_project(requester, tasks=2, items_per_task=1, overlap=1)
    worker = eligible_worker("dana@workers.example")
    assignment = claim(worker, project)
    committed(work.submit, assignment_id=assignment.pk, worker=worker,
              answers=answers_for(assignment, "positive"))
    # grading and aggregation ran on commit; run them again, recorded, from scratch
    assert_lock_order(locks_of(results.grade_submission, assignment_id=assignment.pk))
    assert_lock_order(locks_of(results.aggregate_task, task_id=assignment.task_id))


@pytest.mark.parametrize("decide", ["approve", "reject"])
def test_approve_and_reject(requester, decide):
    project = launched_project(requester, tasks=2, items_per_task=1, overlap=1)
    assignment = label(eligible_worker("dana@workers.example"), project, "positive")

    if decide == "approve":
        locks = locks_of(decisions.approve, assignment_id=assignment.pk, actor=requester)
    else:
        locks = locks_of(decisions.reject, assignment_id=assignment.pk, actor=requester,
                         reason="Careless.")

    assert_lock_order(locks)
    assert locks[0].table == "marketplace_task"


def test_review_verdict_locks_task_assignment_then_review(requester):
    project = launched_project(requester, tasks=2, items_per_task=1, overlap=1,
                               quality={"spot_check_rate": 1.0})
    label(eligible_worker("dana@workers.example"), project, "positive")
    rita = eligible_worker("rita@workers.example")
    ReviewerGrant.objects.create(worker=rita, skill=Skill.objects.get(slug="sentiment-en"),
                                 granted_by=rita.user)
    review = review_claim(reviewer=rita)

    locks = locks_of(decisions.review_verdict, review_id=review.pk, reviewer=rita,
                     verdict="reject", reason="Off-topic.")

    assert_lock_order(locks)
    tables = [lock.table for lock in locks]
    assert tables.index("marketplace_task") < tables.index("marketplace_assignment") \
        < tables.index("qa_review")
    assert Review.objects.get(pk=review.pk).status == "done"


def test_dispute_overturn_and_return(requester, staff):
    project = launched_project(requester, tasks=2, items_per_task=1, overlap=1)
    worker = eligible_worker("dana@workers.example")
    assignment = label(worker, project, "positive")
    committed(decisions.reject, assignment_id=assignment.pk, actor=requester, reason="No.")
    dispute = Dispute.objects.create(assignment=assignment, worker=worker, message="Yes.")

    locks = locks_of(decisions.dispute_resolve, dispute_id=dispute.pk, actor=staff,
                     outcome="overturn", note="Right.")

    assert_lock_order(locks)
    live = claim(worker, project)
    assert_lock_order(locks_of(work.return_task, assignment_id=live.pk, worker=worker))


def test_auto_approval_sweep(requester):
    project = launched_project(requester, tasks=2, items_per_task=1, overlap=1)
    label(eligible_worker("dana@workers.example"), project, "positive")

    locks = locks_of(decisions.auto_approve_due,
                     now=timezone.now() + timezone.timedelta(days=30))

    assert_lock_order(locks)


def test_project_launch_resume_cancel_and_a_bonus(requester):
    project = launched_project(requester, tasks=2, items_per_task=1, overlap=1)
    worker = eligible_worker("dana@workers.example")
    label(worker, project, "positive")

    assert_lock_order(locks_of(bonus_grant, project=project, actor=requester,
                               pseudonym=pseudonym_of(worker, project), amount_cents=50,
                               reason="Thanks."))
    committed(project_pause, project=project, actor=requester)
    assert_lock_order(locks_of(projects.resume, project=project, actor=requester))
    assert_lock_order(locks_of(projects.cancel, project=project, actor=requester))


# --- fair work (issue 13) -----------------------------------------------------------------

def test_an_approval_with_a_fair_pay_adjustment(requester, settings):
    settings.MIN_EFFECTIVE_HOURLY_CENTS = 1_000_000  # every approval is topped up
    project = launched_project(requester, tasks=2, items_per_task=1, overlap=1)
    assignment = label(eligible_worker("dana@workers.example"), project, "positive")
    Assignment.objects.filter(pk=assignment.pk).update(active_seconds=60)

    locks = locks_of(decisions.approve, assignment_id=assignment.pk, actor=requester)

    assert_lock_order(locks)
    assert Earning.objects.filter(adjusted_assignment=assignment).count() == 1


def test_a_rejection_past_the_ceiling_requests_a_review(requester):
    project = launched_project(requester, tasks=2, items_per_task=1, overlap=1,
                               rejection_ceiling_percent=0)
    assignment = label(eligible_worker("dana@workers.example"), project, "positive")

    locks = locks_of(decisions.reject, assignment_id=assignment.pk, actor=requester,
                     reason="Careless.", reason_code="incomplete")

    assert_lock_order(locks)
    assert Review.objects.get(assignment=assignment).requested_by_id == requester.pk


def test_a_payout_run_releasing_holds_then_paying(requester, staff, settings):
    settings.EARNINGS_HOLD_SECONDS = 0
    settings.MIN_PAYOUT_CENTS = 1
    settings.PAYOUT_PROVIDER = "manual"
    project = launched_project(requester, tasks=2, items_per_task=1, overlap=1)
    worker = eligible_worker("dana@workers.example")
    assignment = label(worker, project, "positive")
    committed(decisions.approve, assignment_id=assignment.pk, actor=requester)
    payout_account_setup(worker=worker)
    run = payout_run_start(actor=staff)  # queued; its job is what we record

    locks = locks_of(payouts_run, run_id=run.pk)

    assert_lock_order(locks)
    run.refresh_from_db()
    assert (run.earnings_released, run.payouts_created) == (1, 1)
    assert Payout.objects.get(run=run).worker_id == worker.pk


# --- automation (flows/automation.py) --------------------------------------------------------

def test_auto_accept_and_its_pause(requester):
    from automation.enums import PredictionState
    from automation.models import Prediction
    from flows import automation

    # One item without a prediction keeps the project open: completion is a transaction
    # of its own, recorded by the completion test above.
    project = launched_project(requester, tasks=7, items_per_task=1,
                               external_ids=[f"e{i}" for i in range(7)])
    committed(automation.update_settings, project=project, fields={
        "mode": "auto_accept", "auto_accept_threshold": 0.5, "spot_check_rate": 0.0,
        "min_spot_checks": 1})  # the version's first prediction goes to the crowd
    automation.store_predictions(project=project, predictions=[
        {"external_id": f"e{i}", "value": "negative", "score": 0.9, "model_version": "m"}
        for i in range(6)])

    assert_lock_order(locks_of(automation.auto_accept, project_id=project.pk))
    assert Prediction.objects.filter(state=PredictionState.AUTO_ACCEPTED).count() == 5
    assert_lock_order(locks_of(automation.pause_auto_accept, project_id=project.pk,
                               model_version="m", reason="test", accuracy=0.0,
                               lower_bound=0.0))
    assert Prediction.objects.filter(state=PredictionState.RETURNED).count() == 5


def test_an_import_with_predictions_into_a_launched_project(requester):
    from automation.models import Prediction
    from flows import imports
    from marketplace.uploads import UploadRow

    # Launched: the new tasks reserve escrow (ledger accounts) after the predictions.
    project = launched_project(requester, tasks=1, items_per_task=1)
    rows = [UploadRow(row=n, external_id=f"p{n}", data={"text": f"t{n}"}, answer=None,
                      has_answer=False, prediction={"value": "positive", "score": 0.5,
                                                    "model_version": "m"})
            for n in range(1, 4)]

    assert_lock_order(locks_of(imports.import_items, project=project, actor=requester,
                               rows=rows, is_gold=False))
    assert Prediction.objects.filter(project=project).count() == 3


def test_storing_predictions_then_rescoring_their_tasks(requester):
    from automation.models import Prediction
    from flows import automation

    project = launched_project(requester, tasks=3, items_per_task=1,
                               external_ids=[f"e{i}" for i in range(3)])

    locks = locks_of(automation.store_predictions, project=project, predictions=[
        {"external_id": f"e{i}", "value": "negative", "score": 0.2 * (i + 1),
         "model_version": "m"} for i in range(3)])

    # The predictions are inserts (the recorder sees no row lock in them); what it sees is
    # the rescoring's one update of the tasks, run in a transaction of its own after the
    # predictions committed (Task comes before Prediction in the lock order).
    assert_lock_order(locks)
    assert [(lock.table, lock.how) for lock in locks] == [("marketplace_task", "update")]
    assert Prediction.objects.filter(project=project).count() == 3
