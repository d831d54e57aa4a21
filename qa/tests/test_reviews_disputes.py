"""Spot checks (qa/services/reviews.py) and disputes (qa/services/disputes.py).

Spot checks: QualitySettings.spot_check_rate samples submissions into a review queue;
workers holding a reviewer grant on one of the project's skills claim them
(POST /api/v1/worker/reviews/next) and approve or reject
(POST /api/v1/worker/reviews/{id}/verdict), which decides the assignment and counts in the
worker's record. Nobody reviews their own work.

Disputes: the worker who owns a rejected assignment disputes it once
(POST /api/v1/worker/disputes); staff uphold or overturn
(POST /api/v1/admin/disputes/{id}/resolve); overturn approves, and approval pays.
"""
import pytest
from django.utils import timezone

from conftest import client_for, make_worker
from marketplace import events
from marketplace.enums import AssignmentStatus
from marketplace.models import Answer, Assignment, AssignmentEvent, Task
from payments import ledger
from payments.models import Earning
from qa.enums import DisputeStatus, ReviewStatus
from qa.models import Dispute, QualityAction, Review, ReviewerGrant, WorkerProjectStats
from qa.tests.conftest import (
    committed,
    eligible_worker,
    label,
    launched_project,
    pseudonym_of,
    worker_and_client,
)
from workers.models import Skill, WorkerProfile
from workers.services import worker_block, worker_status_set
from flows import decisions

NEXT_REVIEW = "/api/v1/worker/reviews/next"
DISPUTES = "/api/v1/worker/disputes"
ADMIN_DISPUTES = "/api/v1/admin/disputes"


# --- helpers -----------------------------------------------------------------------------

def error(response, status_code: int, code: str) -> dict:
    assert response.status_code == status_code, response.content
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    return body["error"]


def verdict_url(review_id) -> str:
    return f"/api/v1/worker/reviews/{review_id}/verdict"


def resolve_url(dispute_id) -> str:
    return f"{ADMIN_DISPUTES}/{dispute_id}/resolve"


def spot_checked_project(requester, **overrides):
    return launched_project(requester, tasks=2, items_per_task=2, overlap=2,
                            quality={"spot_check_rate": 1.0}, **overrides)


def reviewer(email: str = "rita@workers.example", skill: str = "sentiment-en", **kwargs):
    """An eligible worker holding a reviewer grant on ``skill``."""
    worker, client = worker_and_client(email, **kwargs)
    ReviewerGrant.objects.create(worker=worker, skill=Skill.objects.get(slug=skill),
                                 granted_by=worker.user)
    return worker, client


def assignment_state(assignment) -> dict:
    assignment.refresh_from_db()
    return {"status": assignment.status, "reviewed_by": assignment.reviewed_by_id,
            "review_reason": assignment.review_reason,
            "events": list(AssignmentEvent.objects.filter(assignment=assignment)
                           .values_list("kind", flat=True)),
            "earnings": Earning.objects.filter(assignment=assignment).count(),
            "overlap": Task.objects.get(pk=assignment.task_id).overlap}


def review_state(review_id) -> tuple:
    review = Review.objects.get(pk=review_id)
    return review.status, review.reviewer_id, review.verdict, review.reason


def pending_cents(worker) -> int:
    return ledger.balance_of(ledger.worker_pending(worker.pk))


def reviews_record(worker, project) -> tuple:
    row = WorkerProjectStats.objects.get(worker=worker, project=project)
    return row.reviews_passed, row.reviews_failed


# --- sampling ------------------------------------------------------------------------------

def test_a_spot_check_rate_of_one_queues_every_submission(requester):
    project = spot_checked_project(requester)
    worker = eligible_worker("dana@workers.example")

    assignment = label(worker, project, "positive")

    review = Review.objects.get(assignment=assignment)
    assert (review.project_id, review.status, review.reviewer_id) == (
        project.pk, ReviewStatus.PENDING, None)


def test_without_a_spot_check_rate_nothing_is_queued(requester):
    project = launched_project(requester, tasks=1)

    label(eligible_worker("dana@workers.example"), project, "positive")

    assert Review.objects.count() == 0


# --- reviewer grants -----------------------------------------------------------------------

def grant_url(worker_id) -> str:
    return f"/api/v1/admin/workers/{worker_id}/reviewer-grants"


