from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import Http404

from accounts.models import User

from .enums import LABELLED_STATUSES, AssignmentStatus, RejectionReason, TaskStatus
from .models import (
    Answer,
    Assignment,
    Item,
    ItemImport,
    Membership,
    Organization,
    Project,
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
            .select_related("domain").prefetch_related("skill_requirements__skill"))


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
    items = Item.objects.filter(project=project).order_by("id")
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
