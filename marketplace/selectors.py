import difflib

from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from qa.selectors import live_suspensions, suspended_from_project
from workers.enums import ApplicationStatus, WorkerStatus
from workers.selectors import eligible_projects

from .enums import LABELLED_STATUSES, AssignmentStatus, RejectionReason, TaskStatus
from .models import (
    Answer,
    Assignment,
    Item,
    ItemImport,
    Membership,
    Organization,
    Project,
    ProjectInstructions,
    Task,
    WorkerPseudonym,
)


def organization_of(*, user: User) -> Organization | None:
    try:
        return user.membership.organization  # joined in by the authenticator
    except Membership.DoesNotExist:
        return None


def project_list(*, organization: Organization) -> QuerySet[Project]:
    return (Project.objects.filter(organization=organization)
            .select_related("domain", "automation_settings")
            .prefetch_related("skill_requirements__skill"))


def project_get(*, organization: Organization, project_id) -> Project:
    """The organization's project, or 404 - never a hint that another org's exists."""
    try:
        return project_list(organization=organization).get(pk=int(project_id))
    except (Project.DoesNotExist, ValueError, TypeError):
        raise Http404


def item_import_get(*, organization: Organization, import_id) -> ItemImport:
    try:
        return ItemImport.objects.defer("payload").get(
            pk=int(import_id), project__organization=organization)
    except (ItemImport.DoesNotExist, ValueError, TypeError):
        raise Http404


def item_list(*, project: Project, is_gold: bool | None = None) -> QuerySet[Item]:
    # The prediction (automation app) rides along: one join instead of a query per item.
    items = Item.objects.filter(project=project).order_by("id").select_related("prediction")
    if is_gold is not None:
        items = items.filter(is_gold=is_gold)
    return items


def task_list(*, project: Project) -> QuerySet[Task]:
    # The listing shows item ids only; item data can be large.
    item_ids = Prefetch("items", queryset=Item.objects.only("id", "task_id").order_by("id"))
    return Task.objects.filter(project=project).order_by("id").prefetch_related(item_ids)


def worker_by_pseudonym(*, project: Project, pseudonym: str):
    """The worker a requester knows as ``pseudonym`` on ``project``, or None."""
    link = (WorkerPseudonym.objects.select_related("worker")
            .filter(project=project, pseudonym=str(pseudonym)).first())
    return link.worker if link else None


# --- Assignments -------------------------------------------------------------------------

def served_items(*, assignment) -> list[dict]:
    """What a worker sees of an assignment's items: an opaque id and the data, in served
    order. The id is the answer slot's, so gold items look like any other."""
    served = getattr(assignment, "served", None)
    if served is not None:
        return served  # the claim statement returned them with the new assignment
    answers = (Answer.objects.filter(assignment=assignment).order_by("position")
               .values_list("pk", "item__data"))
    return [{"id": answer_id, "data": data} for answer_id, data in answers]


def worker_assignment_list(*, worker, status: str | None = None):
    assignments = Assignment.objects.filter(worker=worker).order_by("-created_at", "-id")
    if status:
        assignments = assignments.filter(status=status)
    missed_gold = Answer.objects.filter(is_gold=True, is_correct=False).select_related("item")
    return assignments.prefetch_related(Prefetch("answers", queryset=missed_gold,
                                                 to_attr="missed_gold"))


def worker_assignment_get(*, worker, assignment_id):
    try:
        return worker_assignment_list(worker=worker).get(pk=int(assignment_id))
    except (Assignment.DoesNotExist, ValueError, TypeError):
        raise Http404


def project_assignment_list(*, project: Project, status: str | None = None):
    pseudonym = WorkerPseudonym.objects.filter(project=OuterRef("project"),
                                               worker=OuterRef("worker")).values("pseudonym")[:1]
    assignments = (Assignment.objects.filter(project=project)
                   .annotate(worker_pseudonym=Subquery(pseudonym))
                   .prefetch_related(Prefetch("answers",
                                              queryset=Answer.objects.order_by("position")))
                   .order_by("-submitted_at", "-id"))
    return assignments.filter(status=status) if status else assignments


