"""Rejections need evidence and have a ceiling (issue 13): reason codes, gold_failed only
with missed gold (cited to the worker, other gold never), the per-worker rejection ceiling
turning further rejections into spot-check requests, and no rejection after the
auto-approve deadline."""
from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import client_for
from flows import decisions
from marketplace.models import Answer, Assignment, AssignmentEvent
from marketplace.services import items_import
from marketplace.uploads import UploadRow
from flows import projects as projects_flow
from payments.models import Journal
from payments.tests.factories import (
    make_project,
    make_requester,
    make_staff,
    make_worker,
    submitted,
)
from qa.enums import ReviewStatus
from qa.models import Review

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.MIN_EFFECTIVE_HOURLY_CENTS = 0
    settings.PLATFORM_FEE_PERCENT = 20


def _reject(requester, assignment, **body):
    return client_for(requester).post(f"/api/v1/assignments/{assignment.pk}/reject",
                                      {"reason": "Not what was asked.", **body}, format="json")


def _grade(assignment, *, missed: int, correct: int):
    """Mark the first answers as graded gold: ``missed`` wrong, then ``correct`` right."""
    answers = list(Answer.objects.filter(assignment=assignment).order_by("position"))
    for answer in answers[:missed]:
        Answer.objects.filter(pk=answer.pk).update(is_gold=True, is_correct=False)
    for answer in answers[missed:missed + correct]:
        Answer.objects.filter(pk=answer.pk).update(is_gold=True, is_correct=True)
    Assignment.objects.filter(pk=assignment.pk).update(graded_at=timezone.now())
    return answers


def _nothing_written(assignment):
    assignment.refresh_from_db()
    assert assignment.status == "submitted"
    assert not AssignmentEvent.objects.filter(assignment=assignment, kind="rejected").exists()
    assert not Journal.objects.filter(assignment=assignment).exists()
    assert not Review.objects.filter(assignment=assignment, requested_by__isnull=False).exists()


def test_gold_failed_is_refused_when_no_gold_was_missed():
    requester = make_requester(funds_cents=1000)
    assignment = submitted(make_worker(), make_project(requester, items=4))
    _grade(assignment, missed=0, correct=1)

    response = _reject(requester, assignment, reason_code="gold_failed")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "gold_not_failed"
    assert response.json()["error"]["fields"] == {"reason_code": ["No gold item was missed."]}
    _nothing_written(assignment)


def test_gold_failed_waits_for_grading():
    requester = make_requester(funds_cents=1000)
    assignment = submitted(make_worker(), make_project(requester, items=4))
    Assignment.objects.filter(pk=assignment.pk).update(graded_at=None)

    response = _reject(requester, assignment, reason_code="gold_failed")

    assert (response.status_code, response.json()["error"]["code"]) == (409, "not_graded_yet")
    _nothing_written(assignment)


def test_an_unknown_reason_code_is_400():
    requester = make_requester(funds_cents=1000)
    assignment = submitted(make_worker(), make_project(requester, items=4))

    response = _reject(requester, assignment, reason_code="lazy")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["reason_code"]
    _nothing_written(assignment)


def test_gold_failed_cites_only_the_missed_gold_to_the_worker_and_the_admin():
    requester = make_requester(funds_cents=1000)
    worker = make_worker()
    project = make_project(requester, items=4, launch=False, gold_per_task=2)
    items_import(project=project, actor=requester, is_gold=True, rows=[
        UploadRow(row=1, external_id="gold-neg", data={"text": "awful"}, answer="negative",
                  has_answer=True),
        UploadRow(row=2, external_id="gold-pos", data={"text": "great"}, answer="positive",
                  has_answer=True)])
    projects_flow.launch(project=project, actor=requester)
    assignment = submitted(worker, project)  # answers "positive" everywhere
    gold = {answer.item.external_id: answer for answer in
            Answer.objects.filter(assignment=assignment, is_gold=True).select_related("item")}
    Answer.objects.filter(pk=gold["gold-neg"].pk).update(is_correct=False)
    Answer.objects.filter(pk=gold["gold-pos"].pk).update(is_correct=True)
    Assignment.objects.filter(pk=assignment.pk).update(graded_at=timezone.now())
    missed = gold["gold-neg"]

    response = _reject(requester, assignment, reason_code="gold_failed")

    assert response.status_code == 200
    expected = {"reason_code": "gold_failed", "reason": "Not what was asked.",
                "missed_gold": [{"item_id": missed.pk, "your_answer": "positive",
                                 "expected": "negative"}]}
    assert response.json()["rejection"] == expected
    worker_client = client_for(worker.user)
    mine = worker_client.get(f"/api/v1/worker/assignments/{assignment.pk}").json()
    assert mine["rejection"] == expected
    # The gold answered right stays unnamed: nothing cites it or its answer.
    assert gold["gold-pos"].pk not in [cited["item_id"] for cited in
                                       mine["rejection"]["missed_gold"]]
    dispute = worker_client.post("/api/v1/worker/disputes",
                                 {"assignment_id": assignment.pk, "message": "I was right."},
                                 format="json")
    assert dispute.status_code == 201
    assert dispute.json()["evidence"] == expected
    listed = client_for(make_staff()).get("/api/v1/admin/disputes").json()["results"]
    assert [row["evidence"] for row in listed] == [expected]


