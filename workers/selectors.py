from django.conf import settings
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from marketplace.enums import ProjectStatus, Sensitivity
from marketplace.models import Answer, Assignment, Project, ProjectSkillRequirement

from .enums import (
    CLEARANCE_ORDER,
    VERIFIED_SOURCES,
    Clearance,
    ExamAttemptStatus,
    WorkerStatus,
)
from .models import (
    ExamAttempt,
    ProjectExamRequirement,
    QualificationExam,
    Skill,
    WorkerApplication,
    WorkerAuditEvent,
    WorkerBlock,
    WorkerProfile,
    WorkerSkill,
)

# Sensitivity levels a clearance opens, in the same order as CLEARANCE_ORDER.
_SENSITIVITY_FOR_CLEARANCE = {
    Clearance.NONE: Sensitivity.PUBLIC,
    Clearance.CONFIDENTIAL: Sensitivity.CONFIDENTIAL,
    Clearance.PII: Sensitivity.PII,
    Clearance.PHI: Sensitivity.PHI,
}


def skill_list() -> QuerySet[Skill]:
    return Skill.objects.select_related("domain").order_by("domain__slug", "slug")


def skills_by_slug(slugs: list[str]) -> dict[str, Skill]:
    return {skill.slug: skill for skill in Skill.objects.filter(slug__in=slugs)}


def worker_profile_of(*, user) -> WorkerProfile:
    try:
        return user.worker_profile  # joined in by the authenticator
    except WorkerProfile.DoesNotExist:
        raise Http404


def worker_get(*, worker_id) -> WorkerProfile:
    try:
        return WorkerProfile.objects.select_related("user").get(pk=int(worker_id))
    except (WorkerProfile.DoesNotExist, ValueError, TypeError):
        raise Http404


def worker_skills(*, worker: WorkerProfile) -> QuerySet[WorkerSkill]:
    return WorkerSkill.objects.filter(worker=worker).select_related("skill").order_by(
        "skill__slug")


def allowed_sensitivities(*, worker: WorkerProfile) -> list[str]:
    """Public always; more only with clearance and the current confidentiality terms."""
    if worker.terms_version_accepted != settings.CONFIDENTIALITY_TERMS_VERSION:
        return [Sensitivity.PUBLIC]
    rank = CLEARANCE_ORDER.index(worker.clearance)
    return [_SENSITIVITY_FOR_CLEARANCE[level] for level in CLEARANCE_ORDER[:rank + 1]]


def eligible_projects(*, worker: WorkerProfile, honour_blocks: bool = True) -> QuerySet[Project]:
    """Active projects this worker may take, as one SQL query (no per-project loop).

    Eligible means: the worker is active and not erased; every required skill is held
    at a verified level >= the minimum; the project's domain (if any) is one where the
    worker holds a verified skill; clearance covers the project's sensitivity (with the
    current terms accepted); the organization has not blocked the worker; every exam the
    project requires was passed. Exam projects themselves are never routed as work.
    """
    if worker.status != WorkerStatus.ACTIVE or worker.erased_at is not None:
        return Project.objects.none()
    verified = WorkerSkill.objects.filter(worker=worker, source__in=VERIFIED_SOURCES)
    unmet_skill = ProjectSkillRequirement.objects.filter(project=OuterRef("pk")).exclude(
        Exists(verified.filter(skill=OuterRef("skill"), level__gte=OuterRef("min_level"))))
    passed = ExamAttempt.objects.filter(worker=worker, status=ExamAttemptStatus.PASSED)
    unmet_exam = ProjectExamRequirement.objects.filter(project=OuterRef("pk")).exclude(
        Exists(passed.filter(exam=OuterRef("exam"))))
    blocked = WorkerBlock.objects.filter(worker=worker, organization=OuterRef("organization"))
    in_domain = Exists(verified.filter(skill__domain=OuterRef("domain"), level__gt=0))
    projects = (Project.objects
                .filter(status=ProjectStatus.ACTIVE,
                        sensitivity__in=allowed_sensitivities(worker=worker))
                .filter(Q(domain__isnull=True) | in_domain)
                .exclude(Exists(QualificationExam.objects.filter(project=OuterRef("pk"))))
                .exclude(Exists(unmet_skill))
                .exclude(Exists(unmet_exam)))
    return projects.exclude(Exists(blocked)) if honour_blocks else projects


def application_list(*, status: str | None = None) -> QuerySet[WorkerApplication]:
    applications = WorkerApplication.objects.select_related("worker__user").order_by(
        "created_at", "id")
    return applications.filter(status=status) if status else applications


def application_get(*, application_id) -> WorkerApplication:
    try:
        return application_list().get(pk=int(application_id))
    except (WorkerApplication.DoesNotExist, ValueError, TypeError):
        raise Http404


