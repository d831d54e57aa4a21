from django.db.models import QuerySet
from django.http import Http404

from accounts.models import User

from .models import Item, ItemImport, Membership, Organization, Project, Task


def organization_of(*, user: User) -> Organization | None:
    membership = Membership.objects.select_related("organization").filter(user=user).first()
    return membership.organization if membership else None


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
    return Task.objects.filter(project=project).order_by("id").prefetch_related("items")


def worker_by_pseudonym(*, project: Project, pseudonym: str):
    """The worker a requester knows as ``pseudonym`` on ``project``, or None."""
    from .models import WorkerPseudonym

    link = (WorkerPseudonym.objects.select_related("worker")
            .filter(project=project, pseudonym=str(pseudonym)).first())
    return link.worker if link else None