def test_staff_grant_a_reviewer_a_skill_once(staff, staff_client):
    worker = eligible_worker("rita@workers.example")

    first = staff_client.post(grant_url(worker.pk), {"skill": "sentiment-en"}, format="json")
    again = staff_client.post(grant_url(worker.pk), {"skill": "sentiment-en"}, format="json")

    assert first.status_code == 201, first.json()
    assert first.json() == again.json() == {"worker_id": worker.pk, "skill": "sentiment-en"}
    assert list(ReviewerGrant.objects.values_list("worker_id", "skill__slug",
                                                  "granted_by_id")) == [
        (worker.pk, "sentiment-en", staff.pk)]


def test_only_staff_grant_and_only_known_skills_and_workers(requester_client, staff_client):
    worker, worker_client = worker_and_client("rita@workers.example")
    body = {"skill": "sentiment-en"}

    error(requester_client.post(grant_url(worker.pk), body, format="json"), 403,
          "permission_denied")
    error(worker_client.post(grant_url(worker.pk), body, format="json"), 403,
          "permission_denied")
    assert list(error(staff_client.post(grant_url(worker.pk), {"skill": "knitting"},
                                        format="json"), 400, "validation_error")["fields"]) == [
        "skill"]
    error(staff_client.post(grant_url(worker.pk + 1000), body, format="json"), 404,
          "not_found")

    assert ReviewerGrant.objects.count() == 0


# --- claiming a review ---------------------------------------------------------------------

def test_a_reviewer_claims_the_oldest_submission_without_its_gold(requester):
    project = spot_checked_project(requester, gold_per_task=1,
                                   gold=[({"text": "gold"}, "positive")])
    worker = eligible_worker("dana@workers.example")
    first = label(worker, project, "negative")
    label(eligible_worker("erin@workers.example"), project, "neutral")
    rita, client = reviewer()

    response = client.post(NEXT_REVIEW)

    assert response.status_code == 200, response.content
    body = response.json()
    review = Review.objects.get(assignment=first)
    items = Answer.objects.filter(assignment=first, is_gold=False).select_related("item")
    assert body["review_id"] == review.pk
    assert body["project"] == {"id": project.pk, "name": project.name,
                               "instructions": project.instructions,
                               "task_type": "single_choice",
                               "label_config": project.label_config}
    assert body["items"] == [{"id": answer.pk, "data": answer.item.data, "answer": "negative"}
                             for answer in items.order_by("position")]
    assert len(body["items"]) == 2   # the gold item stays out of the review
    assert review_state(review.pk)[:2] == (ReviewStatus.CLAIMED, rita.pk)
    # Asking again gives the same claim back, not a second one.
    assert client.post(NEXT_REVIEW).json()["review_id"] == review.pk
    assert Review.objects.filter(status=ReviewStatus.CLAIMED).count() == 1


@pytest.mark.parametrize("skill", [None, "translation-de"])
def test_no_review_without_a_grant_on_the_projects_skill(requester, skill):
    project = spot_checked_project(requester)
    label(eligible_worker("dana@workers.example"), project, "positive")
    if skill:
        _, client = reviewer(skill=skill)
    else:
        _, client = worker_and_client("rita@workers.example")

    assert client.post(NEXT_REVIEW).status_code == 204
    assert Review.objects.get().status == ReviewStatus.PENDING


def test_a_reviewer_never_gets_their_own_work(requester):
    project = spot_checked_project(requester)
    rita, client = reviewer()
    label(rita, project, "positive")

    assert client.post(NEXT_REVIEW).status_code == 204

    others = label(eligible_worker("dana@workers.example"), project, "positive")
    assert client.post(NEXT_REVIEW).json()["review_id"] == Review.objects.get(
        assignment=others).pk


@pytest.mark.parametrize("clearance, terms, served", [("none", False, False),
                                                      ("pii", False, False),
                                                      ("pii", True, True)])
def test_sensitive_work_is_reviewed_only_with_clearance(requester, clearance, terms, served):
    project = spot_checked_project(requester, sensitivity="pii")
    label(eligible_worker("dana@workers.example", clearance="pii", terms=True), project,
          "positive")
    _, client = reviewer(clearance=clearance, terms=terms)

    response = client.post(NEXT_REVIEW)

    assert response.status_code == (200 if served else 204)
    assert Review.objects.get().status == (ReviewStatus.CLAIMED if served
                                            else ReviewStatus.PENDING)