def exams_for_worker(*, worker: WorkerProfile) -> list[dict]:
    """Active exams the worker may see (platform ones; an organization's own exams are
    open to all workers too, since requesters invite through them, except to workers
    that organization blocked), with the worker's standing on each."""
    exams = list(QualificationExam.objects.filter(is_active=True)
                 .exclude(organization__in=WorkerBlock.objects.filter(worker=worker)
                          .values("organization_id"))
                 .select_related("skill", "project", "organization").order_by("id"))
    attempts = ExamAttempt.objects.filter(worker=worker, exam__in=exams).order_by("started_at")
    by_exam: dict[int, list[ExamAttempt]] = {}
    for attempt in attempts:
        by_exam.setdefault(attempt.exam_id, []).append(attempt)
    now = timezone.now()
    described = []
    for exam in exams:
        history = by_exam.get(exam.pk, [])
        scores = [a.score for a in history if a.score is not None]
        state, available_at = "available", None
        if any(a.status == ExamAttemptStatus.PASSED for a in history):
            state = "passed"
        elif any(a.status == ExamAttemptStatus.STARTED and a.expires_at > now for a in history):
            state = "in_progress"
        else:
            failures = [a for a in history if a.status != ExamAttemptStatus.PASSED]
            if failures:
                available_at = failures[-1].started_at + timezone.timedelta(
                    seconds=exam.retake_cooldown_seconds)
                if available_at > now:
                    state = "cooldown"
        described.append({"exam": exam, "state": state, "retake_available_at": available_at,
                          "best_score": max(scores) if scores else None,
                          "attempts": len(history)})
    return described


def exam_get(*, exam_id) -> QualificationExam:
    try:
        return QualificationExam.objects.select_related("project", "skill").get(
            pk=int(exam_id), is_active=True)
    except (QualificationExam.DoesNotExist, ValueError, TypeError):
        raise Http404


def exam_attempt_get(*, worker: WorkerProfile, attempt_id) -> ExamAttempt:
    try:
        return ExamAttempt.objects.select_related("exam__project").get(
            pk=int(attempt_id), worker=worker)
    except (ExamAttempt.DoesNotExist, ValueError, TypeError):
        raise Http404


def exam_attempt_items(*, attempt: ExamAttempt) -> list[dict]:
    """An attempt's questions in order. They are gold items: only id and data leave."""
    data = dict(attempt.exam.project.items.filter(pk__in=attempt.item_ids)
                .values_list("pk", "data"))
    return [{"id": item_id, "data": data[item_id]} for item_id in attempt.item_ids
            if item_id in data]


def worker_data_export(*, worker: WorkerProfile) -> dict:
    """Everything stored about the worker as a person, for GET /worker/data-export."""
    user = worker.user
    return {
        "account": {"id": user.pk, "email": user.email, "first_name": user.first_name,
                    "last_name": user.last_name, "date_joined": user.date_joined,
                    "last_login": user.last_login, "role": user.role},
        "profile": {"worker_id": worker.pk, "pseudonym": worker.pseudonym,
                    "status": worker.status, "status_reason": worker.status_reason,
                    "full_name": worker.full_name, "bio": worker.bio,
                    "country": worker.country, "languages": worker.languages,
                    "domains": list(worker.domains.values_list("slug", flat=True)),
                    "clearance": worker.clearance,
                    "terms_version_accepted": worker.terms_version_accepted,
                    "terms_accepted_at": worker.terms_accepted_at,
                    "created_at": worker.created_at, "erased_at": worker.erased_at},
        "skills": [{"skill": ws.skill.slug, "level": ws.level, "source": ws.source,
                    "updated_at": ws.updated_at} for ws in worker_skills(worker=worker)],
        "applications": [{"id": a.pk, "statement": a.statement, "credentials": a.credentials,
                          "status": a.status, "reason": a.reason, "created_at": a.created_at,
                          "decided_at": a.decided_at}
                         for a in worker.applications.order_by("id")],
        # The worker's own answers are data about them too (gold answers are not).
        "exam_attempts": [{"exam_id": a.exam_id, "status": a.status, "score": a.score,
                           "answers": a.answers, "started_at": a.started_at,
                           "expires_at": a.expires_at, "submitted_at": a.submitted_at}
                          for a in worker.exam_attempts.order_by("id")],
        # Labelling work: the worker's own answers, never the hidden gold answers.
        "assignments": [{
            "id": a.pk, "project_id": a.project_id, "status": a.status,
            "created_at": a.created_at, "submitted_at": a.submitted_at,
            "active_seconds": a.active_seconds, "review_reason": a.review_reason,
            "answers": [{"item_id": answer.pk, "value": answer.value}
                        for answer in a.answers.all()],
        } for a in Assignment.objects.filter(worker=worker).order_by("id")
            .prefetch_related(Prefetch("answers", queryset=Answer.objects.order_by("position")))],
        "blocks": [{"organization_id": b.organization_id, "reason": b.reason,
                    "created_at": b.created_at} for b in worker.blocks.order_by("id")],
        "audit_log": [{"action": e.action, "reason": e.reason, "details": e.details,
                       "created_at": e.created_at}
                      for e in WorkerAuditEvent.objects.filter(worker=worker)],
    }
