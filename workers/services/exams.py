"""Qualification exams: gold-only projects a worker takes to prove a skill.

Grading is immediate. A platform exam (made by staff) sets the verified skill level from
the score; an organization's exam qualifies the worker for that organization's projects
that require it. Attempts are limited by a retake cooldown after a failure; a pass is
final.
"""
import random
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from config.errors import Conflict, InvalidInput
from marketplace.models import Organization, Project
from marketplace.selectors import item_list
from marketplace.submissions import validate_answers
from qa.grading import is_correct

from ..enums import AuditAction, ExamAttemptStatus, SkillSource, WorkerStatus
from ..events import audit
from ..locks import exam_attempt_for_update, worker_for_update
from ..models import (
    ExamAttempt,
    ProjectExamRequirement,
    QualificationExam,
    Skill,
    WorkerBlock,
    WorkerProfile,
    WorkerSkill,
)
from .profiles import worker_skill_set_verified

MAX_QUESTIONS = 200


@transaction.atomic
def exam_create(*, project: Project, actor: User, skill: Skill, pass_mark: float,
                question_count: int, retake_cooldown_seconds: int = 24 * 3600,
                time_limit_seconds: int = 3600,
                organization: Organization | None) -> QualificationExam:
    """Make ``project`` an exam. ``organization=None`` makes a platform exam (staff only)."""
    if QualificationExam.objects.filter(project=project).exists():
        raise Conflict("This project is already an exam.", code="already_exam")
    if item_list(project=project, is_gold=False).exists():
        raise Conflict("An exam project holds gold items only; this one has items.",
                       code="exam_has_items")
    gold_count = item_list(project=project, is_gold=True).count()
    if not 1 <= question_count <= min(gold_count, MAX_QUESTIONS):
        raise InvalidInput(
            f"question_count must be between 1 and the {gold_count} gold items uploaded.",
            fields={"question_count": [f"Upload at least {question_count} gold items first."]})
    if not 0 < pass_mark <= 1:
        raise InvalidInput("pass_mark is a share in (0, 1].",
                           fields={"pass_mark": ["Must be in (0, 1]."]})
    return QualificationExam.objects.create(
        project=project, organization=organization, skill=skill, pass_mark=pass_mark,
        question_count=question_count, retake_cooldown_seconds=retake_cooldown_seconds,
        time_limit_seconds=time_limit_seconds, created_by=actor)


def exam_require(*, project: Project, exam: QualificationExam,
                 actor: User) -> ProjectExamRequirement:
    if exam.organization_id not in (None, project.organization_id):
        raise InvalidInput("Use a platform exam or one of your organization's exams.",
                           fields={"exam_id": ["Unknown exam."]})
    if exam.project_id == project.pk:
        raise InvalidInput("A project cannot require itself.", fields={"exam_id": ["Same project."]})
    requirement, _ = ProjectExamRequirement.objects.get_or_create(project=project, exam=exam)
    return requirement


def _retake_available_at(exam: QualificationExam, worker: WorkerProfile):
    last_failure = (ExamAttempt.objects.filter(
        exam=exam, worker=worker,
        status__in=[ExamAttemptStatus.FAILED, ExamAttemptStatus.EXPIRED])
        .order_by("-started_at").values_list("started_at", flat=True).first())
    if last_failure is None:
        return None
    return last_failure + timedelta(seconds=exam.retake_cooldown_seconds)


