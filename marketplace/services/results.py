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

from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from config.bulk import bulk_update

from .. import task_types
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


def tasks_by_project(*, task_ids: Iterable[int]) -> dict[int, list[int]]:
    """Project id -> the ids of those tasks in it (unlocked: which transaction handles
    which task; every decision is taken again under the lock)."""
    grouped: dict[int, list[int]] = {}
    for project_id, task_id in (Task.objects.filter(pk__in=list(task_ids))
                                .order_by("project_id", "pk")
                                .values_list("project_id", "pk")):
        grouped.setdefault(project_id, []).append(task_id)
    return grouped


def tasks_lock_for_aggregation(*, project_id: int, task_ids: Iterable[int]
                               ) -> list[TaskWork]:
    """Lock the project's tasks among ``task_ids`` whose slots are all done (in id order,
    one statement) and return their unfinished items and labels. A task not ready (a
    slot still live, overlap not reached) is left out; one with nothing left to
    aggregate completes here."""
    tasks = list(Task.objects.select_for_update(no_key=True, of=("self",))
                 .select_related("project")
                 .filter(pk__in=list(task_ids), project_id=project_id,
                         status=TaskStatus.OPEN, filled__gte=F("overlap")).order_by("pk"))
    if not tasks:
        return []
    # Read after the locks, in a statement of their own: a claim that took a task's last
    # slot committed before we got its lock, and its live assignment is visible now.
    pending: dict[int, list[Item]] = {task.pk: [] for task in tasks}
    live = set()
    # What aggregating and storing results read of an item (the data only when the
    # aggregator does): the rest of the row (personal-data records, gold fields) stays.
    fields = [*_RESULT_FIELDS, "task", "external_id"]
    if task_types.rules_for(tasks[0].project.task_type).aggregation_reads_data:
        fields.append("data")
    for item in (Item.objects.filter(task_id__in=list(pending), finalized_at__isnull=True)
                 .only(*fields)
                 .annotate(slot_live=Exists(Assignment.objects.filter(
                     task_id=OuterRef("task_id"), status=AssignmentStatus.ASSIGNED)))
                 .order_by("pk")):
        if item.slot_live:
            live.add(item.task_id)
        pending[item.task_id].append(item)
    empty = [task_id for task_id, items in pending.items() if not items]
    if empty:
        # Nothing left to aggregate (rare: the model's results took every item); complete
        # the task unless a slot is still live.
        live.update(Assignment.objects.filter(task_id__in=empty,
                                              status=AssignmentStatus.ASSIGNED)
                    .values_list("task_id", flat=True))
        finished = [task_id for task_id in empty if task_id not in live]
        if finished:
            Task.objects.filter(pk__in=finished).update(status=TaskStatus.COMPLETE)
    tasks = [task for task in tasks if pending[task.pk] and task.pk not in live]
    if not tasks:
        return []
    project = tasks[0].project
    labels: dict[int, list[Answer]] = {task.pk: [] for task in tasks}
    task_of_item = {item.pk: task.pk for task in tasks for item in pending[task.pk]}
    for answer in _labels_of(list(task_of_item)):
        labels[task_of_item[answer.item_id]].append(answer)
    return [TaskWork(task=task, project=project, pending=pending[task.pk],
                     answers=labels[task.pk]) for task in tasks]


def task_lock_finalized(*, task_id: int) -> TaskWork:
    """Lock a task to revise its already final items after a late decision."""
    task = task_for_update(task_id=task_id)
    items = list(Item.objects.filter(task=task, finalized_at__isnull=False).order_by("pk"))
    return TaskWork(task=task, project=Project.objects.get(pk=task.project_id),
                    pending=items, answers=_labels_of([item.pk for item in items]))


def _labels_of(item_ids: list[int]) -> list[Answer]:
    """The counted labels of the items: value and worker (``answer.assignment.worker_id``)
    are what aggregation reads, so only those are loaded."""
    return list(Answer.objects.filter(item_id__in=item_ids, is_gold=False,
                                      assignment__status__in=LABELLED_STATUSES)
                .select_related("assignment")
                .only("item_id", "value", "assignment__worker_id").order_by("pk"))


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
    changed, touched = _apply_results(items, results, finalize=finalize, now=timezone.now())
    bulk_update(Item, touched, _RESULT_FIELDS)
    if task is not None and not Item.objects.filter(task=task,
                                                    finalized_at__isnull=True).exists():
        Task.objects.filter(pk=task.pk).update(status=TaskStatus.COMPLETE)
    _announce(project, [changed])
    return changed


def tasks_record_results(*, project: Project, pending: dict[int, list[Item]],
                         results: dict[int, tuple[Any, float]]) -> list[Item]:
    """Aggregation of several locked tasks of a project: store the final results (item
    id -> (result, confidence)) on their items in one statement and complete each task
    none of whose items is left pending. ``pending`` (task id -> its unfinished items)
    was read under the task locks, and only a holder of the task lock finalises items,
    so it is all a task has left. Announces the items whose result is new or changed:
    one ``item.finalized`` payload per task, as when tasks were aggregated one at a
    time. Returns those items."""
    now = timezone.now()
    changed_by_task, touched, finished = [], [], []
    for task_id, items in pending.items():
        changed, stored = _apply_results(items, results, finalize=True, now=now)
        touched += stored
        if changed:
            changed_by_task.append(changed)
        if len(stored) == len(items):
            finished.append(task_id)
    bulk_update(Item, touched, _RESULT_FIELDS)
    if finished:
        Task.objects.filter(pk__in=finished).update(status=TaskStatus.COMPLETE)
    _announce(project, changed_by_task)
    return [item for changed in changed_by_task for item in changed]


_RESULT_FIELDS = ["result", "confidence", "finalized_at", "revision"]


def _apply_results(items: Iterable[Item], results: dict[int, tuple[Any, float]], *,
                   finalize: bool, now) -> tuple[list[Item], list[Item]]:
    """Set result and confidence on the items that have one; the revision grows when an
    item's result is new or changed. (changed items, every item set)."""
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
    return changed, touched


def _announce(project: Project, groups: list[list[Item]]) -> None:
    webhook_emit_items_finalized(project=project, groups=[[
        {"item_id": item.pk, "external_id": item.external_id, "result": item.result,
         "confidence": item.confidence, "revision": item.revision} for item in items]
        for items in groups if items])


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