def assignment_for_organization(*, organization: Organization, assignment_id):
    """A requester's view: the assignment if it belongs to one of their projects, else 404."""
    try:
        return Assignment.objects.get(pk=int(assignment_id), project__organization=organization)
    except (Assignment.DoesNotExist, ValueError, TypeError):
        raise Http404


def tasks_awaiting_aggregation(*, project_id: int | None = None,
                               project_status: str | None = None,
                               limit: int | None = None) -> list[int]:
    """Open tasks with every slot done: what a lost or skipped aggregation left behind.
    Ungraded submissions are left to their grading job, which aggregates after it."""
    tasks = Task.objects.filter(status=TaskStatus.OPEN, filled__gte=F("overlap"))
    if project_id is not None:
        tasks = tasks.filter(project_id=project_id)
    if project_status is not None:
        tasks = tasks.filter(project__status=project_status)
    ungraded = Assignment.objects.filter(task=OuterRef("pk"), status__in=LABELLED_STATUSES,
                                         graded_at__isnull=True)
    task_ids = (tasks.exclude(Q(assignments__status=AssignmentStatus.ASSIGNED))
                .exclude(Exists(ungraded))
                .order_by("pk").values_list("pk", flat=True).distinct())
    return list(task_ids[:limit] if limit else task_ids)


def assignments_ungraded(*, submitted_before, limit: int = 1000) -> list[int]:
    return list(Assignment.objects.filter(graded_at__isnull=True,
                                          submitted_at__lt=submitted_before)
                .order_by("pk").values_list("pk", flat=True)[:limit])


def assignment_task_id(*, assignment_id: int) -> int:
    return Assignment.objects.values_list("task_id", flat=True).get(pk=assignment_id)


# --- Instructions versions ---------------------------------------------------------------

def instructions_change_for(*, assignment) -> dict | None:
    """What changed in the instructions since this worker's previous assignment on the
    project, as a unified diff - shown once, on the first task served after a change."""
    if assignment.instructions_version == 1:
        return None  # nothing came before version 1: spare the lookup on every claim
    previous = (Assignment.objects.filter(worker_id=assignment.worker_id,
                                          project_id=assignment.project_id,
                                          pk__lt=assignment.pk)
                .order_by("-pk").values_list("instructions_version", flat=True).first())
    current = assignment.instructions_version
    if previous is None or previous >= current:
        return None
    texts = dict(ProjectInstructions.objects.filter(
        project_id=assignment.project_id, version__in=[previous, current],
    ).values_list("version", "instructions"))
    diff = difflib.unified_diff(texts.get(previous, "").splitlines(),
                                texts.get(current, "").splitlines(),
                                fromfile=f"version {previous}", tofile=f"version {current}",
                                lineterm="")
    return {"from_version": previous, "to_version": current, "diff": "\n".join(diff)}


def instructions_versions(*, project: Project) -> list[dict]:
    """Every version with the gold graded under it: how well workers did with each text."""
    stats = {row["assignment__instructions_version"]: row for row in (
        Answer.objects.filter(assignment__project=project, is_gold=True,
                              is_correct__isnull=False)
        .order_by().values("assignment__instructions_version")
        .annotate(gold_graded=Count("id"), gold_correct=Count("id", filter=Q(is_correct=True))))}
    versions = []
    for version in ProjectInstructions.objects.filter(project=project).order_by("version"):
        row = stats.get(version.version, {})
        graded_count, correct = row.get("gold_graded", 0), row.get("gold_correct", 0)
        versions.append({
            "version": version.version, "instructions": version.instructions,
            "created_at": version.created_at, "gold_graded": graded_count,
            "gold_correct": correct,
            "gold_accuracy": round(correct / graded_count, 4) if graded_count else None,
        })
    return versions


# --- Routing rules, shared by the claim and by the availability explanation ---------------

def routable_projects(*, worker) -> QuerySet[Project]:
    """The projects routing may serve this worker: eligible (workers.selectors) minus the
    projects a quality rule suspended the worker from (qa). The claim and the worker's
    availability explanation both start here, so they cannot disagree."""
    return eligible_projects(worker=worker).exclude(suspended_from_project(worker=worker))