@transaction.atomic
def exam_attempt_start(*, exam: QualificationExam, worker: WorkerProfile) -> ExamAttempt:
    worker = worker_for_update(worker_id=worker.pk)
    if worker.status not in (WorkerStatus.VETTING, WorkerStatus.ACTIVE):
        raise Conflict(f"A worker who is {worker.status} cannot take exams.",
                       code="worker_not_eligible")
    if exam.organization_id is not None and WorkerBlock.objects.filter(
            worker=worker, organization_id=exam.organization_id).exists():
        raise Http404  # invisible to a worker its organization blocked, like its projects
    if not exam.is_active:
        raise Conflict("This exam is closed.", code="exam_closed")
    attempts = ExamAttempt.objects.filter(exam=exam, worker=worker)
    if attempts.filter(status=ExamAttemptStatus.PASSED).exists():
        raise Conflict("You already passed this exam.", code="exam_passed")
    now = timezone.now()
    open_attempt = attempts.filter(status=ExamAttemptStatus.STARTED).first()
    if open_attempt is not None:
        if open_attempt.expires_at > now:
            return open_attempt  # asking again resumes the attempt in progress
        open_attempt.status = ExamAttemptStatus.EXPIRED
        open_attempt.save(update_fields=["status"])
    retake_at = _retake_available_at(exam, worker)
    if retake_at is not None and retake_at > now:
        raise Conflict(f"You can retake this exam from {retake_at.isoformat()}.",
                       code="exam_cooldown")
    gold_ids = list(item_list(project=exam.project, is_gold=True).values_list("id", flat=True))
    chosen = random.SystemRandom().sample(gold_ids, min(exam.question_count, len(gold_ids)))
    try:
        with transaction.atomic():
            return ExamAttempt.objects.create(
                exam=exam, worker=worker, item_ids=chosen,
                expires_at=now + timedelta(seconds=exam.time_limit_seconds))
    except IntegrityError:
        raise Conflict("An attempt is already in progress.", code="attempt_in_progress")


@transaction.atomic
def exam_attempt_submit(*, attempt: ExamAttempt, worker: WorkerProfile,
                        answers: list[dict]) -> ExamAttempt:
    # Standing is checked again here, not only at start: a worker suspended or banned
    # mid-attempt must not come out of it with a verified level.
    worker = worker_for_update(worker_id=worker.pk)
    if worker.status not in (WorkerStatus.VETTING, WorkerStatus.ACTIVE):
        raise Conflict(f"A worker who is {worker.status} cannot take exams.",
                       code="worker_not_eligible")
    attempt = exam_attempt_for_update(attempt_id=attempt.pk)
    if attempt.worker_id != worker.pk:
        raise Conflict("Not your attempt.", code="not_found")
    if attempt.status != ExamAttemptStatus.STARTED:
        raise Conflict(f"This attempt is already {attempt.status}.", code="attempt_closed")
    now = timezone.now()
    if attempt.expires_at <= now:
        # Left as started: the next exam_attempt_start marks it expired and applies the
        # cooldown, so refusing here needs no write.
        raise Conflict("The time for this attempt ran out.", code="attempt_expired")
    exam = QualificationExam.objects.select_related("project", "skill").get(pk=attempt.exam_id)
    project = exam.project
    items = {item.pk: item for item in item_list(project=project, is_gold=True)
             .filter(pk__in=attempt.item_ids)}
    values = validate_answers(project=project, answers=answers, items={
        item_id: items[item_id].data for item_id in attempt.item_ids if item_id in items})
    correct = sum(1 for item_id, value in values.items()
                  if is_correct(project.task_type, value, items[item_id].gold_answer))
    score = correct / len(values) if values else 0.0
    passed = score >= exam.pass_mark
    attempt.answers = [{"item_id": item_id, "value": value} for item_id, value in values.items()]
    attempt.score = score
    attempt.status = ExamAttemptStatus.PASSED if passed else ExamAttemptStatus.FAILED
    attempt.submitted_at = now
    attempt.save(update_fields=["answers", "score", "status", "submitted_at"])
    audit(worker=worker, actor=worker.user,
          action=AuditAction.EXAM_PASSED if passed else AuditAction.EXAM_FAILED,
          exam_id=exam.pk, skill=exam.skill.slug, score=round(score, 4))
    if passed and exam.is_platform:
        level = round(score * 100)
        held = WorkerSkill.objects.filter(worker=worker, skill=exam.skill).first()
        # An exam raises a verified level; it never lowers one earned another way.
        if held is None or held.source == SkillSource.CLAIMED or held.level < level:
            worker_skill_set_verified(worker=worker, skill=exam.skill, level=level,
                                      source=SkillSource.EXAM, actor=None,
                                      reason="Qualification exam passed", exam_id=exam.pk,
                                      attempt_id=attempt.pk)
    return attempt
