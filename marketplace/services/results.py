"""Writes that record what quality computed: gold grades on answers, item results, a
task's slots and status. qa decides (comparators, aggregation, confidence); these
functions own the rows. All run inside the caller's transaction (a flow's) and lock in the
system order: Task -> Assignment -> Answer -> Item (config/lock_order.py).

Revisions: an item's first finalisation announces it as revision 1 (``item.finalized``);
whenever a later decision or the project-wide refinement changes an announced result,
the revision grows and the item is announced again.
"""
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import F
from django.utils import timezone

from ..enums import LABELLED_STATUSES, AssignmentStatus, ProjectStatus, TaskStatus
from ..locks import assignment_for_update, task_for_update
from ..models import Answer, Assignment, Item, Project, Task
from ..webhooks.services import webhook_emit_items_finalized


@dataclass(frozen=True)
class Graded:
    assignment: Assignment
    gold_seen: int
    gold_correct: int
    items_served: int


def assignment_record_grades(*, assignment_id: int,
                             judge: Callable[[Any, Any], bool]) -> Graded | None:
    """Grade a submitted assignment's gold answers with ``judge(answer, expected)``, once.
    None when it is not submitted or was graded already (a retried job)."""
    assignment = assignment_for_update(assignment_id=assignment_id)
    if assignment.graded_at is not None or assignment.submitted_at is None:
        return None
    served = list(Answer.objects.filter(assignment=assignment).select_related("item"))
    gold = [answer for answer in served if answer.is_gold]
    for answer in gold:
        answer.is_correct = judge(answer.value, answer.item.gold_answer)
    Answer.objects.bulk_update(gold, ["is_correct"])
    assignment.graded_at = timezone.now()
    assignment.save(update_fields=["graded_at"])
    return Graded(assignment=assignment, gold_seen=len(gold),
                  gold_correct=sum(1 for answer in gold if answer.is_correct),
                  items_served=len(served))


@dataclass
class TaskWork:
    """A locked task ready for aggregation: its unfinished items and their labels."""
    task: Task
    project: Project
    pending: list[Item]
    answers: list[Answer]


def task_lock_for_aggregation(*, task_id: int) -> TaskWork | None:
    """Lock a task whose slots are all done; None when it is not ready (a slot still
    live, overlap not reached) or has nothing left to aggregate (then it completes)."""
    task = task_for_update(task_id=task_id)
    if task.status != TaskStatus.OPEN or task.filled < task.overlap:
        return None
    if Assignment.objects.filter(task=task, status=AssignmentStatus.ASSIGNED).exists():
        return None
    pending = list(Item.objects.filter(task=task, finalized_at__isnull=True).order_by("pk"))
    if not pending:
        Task.objects.filter(pk=task.pk).update(status=TaskStatus.COMPLETE)
        return None
    return TaskWork(task=task, project=Project.objects.get(pk=task.project_id),
                    pending=pending, answers=_labels_of(pending))


def task_lock_finalized(*, task_id: int) -> TaskWork:
    """Lock a task to revise its already final items after a late decision."""
    task = task_for_update(task_id=task_id)
    items = list(Item.objects.filter(task=task, finalized_at__isnull=False).order_by("pk"))
    return TaskWork(task=task, project=Project.objects.get(pk=task.project_id),
                    pending=items, answers=_labels_of(items))


def _labels_of(items: list[Item]) -> list[Answer]:
    return list(Answer.objects.filter(item__in=items, is_gold=False,
                                      assignment__status__in=LABELLED_STATUSES)
                .select_related("assignment").order_by("pk"))


def task_raise_overlap(*, task: Task) -> None:
    """One more slot on a locked task (dynamic overlap, or a rejected label replaced)."""
    Task.objects.filter(pk=task.pk).update(overlap=F("overlap") + 1)


def task_reopen_for_replacement(*, task_id: int) -> bool:
    """A label of this task was rejected: add a slot to replace it. A task that was
    complete opens again and its items wait for the new label (their last announced
    result stays until it changes). False when the project no longer routes work (then
    the flow revises the results from the labels that remain)."""
    task = task_for_update(task_id=task_id)
    status = Project.objects.values_list("status", flat=True).get(pk=task.project_id)
    if status not in (ProjectStatus.ACTIVE, ProjectStatus.PAUSED):
        return False
    Task.objects.filter(pk=task.pk).update(overlap=F("overlap") + 1, status=TaskStatus.OPEN)
    if task.status == TaskStatus.COMPLETE:
        Item.objects.filter(task=task).update(finalized_at=None)
    return True


def items_record_results(*, project: Project, task: Task | None,
                         results: dict[int, tuple[Any, float]], items: Iterable[Item],
                         finalize: bool = True) -> list[Item]:
    """Store results (item id -> (result, confidence)) on items of a locked task, final
    when ``finalize``; completes the task when none of its items is left pending.
    Announces every item whose result is new or changed; returns those items."""
    now = timezone.now()
    changed, touched = [], []
    for item in items:
        if item.pk not in results:
            continue
        result, confidence = results[item.pk]
        if item.revision == 0 or item.result != result:
            item.revision += 1
            changed.append(item)
        item.result, item.confidence = result, confidence
        if finalize and item.finalized_at is None:
            item.finalized_at = now
        touched.append(item)
    Item.objects.bulk_update(touched, ["result", "confidence", "finalized_at", "revision"])
    if task is not None and not Item.objects.filter(task=task,
                                                    finalized_at__isnull=True).exists():
        Task.objects.filter(pk=task.pk).update(status=TaskStatus.COMPLETE)
    _announce(project, changed)
    return changed


def _announce(project: Project, items: list[Item]) -> None:
    if items:
        webhook_emit_items_finalized(project=project, items=[
            {"item_id": item.pk, "external_id": item.external_id, "result": item.result,
             "confidence": item.confidence, "revision": item.revision} for item in items])


def project_items_unfinished(*, project_id: int) -> bool:
    return Item.objects.filter(project_id=project_id, is_gold=False,
                               finalized_at__isnull=True).exists()


def project_labels(*, project_id: int) -> list[tuple[int, int, Any]]:
    """(item id, worker id, value) of every counted label of a project."""
    return list(Answer.objects.filter(
        assignment__project_id=project_id, is_gold=False,
        assignment__status__in=LABELLED_STATUSES)
        .values_list("item_id", "assignment__worker_id", "value"))


REVISE_BATCH = 5000


def project_items_revise(*, project: Project, results: dict[int, tuple[Any, float]]) -> int:
    """Store project-wide refined results in batches; announce the changed ones.
    Returns how many changed."""
    changed = 0
    item_ids = sorted(results)
    for start in range(0, len(item_ids), REVISE_BATCH):
        batch = list(Item.objects.filter(pk__in=item_ids[start:start + REVISE_BATCH])
                     .order_by("pk"))
        changed += len(items_record_results(project=project, task=None, results=results,
                                            items=batch, finalize=False))
    return changed
