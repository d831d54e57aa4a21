"""From answers to results: aggregate a task when its slots are all done, finalise
confident items, raise overlap for the rest (dynamic overlap), complete the project when
every item is final.

Lock order: Project -> Task (marketplace/locks.py). Aggregation reads answers of finished
assignments only, which no longer change, so the task lock is what serialises it.
"""
from collections import defaultdict

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from marketplace.enums import AssignmentStatus, ProjectStatus, TaskStatus, TaskType
from marketplace.locks import task_for_update
from marketplace.services import project_pause_for_funds
from marketplace.models import Answer, Assignment, Item, Project, Task

from ..aggregation import Annotation, WorkerQuality, aggregate
from ..grading import is_correct
from ..models import WorkerProjectStats
from ..selectors import quality_settings_for, tolerances_for
from . import rules

LABELLED_STATUSES = (AssignmentStatus.SUBMITTED, AssignmentStatus.APPROVED)
CATEGORICAL_TYPES = (TaskType.SINGLE_CHOICE, TaskType.PAIRWISE)


def _confusions(project: Project, worker_ids: list[int]) -> dict[int, dict]:
    """Per-worker confusion counts from graded gold: {worker: {true: {given: n}}}."""
    if project.task_type not in CATEGORICAL_TYPES:
        return {}
    rows = (Answer.objects.filter(is_gold=True, is_correct__isnull=False,
                                  assignment__project=project,
                                  assignment__worker_id__in=worker_ids)
            .values_list("assignment__worker_id", "item__gold_answer", "value"))
    confusion: dict[int, dict] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    for worker_id, expected, given in rows:
        expected = expected["choice"] if isinstance(expected, dict) else expected
        given = given["choice"] if isinstance(given, dict) else given
        confusion[worker_id][expected][given] += 1
    return {worker: {true: dict(given) for true, given in table.items()}
            for worker, table in confusion.items()}


def worker_qualities(project: Project, worker_ids: list[int]) -> dict[int, WorkerQuality]:
    stats = {row.worker_id: row for row in WorkerProjectStats.objects.filter(
        project=project, worker_id__in=worker_ids)}
    confusions = _confusions(project, worker_ids)
    return {worker_id: WorkerQuality(
        gold_seen=stats[worker_id].gold_seen if worker_id in stats else 0,
        gold_correct=stats[worker_id].gold_correct if worker_id in stats else 0,
        confusion=confusions.get(worker_id)) for worker_id in worker_ids}


def _task_is_ready(task: Task) -> bool:
    if task.status != TaskStatus.OPEN or task.filled < task.overlap:
        return False
    return not Assignment.objects.filter(task=task, status=AssignmentStatus.ASSIGNED).exists()


def _record_agreement(project: Project, answers: list[Answer], results: dict,
                      tolerances) -> None:
    """Persistent-disagreement bookkeeping: compare each worker with the final answers."""
    compared: dict[int, int] = defaultdict(int)
    disagreed: dict[int, int] = defaultdict(int)
    for answer in answers:
        result = results.get(answer.item_id)
        if result is None:
            continue
        worker_id = answer.assignment.worker_id
        compared[worker_id] += 1
        if not is_correct(project.task_type, answer.value, result.result, tolerances):
            disagreed[worker_id] += 1
    if not compared:
        return
    quality = quality_settings_for(project=project)
    for worker_id in sorted(compared):
        WorkerProjectStats.objects.get_or_create(worker_id=worker_id, project=project)
        WorkerProjectStats.objects.filter(worker_id=worker_id, project=project).update(
            items_compared=F("items_compared") + compared[worker_id],
            items_disagreed=F("items_disagreed") + disagreed[worker_id])
        stats = WorkerProjectStats.objects.get(worker_id=worker_id, project=project)
        rules.check_disagreement(stats, quality)


