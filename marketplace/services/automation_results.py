"""Marketplace writes for automated labelling (automation app, flows/automation.py): the
item rows stay the marketplace's, so finalising items from a model's predictions and
sending them back to the crowd happen here, inside the flow's transaction, in the system
lock order Task -> Item."""
from ..enums import TaskStatus
from ..locks import task_for_update
from ..models import Item, Project, Task


def task_lock_pending_items(*, task_id: int, item_ids: list[int]
                            ) -> tuple[Task, Project, list[Item]]:
    """Lock a task; its items among ``item_ids`` that still wait for a result."""
    task = task_for_update(task_id=task_id)
    items = list(Item.objects.filter(task=task, pk__in=item_ids, finalized_at__isnull=True)
                 .order_by("pk"))
    return task, Project.objects.get(pk=task.project_id), items


def items_reopen(*, task_id: int, item_ids: list[int]) -> Task:
    """Send final items back to the crowd: they wait for a result again (the announced
    one stays until the crowd's differs, then it is announced with a new revision) and
    their task routes again when it has a free slot."""
    task = task_for_update(task_id=task_id)
    Item.objects.filter(task=task, pk__in=item_ids).update(finalized_at=None)
    if task.status == TaskStatus.COMPLETE:
        Task.objects.filter(pk=task.pk).update(status=TaskStatus.OPEN)
        task.status = TaskStatus.OPEN
    return task


def project_items_unfinished_in_task(*, task_id: int) -> bool:
    return Item.objects.filter(task_id=task_id, finalized_at__isnull=True).exists()