def claimable_tasks(*, worker, project_ids) -> QuerySet[Task]:
    """Open tasks of these projects (None: of any project, for a caller that names the
    task otherwise) with a free slot that this worker never held."""
    held_before = Assignment.objects.filter(task=OuterRef("pk"), worker=worker)
    tasks = Task.objects.filter(status=TaskStatus.OPEN, filled__lt=F("overlap"))
    if project_ids is not None:
        tasks = tasks.filter(project_id__in=project_ids)
    return tasks.exclude(Exists(held_before))


def _reason(code: str, message: str, until=None) -> dict:
    reason = {"code": code, "message": message}
    if until is not None:
        reason["until"] = until
    return reason


def worker_availability(*, worker) -> dict:
    """Can this worker get work right now, and if not, why: {can_work, reasons}.

    Built on the claim's own rules (routable_projects, claimable_tasks). Reasons name
    the worker's own standing and projects, never a requester that blocked them.
    """
    status = worker.status
    if status in (WorkerStatus.APPLICANT, WorkerStatus.VETTING):
        if worker.applications.filter(status=ApplicationStatus.PENDING).exists():
            return {"can_work": False, "reasons": [_reason(
                "application_pending",
                "Your application is being reviewed. You can start once it is approved.")]}
        return {"can_work": False, "reasons": [_reason(
            "not_vetted", "You are not vetted yet: send an application with your skills "
                          "and credentials to start working.")]}
    if status in (WorkerStatus.SUSPENDED, WorkerStatus.BANNED):
        message = ("Your account is closed." if status == WorkerStatus.BANNED
                   else "Your account is suspended until an admin reinstates it.")
        if worker.status_reason:
            message += f" Reason: {worker.status_reason}"
        return {"can_work": False, "reasons": [_reason("suspended", message)]}

    live = Assignment.objects.filter(worker=worker, status=AssignmentStatus.ASSIGNED,
                                     expires_at__gt=timezone.now())
    routable = routable_projects(worker=worker)
    if live.exists() or claimable_tasks(
            worker=worker, project_ids=routable.values("pk")).exists():
        return {"can_work": True, "reasons": []}

    reasons = []
    eligible_ids = set(eligible_projects(worker=worker).values_list("pk", flat=True))
    for suspension in (live_suspensions(worker=worker).filter(project_id__in=eligible_ids)
                       .select_related("project").order_by("created_at", "id")):
        reasons.append(_reason(
            "suspended", f"You are suspended from \"{suspension.project.name}\" until the "
                         f"requester or an admin lifts it. Reason: {suspension.reason}"))
    if eligible_projects(worker=worker, honour_blocks=False).exclude(
            pk__in=eligible_ids).exists():
        reasons.append(_reason(
            "blocked", "A requester no longer offers you their projects."))
    if routable.exists():
        reasons.append(_reason(
            "all_taken", "All current work on your projects is taken or already done by "
                         "you. Check back later: new tasks open as requesters add items."))
    elif not reasons:
        reasons.append(_reason(
            "no_matching_project", "No active project matches your verified skills, domain "
                                   "and clearance right now."))
    else:
        reasons.append(_reason(
            "no_matching_project", "No other active project matches your verified skills, "
                                   "domain and clearance right now."))
    return {"can_work": False, "reasons": reasons}
def rejection_evidence(*, assignment) -> dict | None:
    """What a rejection stands on, for the worker, the requester and an admin: the reason
    code and text, and for ``gold_failed`` the gold items this assignment missed - items
    the worker has seen, by the ids it saw them under; other gold is never cited."""
    if not assignment.review_reason:
        return None
    cited = []
    if assignment.review_reason_code == RejectionReason.GOLD_FAILED:
        cited = [{"item_id": answer.pk, "your_answer": answer.value,
                  "expected": answer.item.gold_answer}
                 for answer in Answer.objects.filter(assignment_id=assignment.pk, is_gold=True,
                                                     is_correct=False)
                 .select_related("item").order_by("position")]
    return {"reason_code": assignment.review_reason_code or RejectionReason.OTHER,
            "reason": assignment.review_reason, "missed_gold": cited}
