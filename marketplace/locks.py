"""Row locks. Global order: Project -> Task -> Assignment -> ledger accounts (by pk).

Every service that locks more than one of these takes them in that order, so two
transactions can never wait on each other in a cycle.
"""
from .models import Assignment, ItemImport, Project, Task


def project_for_update(*, project_id: int) -> Project:
    return Project.objects.select_for_update().get(pk=project_id)


def task_for_update(*, task_id: int) -> Task:
    return Task.objects.select_for_update().get(pk=task_id)


def assignment_for_update(*, assignment_id: int) -> Assignment:
    return (Assignment.objects.select_for_update(of=("self",)).select_related("project")
            .get(pk=assignment_id))


def item_import_for_update(*, import_id: int) -> ItemImport:
    return ItemImport.objects.select_for_update().get(pk=import_id)