def task_aggregate(*, task_id: int) -> list[int]:
    """Aggregate a task whose slots are all done. Returns the ids of items finalised."""
    from .funding import reserve_extra_assignment

    with transaction.atomic():
        task = task_for_update(task_id=task_id)
        if not _task_is_ready(task):
            return []
        project = Project.objects.get(pk=task.project_id)
        pending = list(Item.objects.filter(task=task, finalized_at__isnull=True))
        if not pending:
            Task.objects.filter(pk=task.pk).update(status=TaskStatus.COMPLETE)
            return []
        answers = list(Answer.objects.filter(
            item__in=pending, is_gold=False,
            assignment__status__in=LABELLED_STATUSES).select_related("assignment"))
        worker_ids = sorted({answer.assignment.worker_id for answer in answers})
        results = aggregate(
            project.task_type, project.label_config,
            [Annotation(item_key=a.item_id, worker_key=a.assignment.worker_id, value=a.value)
             for a in answers],
            worker_qualities(project, worker_ids),
            item_data={item.pk: item.data for item in pending})
        target = project.confidence_target
        # Only a project that can still route work gets one more slot: a cancelled one
        # would reserve escrow for a slot nobody is ever served and never finalise.
        can_raise = (task.overlap < project.max_overlap
                     and project.status in (ProjectStatus.ACTIVE, ProjectStatus.PAUSED))
        unsure = [item for item in pending if item.pk in results and target is not None
                  and results[item.pk].confidence < target]
        funds_short = False
        if unsure and can_raise:
            if reserve_extra_assignment(project=project, task=task):
                # One more label for the whole task; confident items finalise now.
                Task.objects.filter(pk=task.pk).update(overlap=F("overlap") + 1)
            else:
                # No money for another label: the unsure items wait, and the project
                # stops routing until the requester tops up and resumes it.
                funds_short = True
            final = [item for item in pending if item not in unsure and item.pk in results]
        else:
            final = [item for item in pending if item.pk in results]
        now = timezone.now()
        for item in final:
            item.result = results[item.pk].result
            item.confidence = results[item.pk].confidence
            item.finalized_at = now
        Item.objects.bulk_update(final, ["result", "confidence", "finalized_at"])
        if len(final) == len(pending):
            Task.objects.filter(pk=task.pk).update(status=TaskStatus.COMPLETE)
        tolerances = tolerances_for(quality_settings_for(project=project))
        final_ids = {item.pk for item in final}
        _record_agreement(project, [a for a in answers if a.item_id in final_ids],
                          {pk: results[pk] for pk in final_ids}, tolerances)
        _announce_finalized(project, final)
    if funds_short:
        project_pause_for_funds(project=project)
    if final:
        project_complete_if_done(project_id=project.pk)
    return [item.pk for item in final]


def _announce_finalized(project: Project, items: list[Item]) -> None:
    if not items:
        return
    from marketplace.webhooks.services import webhook_emit_items_finalized

    webhook_emit_items_finalized(project=project, items=[
        {"item_id": item.pk, "external_id": item.external_id, "result": item.result,
         "confidence": item.confidence} for item in items])


def project_complete_if_done(*, project_id: int) -> bool:
    """Complete an active project once every (non-gold) item is final. A paused one is
    left alone (paused -> completed is no transition: trying raised 409 in the
    aggregation job); resuming completes it (project_reaggregate)."""
    from marketplace.services import project_complete

    unfinished = Item.objects.filter(project_id=project_id, is_gold=False,
                                     finalized_at__isnull=True)
    if unfinished.exists():
        return False
    project = Project.objects.get(pk=project_id)
    if project.status != ProjectStatus.ACTIVE:
        return False
    with transaction.atomic():
        project_complete(project=project)
        if project.task_type in CATEGORICAL_TYPES:
            from ..tasks import refine_project_results

            transaction.on_commit(lambda: refine_project_results.delay(project_id),
                                  robust=True)
    return True


def tasks_awaiting_aggregation(*, project_id: int | None = None,
                               project_status: str | None = None,
                               limit: int | None = None) -> list[int]:
    """Open tasks with every slot done: what a lost or skipped aggregation left behind."""
    tasks = Task.objects.filter(status=TaskStatus.OPEN, filled__gte=F("overlap"))
    if project_id is not None:
        tasks = tasks.filter(project_id=project_id)
    if project_status is not None:
        tasks = tasks.filter(project__status=project_status)
    # Ungraded submissions are left to the grading job, which aggregates after it.
    ungraded = Assignment.objects.filter(task=OuterRef("pk"), status__in=LABELLED_STATUSES,
                                         graded_at__isnull=True)
    task_ids = (tasks.exclude(Q(assignments__status=AssignmentStatus.ASSIGNED))
                .exclude(Exists(ungraded))
                .order_by("pk").values_list("pk", flat=True).distinct())
    return list(task_ids[:limit] if limit else task_ids)


REFINE_BATCH = 5000


def project_refine_results(*, project_id: int) -> int:
    """Once a categorical project completes, re-aggregate every item in one Dawid–Skene
    pass: workers are learnt across the whole project instead of one task at a time.
    Returns the number of items whose result changed."""
    project = Project.objects.get(pk=project_id)
    if project.task_type not in CATEGORICAL_TYPES or project.status != ProjectStatus.COMPLETED:
        return 0
    rows = list(Answer.objects.filter(
        assignment__project=project, is_gold=False,
        assignment__status__in=LABELLED_STATUSES)
        .values_list("item_id", "assignment__worker_id", "value"))
    worker_ids = sorted({worker_id for _, worker_id, _ in rows})
    results = aggregate(project.task_type, project.label_config,
                        [Annotation(item_key=item_id, worker_key=worker_id, value=value)
                         for item_id, worker_id, value in rows],
                        worker_qualities(project, worker_ids))
    changed = 0
    item_ids = sorted(results)
    for start in range(0, len(item_ids), REFINE_BATCH):
        batch = list(Item.objects.filter(pk__in=item_ids[start:start + REFINE_BATCH]))
        for item in batch:
            refined = results[item.pk]
            changed += item.result != refined.result
            item.result, item.confidence = refined.result, refined.confidence
        Item.objects.bulk_update(batch, ["result", "confidence"])
    return changed