def test_rejection_after_the_auto_approve_deadline_is_refused():
    requester = make_requester(funds_cents=1000)
    assignment = submitted(make_worker(), make_project(requester, items=4))
    Assignment.objects.filter(pk=assignment.pk).update(
        auto_approve_at=timezone.now() - timedelta(seconds=1))

    response = _reject(requester, assignment, reason_code="incomplete")

    assert (response.status_code, response.json()["error"]["code"]) == (
        409, "rejection_deadline_passed")
    _nothing_written(assignment)


def test_past_the_ceiling_a_rejection_becomes_a_review_request():
    requester = make_requester(funds_cents=10_000)
    worker = make_worker()
    # Ten tasks of one item; 10 % of ten submissions is one rejection on own say.
    project = make_project(requester, items=10, items_per_task=1, rejection_ceiling_percent=10)
    work = [submitted(worker, project) for _ in range(10)]

    first = _reject(requester, work[0], reason_code="spam_or_random")
    second = _reject(requester, work[1], reason_code="instructions_ignored",
                     reason="Ignored the rubric.")

    assert (first.status_code, first.json()["status"]) == (200, "rejected")
    assert first.json()["rejection"]["reason_code"] == "spam_or_random"
    assert second.status_code == 200
    assert (second.json()["status"], second.json()["review_requested"]) == ("submitted", True)
    review = Review.objects.get(assignment=work[1])
    assert (review.status, review.requested_by_id, review.request_reason_code,
            review.request_reason) == (ReviewStatus.PENDING, requester.pk,
                                       "instructions_ignored", "Ignored the rubric.")
    assert not AssignmentEvent.objects.filter(assignment=work[1], kind="rejected").exists()
    # Asking again changes nothing: a reviewer decides.
    again = _reject(requester, work[1])
    assert (again.status_code, again.json()["error"]["code"]) == (409, "review_already_requested")
    # A confirmed review rejects, with the requester's reason code.
    reviewer = make_worker()
    Review.objects.filter(pk=review.pk).update(status=ReviewStatus.CLAIMED, reviewer=reviewer,
                                               claimed_until=timezone.now()
                                               + timedelta(minutes=5))
    decisions.review_verdict(review_id=review.pk, reviewer=reviewer, verdict="reject",
                             reason="Confirmed: rubric ignored.")
    work[1].refresh_from_db()
    assert (work[1].status, work[1].review_reason_code) == ("rejected", "instructions_ignored")


def test_a_ceiling_of_zero_sends_every_rejection_to_review():
    requester = make_requester(funds_cents=1000)
    project = make_project(requester, items=4, rejection_ceiling_percent=0)
    assignment = submitted(make_worker(), project)

    response = _reject(requester, assignment)

    assert response.json()["review_requested"] is True
    assert Assignment.objects.get(pk=assignment.pk).status == "submitted"


def test_staff_rejections_are_not_capped():
    requester = make_requester(funds_cents=1000)
    project = make_project(requester, items=4, rejection_ceiling_percent=0)
    assignment = submitted(make_worker(), project)

    decisions.reject(assignment_id=assignment.pk, actor=make_staff(), reason="Fraud.",
                     reason_code="spam_or_random")

    assert Assignment.objects.get(pk=assignment.pk).status == "rejected"
