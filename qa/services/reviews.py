"""Spot checks: a share of submissions goes to a review queue for workers holding a
reviewer grant on one of the project's skills; the verdict approves or rejects the work
(flows.decisions.review_verdict decides the assignment first, then concludes the review
here: Task -> Assignment -> Review, config/lock_order.py) and feeds the worker's record."""
import random
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from config.errors import Conflict, InvalidInput, required_text
from marketplace.enums import AssignmentStatus
from marketplace.models import Assignment, ProjectSkillRequirement
from workers.enums import WorkerStatus
from workers.models import Skill, WorkerProfile
from workers.selectors import eligible_projects

from ..enums import ReviewStatus, Verdict
from ..locks import project_stats_for_update, review_for_update
from ..models import Review, ReviewerGrant
from ..selectors import quality_settings_for
from ..stats import wilson_lower_bound
from . import rules

REVIEW_CLAIM_SECONDS = 15 * 60
_random = random.SystemRandom()


def review_maybe_request(*, assignment: Assignment) -> Review | None:
    """Called in the submit transaction: sample this submission for a spot check."""
    rate = quality_settings_for(project=assignment.project).spot_check_rate
    if rate <= 0 or _random.random() >= rate:
        return None
    return Review.objects.create(assignment=assignment, project_id=assignment.project_id)


def review_request(*, assignment: Assignment, requested_by: User, reason: str,
                   reason_code: str) -> Review:
    """A requester's rejection past its rejection ceiling becomes a spot-check request:
    a vetted reviewer's verdict decides (flows.decisions.reject). Called under the
    assignment's lock, so the submission is still waiting; a review sampled at submit is
    reused (one review per assignment), keeping its place in the queue."""
    review = Review.objects.filter(assignment=assignment).first()
    if review is None:
        review = Review.objects.create(assignment=assignment, project_id=assignment.project_id)
    if review.requested_by_id is not None:
        raise Conflict("A review of this work was already requested; a reviewer decides.",
                       code="review_already_requested")
    review = review_for_update(review_id=review.pk)
    review.requested_by = requested_by
    review.request_reason = reason
    review.request_reason_code = reason_code
    review.save(update_fields=["requested_by", "request_reason", "request_reason_code"])
    return review


def reviewer_grant(*, worker: WorkerProfile, skill: Skill, actor: User) -> ReviewerGrant:
    grant, _ = ReviewerGrant.objects.get_or_create(worker=worker, skill=skill,
                                                   defaults={"granted_by": actor})
    return grant


def _reviewable(reviewer: WorkerProfile):
    granted = ReviewerGrant.objects.filter(worker=reviewer).values("skill_id")
    # Only projects the reviewer may work on: a grant is no clearance for sensitive data,
    # and no way around an organization's block or a required exam.
    projects = ProjectSkillRequirement.objects.filter(
        skill_id__in=granted, project__in=eligible_projects(worker=reviewer)
    ).values("project_id")
    now = timezone.now()
    return (Review.objects.filter(project_id__in=projects,
                                  assignment__status=AssignmentStatus.SUBMITTED)
            .filter(Q(status=ReviewStatus.PENDING)
                    | Q(status=ReviewStatus.CLAIMED, claimed_until__lt=now))
            .exclude(assignment__worker=reviewer))


def _may_review(reviewer: WorkerProfile) -> bool:
    # A grant outlives a suspension, a ban or an erasure; deciding others' work and pay
    # must not.
    return reviewer.status == WorkerStatus.ACTIVE and reviewer.erased_at is None


def review_claim(*, reviewer: WorkerProfile) -> Review | None:
    """The oldest reviewable submission, leased to this reviewer (SKIP LOCKED)."""
    if not _may_review(reviewer):
        return None
    now = timezone.now()
    current = Review.objects.filter(reviewer=reviewer, status=ReviewStatus.CLAIMED,
                                    claimed_until__gt=now).first()
    if current is not None:
        return current
    with transaction.atomic():
        review = (_reviewable(reviewer).select_for_update(no_key=True, skip_locked=True, of=("self",))
                  .order_by("created_at", "id").first())
        if review is None:
            return None
        review.status = ReviewStatus.CLAIMED
        review.reviewer = reviewer
        review.claimed_until = now + timedelta(seconds=REVIEW_CLAIM_SECONDS)
        review.save(update_fields=["status", "reviewer", "claimed_until"])
        return review


def review_verdict_check(*, review_id: int, reviewer: WorkerProfile, verdict: str,
                         reason: str = "") -> int:
    """Validate a verdict before anything is locked; returns the assignment id."""
    if verdict not in Verdict.values:
        raise InvalidInput("verdict is approve or reject.", fields={"verdict": ["Invalid."]})
    if verdict == Verdict.REJECT:
        required_text(reason, message="A rejection needs a reason the worker can read.")
    review = (Review.objects.filter(pk=review_id)
              .values("reviewer_id", "assignment_id", "status").first())
    if review is None or review["reviewer_id"] != reviewer.pk \
            or review["status"] != ReviewStatus.CLAIMED:
        raise Conflict("This review is not claimed by you.", code="review_not_claimed")
    return review["assignment_id"]


def review_conclude(*, review_id: int, reviewer: WorkerProfile, verdict: str,
                    reason: str = "") -> Review:
    """Record the verdict the flow just applied to the assignment (whose lock it holds)
    and count it in the worker's record. Raising rolls the decision back with it."""
    review = review_for_update(review_id=review_id)
    if review.reviewer_id != reviewer.pk or review.status != ReviewStatus.CLAIMED:
        raise Conflict("This review is not claimed by you.", code="review_not_claimed")
    if not _may_review(reviewer):
        raise Conflict("Only active workers give verdicts.", code="reviewer_not_active")
    assignment = review.assignment
    review.status = ReviewStatus.DONE
    review.verdict = verdict
    review.reason = reason
    review.decided_at = timezone.now()
    review.save(update_fields=["status", "verdict", "reason", "decided_at"])
    # The verdict joins the worker's record, which the accuracy rule judges.
    stats = project_stats_for_update(worker_id=assignment.worker_id,
                                     project_id=assignment.project_id)
    if verdict == Verdict.APPROVE:
        stats.reviews_passed += 1
    else:
        stats.reviews_failed += 1
    stats.accuracy_lower_bound = wilson_lower_bound(stats.record_correct, stats.record_seen)
    stats.save(update_fields=["reviews_passed", "reviews_failed", "accuracy_lower_bound",
                              "updated_at"])
    rules.check_accuracy(stats, quality_settings_for(project=assignment.project),
                         assignment.project.min_gold_accuracy)
    return review


def review_close_if_decided(*, assignment_id: int) -> None:
    """Someone else decided the submission first: the review has nothing left to do."""
    Review.objects.filter(assignment_id=assignment_id).exclude(
        status=ReviewStatus.DONE).update(status=ReviewStatus.MOOT)