def test_a_reviewer_blocked_by_the_organization_gets_none_of_its_work(requester):
    project = spot_checked_project(requester)
    label(eligible_worker("dana@workers.example"), project, "positive")
    rita, client = reviewer()
    label(rita, project, "positive")   # rita is known to the requester on this project
    worker_block(project=project, pseudonym=pseudonym_of(rita, project), actor=requester,
                 reason="Leaked data.")

    assert client.post(NEXT_REVIEW).status_code == 204
    assert set(Review.objects.values_list("status", flat=True)) == {ReviewStatus.PENDING}


@pytest.mark.parametrize("status", ["suspended", "banned", "erased"])
def test_a_reviewer_who_is_no_longer_active_gets_no_reviews(requester, status):
    project = spot_checked_project(requester)
    label(eligible_worker("dana@workers.example"), project, "positive")
    rita, client = reviewer()
    make_inactive(rita, status)

    assert client.post(NEXT_REVIEW).status_code == 204
    assert review_state(Review.objects.get().pk) == (ReviewStatus.PENDING, None, "", "")


def make_inactive(worker, status: str) -> None:
    if status == "erased":
        WorkerProfile.objects.filter(pk=worker.pk).update(erased_at=timezone.now())
    else:
        worker_status_set(worker=worker, status=status)


def test_requesters_and_staff_have_no_review_queue(requester_client, staff_client):
    error(requester_client.post(NEXT_REVIEW), 403, "permission_denied")
    error(staff_client.post(NEXT_REVIEW), 403, "permission_denied")


# --- verdicts ------------------------------------------------------------------------------

@pytest.fixture
def claimed_review(requester):
    """(review id, the reviewed assignment, its worker, the reviewer, reviewer's client)."""
    project = spot_checked_project(requester)
    worker = eligible_worker("dana@workers.example")
    assignment = label(worker, project, "positive")
    rita, client = reviewer()
    review_id = client.post(NEXT_REVIEW).json()["review_id"]
    return review_id, assignment, worker, rita, client


