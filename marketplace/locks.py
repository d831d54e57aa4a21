"""Row locks of the marketplace. The system-wide order (WorkerProfile -> Project -> Task
-> Item -> Assignment -> Answer -> qa rows -> payments rows -> ledger accounts) is
written once, in config/lock_order.py; every lock here is FOR NO KEY UPDATE (why: same
place)."""
from config.compiled_query import CompiledQuery

from .models import Assignment, ItemImport, Project, Task


def project_for_update(*, project_id: int) -> Project:
    return Project.objects.select_for_update(no_key=True).get(pk=project_id)


def task_for_update(*, task_id: int) -> Task:
    return Task.objects.select_for_update(no_key=True).get(pk=task_id)


_ASSIGNMENT_FOR_UPDATE = CompiledQuery(  # every submit and heartbeat: compiled once
    lambda assignment_id: Assignment.objects.select_for_update(no_key=True, of=("self",))
    .select_related("project").filter(pk=assignment_id), assignment_id=int)


def assignment_for_update(*, assignment_id: int) -> Assignment:
    return _ASSIGNMENT_FOR_UPDATE.get(assignment_id=assignment_id)


def item_import_for_update(*, import_id: int) -> ItemImport:
    # Without the payload: the run has read it already, and it may be 100 MiB.
    return ItemImport.objects.select_for_update(no_key=True).defer("payload").get(pk=import_id)


def gold_item_for_update(*, project_id: int, item_id) -> "Item":
    from .models import Item

    return Item.objects.select_for_update(no_key=True).get(pk=item_id, project_id=project_id,
                                                           is_gold=True)