def test_an_approving_verdict_approves_pays_and_counts(claimed_review):
    review_id, assignment, worker, rita, client = claimed_review

    response = client.post(verdict_url(review_id), {"verdict": "approve"}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json() == {"review_id": review_id, "verdict": "approve",
                               "assignment_id": assignment.pk}
    state = assignment_state(assignment)
    assert (state["status"], state["reviewed_by"], state["earnings"]) == (
        AssignmentStatus.APPROVED, rita.user_id, 1)
    assert pending_cents(worker) == 10
    assert review_state(review_id) == (ReviewStatus.DONE, rita.pk, "approve", "")
    assert reviews_record(worker, assignment.project) == (1, 0)


def test_a_rejecting_verdict_rejects_with_its_reason_and_counts(claimed_review):
    review_id, assignment, worker, rita, client = claimed_review

    response = client.post(verdict_url(review_id),
                           {"verdict": "reject", "reason": "Sarcasm read as praise."},
                           format="json")

    assert response.status_code == 200, response.json()
    state = assignment_state(assignment)
    assert (state["status"], state["review_reason"], state["earnings"]) == (
        AssignmentStatus.REJECTED, "Sarcasm read as praise.", 0)
    assert state["overlap"] == 3   # the task was open: one more slot replaces the work
    assert pending_cents(worker) == 0
    assert review_state(review_id) == (ReviewStatus.DONE, rita.pk, "reject",
                                       "Sarcasm read as praise.")
    assert reviews_record(worker, assignment.project) == (0, 1)


@pytest.mark.parametrize("body, field", [({"verdict": "reject"}, "reason"),
                                         ({"verdict": "reject", "reason": "  "}, "reason"),
                                         ({"verdict": "maybe"}, "verdict"),
                                         ({}, "verdict")])
def test_an_invalid_verdict_is_a_400_and_changes_nothing(claimed_review, body, field):
    review_id, assignment, worker, rita, client = claimed_review
    before = (assignment_state(assignment), review_state(review_id))

    response = client.post(verdict_url(review_id), body, format="json")

    assert list(error(response, 400, "validation_error")["fields"]) == [field]
    assert (assignment_state(assignment), review_state(review_id)) == before


def test_only_the_claiming_reviewer_gives_a_verdict(claimed_review, requester_client):
    review_id, assignment, worker, rita, client = claimed_review
    _, other_reviewer = reviewer("rob@workers.example")
    worker_client = client_for(worker.user)
    before = (assignment_state(assignment), review_state(review_id))
    body = {"verdict": "approve"}

    error(other_reviewer.post(verdict_url(review_id), body, format="json"), 404, "not_found")
    error(worker_client.post(verdict_url(review_id), body, format="json"), 404, "not_found")
    error(requester_client.post(verdict_url(review_id), body, format="json"), 403,
          "permission_denied")
    error(client.post(verdict_url(review_id + 1000), body, format="json"), 404, "not_found")

    assert (assignment_state(assignment), review_state(review_id)) == before


def test_a_reviewer_suspended_while_holding_a_claim_gives_no_verdict(claimed_review):
    review_id, assignment, worker, rita, client = claimed_review
    make_inactive(rita, "suspended")
    before = (assignment_state(assignment), review_state(review_id))

    response = client.post(verdict_url(review_id), {"verdict": "approve"}, format="json")

    error(response, 409, "reviewer_not_active")
    assert (assignment_state(assignment), review_state(review_id)) == before


def test_a_second_verdict_is_a_409(claimed_review):
    review_id, assignment, worker, rita, client = claimed_review
    client.post(verdict_url(review_id), {"verdict": "approve"}, format="json")
    before = (assignment_state(assignment), review_state(review_id))

    response = client.post(verdict_url(review_id), {"verdict": "reject", "reason": "No."},
                           format="json")

    error(response, 409, "review_not_claimed")
    assert (assignment_state(assignment), review_state(review_id)) == before


def test_a_review_decided_elsewhere_first_is_moot(claimed_review, requester):
    review_id, assignment, worker, rita, client = claimed_review

    committed(decisions.approve, assignment_id=assignment.pk, actor=requester)

    assert review_state(review_id)[0] == ReviewStatus.MOOT
    before = assignment_state(assignment)
    error(client.post(verdict_url(review_id), {"verdict": "reject", "reason": "No."},
                      format="json"), 409, "review_not_claimed")
    assert assignment_state(assignment) == before
    assert before["earnings"] == 1
    assert client.post(NEXT_REVIEW).status_code == 204


# --- disputes: opening ---------------------------------------------------------------------

@pytest.fixture
def rejected(requester):
    """(rejected assignment, its worker, the worker's client)."""
    project = launched_project(requester, tasks=2, items_per_task=1, overlap=2)
    worker, client = worker_and_client("dana@workers.example")
    assignment = label(worker, project, "positive")
    committed(decisions.reject, assignment_id=assignment.pk, actor=requester,
              reason="Did not read the text.")
    assignment.refresh_from_db()
    return assignment, worker, client


def dispute_body(assignment, message="I read every word.") -> dict:
    return {"assignment_id": assignment.pk, "message": message}


def test_the_worker_disputes_their_rejected_work(rejected):
    assignment, worker, client = rejected

    response = client.post(DISPUTES, dispute_body(assignment), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    dispute = Dispute.objects.get()
    assert {key: body[key] for key in ("id", "assignment_id", "worker_id", "project_id",
                                       "message", "status", "outcome", "note",
                                       "rejection_reason", "resolved_at")} == {
        "id": dispute.pk, "assignment_id": assignment.pk, "worker_id": worker.pk,
        "project_id": assignment.project_id, "message": "I read every word.",
        "status": "open", "outcome": "", "note": "",
        "rejection_reason": "Did not read the text.", "resolved_at": None}
    listed = client.get(DISPUTES).json()
    assert (listed["count"], [row["id"] for row in listed["results"]]) == (1, [dispute.pk])


def test_a_rejection_is_disputed_once(rejected):
    assignment, worker, client = rejected
    client.post(DISPUTES, dispute_body(assignment), format="json")

    error(client.post(DISPUTES, dispute_body(assignment, "Again."), format="json"), 409,
          "already_disputed")

    assert list(Dispute.objects.values_list("message", flat=True)) == ["I read every word."]


@pytest.mark.parametrize("decide", [None, "approve"])
def test_only_rejected_work_is_disputed(requester, decide):
    project = launched_project(requester, tasks=1)
    worker, client = worker_and_client("dana@workers.example")
    assignment = label(worker, project, "positive")
    if decide:
        committed(decisions.approve, assignment_id=assignment.pk, actor=requester)

    error(client.post(DISPUTES, dispute_body(assignment), format="json"), 409, "not_rejected")

    assert Dispute.objects.count() == 0


def test_only_the_worker_who_did_the_work_disputes_it(rejected, requester_client,
                                                      staff_client, api_client):
    assignment, _, _ = rejected
    other = client_for(make_worker("erin@workers.example"))
    body = dispute_body(assignment)

    assert list(error(other.post(DISPUTES, body, format="json"), 400,
                      "validation_error")["fields"]) == ["assignment_id"]
    error(requester_client.post(DISPUTES, body, format="json"), 403, "permission_denied")
    error(staff_client.post(DISPUTES, body, format="json"), 403, "permission_denied")
    error(api_client.post(DISPUTES, body, format="json"), 401, "not_authenticated")

    assert Dispute.objects.count() == 0
    assert other.get(DISPUTES).json()["count"] == 0


@pytest.mark.parametrize("body", [{"message": "   "}, {"message": ""}, {}])
def test_a_dispute_needs_a_message(rejected, body):
    assignment, _, client = rejected

    response = client.post(DISPUTES, {"assignment_id": assignment.pk, **body}, format="json")

    assert list(error(response, 400, "validation_error")["fields"]) == ["message"]
    assert Dispute.objects.count() == 0


# --- disputes: resolving -------------------------------------------------------------------

@pytest.fixture
def disputed(rejected):
    assignment, worker, client = rejected
    dispute_id = client.post(DISPUTES, dispute_body(assignment), format="json").json()["id"]
    return dispute_id, assignment, worker, client


def dispute_state(dispute_id) -> tuple:
    dispute = Dispute.objects.get(pk=dispute_id)
    return dispute.status, dispute.outcome, dispute.note, dispute.resolved_by_id


def test_staff_list_disputes(disputed, staff_client):
    dispute_id, assignment, _, _ = disputed

    everything = staff_client.get(ADMIN_DISPUTES).json()
    still_open = staff_client.get(ADMIN_DISPUTES, {"status": "open"}).json()
    resolved = staff_client.get(ADMIN_DISPUTES, {"status": "resolved"}).json()

    assert [row["id"] for row in everything["results"]] == [dispute_id]
    assert [row["id"] for row in still_open["results"]] == [dispute_id]
    assert resolved["count"] == 0


def test_only_staff_list_disputes(disputed, requester_client):
    _, _, _, worker_client = disputed

    error(requester_client.get(ADMIN_DISPUTES), 403, "permission_denied")
    error(worker_client.get(ADMIN_DISPUTES), 403, "permission_denied")


def test_upholding_keeps_the_rejection_and_pays_nothing(disputed, staff, staff_client):
    dispute_id, assignment, worker, client = disputed
    before = assignment_state(assignment)

    response = staff_client.post(resolve_url(dispute_id),
                                 {"outcome": "uphold", "note": "The labels are wrong."},
                                 format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["outcome"]) == ("resolved", "uphold")
    assert dispute_state(dispute_id) == (DisputeStatus.RESOLVED, "uphold",
                                         "The labels are wrong.", staff.pk)
    assert assignment_state(assignment) == before
    assert pending_cents(worker) == 0
    assert client.get(DISPUTES).json()["results"][0]["outcome"] == "uphold"


def test_overturning_approves_and_pays(disputed, staff, staff_client):
    dispute_id, assignment, worker, _ = disputed

    response = staff_client.post(resolve_url(dispute_id),
                                 {"outcome": "overturn", "note": "The labels are right."},
                                 format="json")

    assert response.status_code == 200, response.json()
    assert dispute_state(dispute_id) == (DisputeStatus.RESOLVED, "overturn",
                                         "The labels are right.", staff.pk)
    state = assignment_state(assignment)
    assert (state["status"], state["reviewed_by"], state["earnings"]) == (
        AssignmentStatus.APPROVED, staff.pk, 1)
    assert state["events"] == [events.SUBMITTED, events.REJECTED, events.APPROVED]
    approval = AssignmentEvent.objects.filter(assignment=assignment).last()
    assert (approval.actor_id, approval.details["overturned"]) == (staff.pk, True)
    earning = Earning.objects.get(assignment=assignment)
    assert (earning.worker_id, earning.amount_cents, earning.fee_cents) == (
        worker.pk, 10, ledger.platform_fee_cents(10))
    assert pending_cents(worker) == 10


def test_a_resolved_dispute_cannot_be_resolved_again(disputed, staff_client):
    dispute_id, assignment, worker, _ = disputed
    staff_client.post(resolve_url(dispute_id), {"outcome": "overturn", "note": "Right."},
                      format="json")
    before = (dispute_state(dispute_id), assignment_state(assignment))

    for outcome in ("overturn", "uphold"):
        error(staff_client.post(resolve_url(dispute_id), {"outcome": outcome, "note": "x"},
                                format="json"), 409, "dispute_resolved")

    assert (dispute_state(dispute_id), assignment_state(assignment)) == before
    assert pending_cents(worker) == 10   # paid once


def test_only_staff_resolve(disputed, requester_client, other_requester_client):
    dispute_id, assignment, worker, worker_client = disputed
    before = (dispute_state(dispute_id), assignment_state(assignment))
    body = {"outcome": "overturn", "note": "Right."}
    other_worker = client_for(make_worker("erin@workers.example"))

    for client in (requester_client, other_requester_client, worker_client, other_worker):
        error(client.post(resolve_url(dispute_id), body, format="json"), 403,
              "permission_denied")

    assert (dispute_state(dispute_id), assignment_state(assignment)) == before
    assert pending_cents(worker) == 0


@pytest.mark.parametrize("body, field", [({"outcome": "refund", "note": "x"}, "outcome"),
                                         ({"note": "x"}, "outcome"),
                                         ({"outcome": "overturn"}, "note")])
def test_a_bad_resolution_is_a_400_and_changes_nothing(disputed, staff_client, body, field):
    dispute_id, assignment, _, _ = disputed
    before = (dispute_state(dispute_id), assignment_state(assignment))

    response = staff_client.post(resolve_url(dispute_id), body, format="json")

    assert list(error(response, 400, "validation_error")["fields"]) == [field]
    assert (dispute_state(dispute_id), assignment_state(assignment)) == before


def test_resolving_an_unknown_dispute_is_a_404(staff_client):
    error(staff_client.post(resolve_url(999), {"outcome": "uphold", "note": "x"},
                            format="json"), 404, "not_found")


def test_failed_spot_checks_count_in_the_record_the_accuracy_rule_judges(requester):
    # given: no gold at all; only spot checks speak for this worker
    project = launched_project(requester, tasks=3, items_per_task=1, overlap=1,
                               min_gold_accuracy=0.8,
                               quality={"spot_check_rate": 1.0, "min_gold_before_suspension": 2})
    worker = eligible_worker("dana@workers.example")
    _rita, client = reviewer()

    # when: two submissions both fail their spot check
    for _ in range(2):
        label(worker, project, "positive")
        review_id = client.post(NEXT_REVIEW).json()["review_id"]
        client.post(verdict_url(review_id), {"verdict": "reject", "reason": "Wrong."},
                    format="json")

    # then: the record is 0/2 and the worker is suspended from the project
    stats = WorkerProjectStats.objects.get(worker=worker, project=project)
    assert (stats.record_seen, stats.record_correct, stats.gold_seen) == (2, 0, 0)
    assert stats.accuracy_lower_bound == 0.0
    action = QualityAction.objects.get(worker=worker, project=project)
    assert (action.rule, action.kind, action.details["record_seen"]) == (
        "low_accuracy", "suspended", 2)


def test_an_overturn_keeps_the_rejection_reason_for_the_dispute_only(disputed, staff_client):
    dispute_id, assignment, _worker, worker_client = disputed
    reason = Assignment.objects.get(pk=assignment.pk).review_reason

    staff_client.post(resolve_url(dispute_id), {"outcome": "overturn", "note": "Right."},
                      format="json")

    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.APPROVED
    assert assignment.review_reason == reason != ""
    body = staff_client.get("/api/v1/admin/disputes").json()["results"][0]
    assert (body["rejection_reason"], body["note"]) == (reason, "Right.")
    # The approved work itself no longer shows the rejection's reason.
    mine = worker_client.get("/api/v1/worker/assignments").json()["results"]
    assert [(row["status"], row["review_reason"]) for row in mine] == [("approved", "")]


def test_disputing_an_assignment_that_does_not_exist_says_so(db):
    profile = eligible_worker("nobody@workers.example")

    response = client_for(profile.user).post("/api/v1/worker/disputes", {
        "assignment_id": 987654, "message": "Please look again."}, format="json")

    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "validation_error",
        "message": "Unknown assignment: you have no assignment with this id.",
        "fields": {"assignment_id": ["You have no assignment with this id."]}}
    assert not Dispute.objects.exists()
