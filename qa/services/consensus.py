"""From labels to results, computed: aggregate a task's items, decide which are
confident and which need one more label (dynamic overlap), keep the disagreement record,
refine a completed project's results in one pass.

qa computes here; the marketplace stores (marketplace.services.results) and the flows
(flows/results.py) call both in order, inside the transaction that locked the task.
"""
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import F

from marketplace import task_types
from marketplace.enums import ProjectStatus
from marketplace.models import Answer, Item, Project, Task

from ..aggregation import Annotation, WorkerQuality, aggregate
from ..grading import is_correct
from ..models import WorkerProjectStats
from ..selectors import quality_settings_for, tolerances_for
from . import rules


def _confusions(project: Project, worker_ids: list[int]) -> dict[int, dict]:
    """Per-worker confusion counts from graded gold: {worker: {true: {given: n}}}."""
    if not task_types.is_categorical(project.task_type):
        return {}
    rows = (Answer.objects.filter(is_gold=True, is_correct__isnull=False,
                                  assignment__project=project,
                                  assignment__worker_id__in=worker_ids)
            .values_list("assignment__worker_id", "item__gold_answer", "value"))
    confusion: dict[int, dict] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    for worker_id, expected, given in rows:
        expected = task_types.comparable(project.task_type, expected)
        given = task_types.comparable(project.task_type, given)
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


def agreement_record(*, project: Project, answers: list[Answer], results: dict) -> None:
    """Persistent-disagreement bookkeeping: compare each worker with the final answers
    (``results``: item id -> ItemResult) and apply the disagreement rule."""
    tolerances = tolerances_for(quality_settings_for(project=project))
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


@dataclass
class Consensus:
    """What aggregating a task decided: results of the items that are final now, whether
    one more label is wanted for the unsure rest."""
    final: dict[int, tuple]           # item id -> (result, confidence)
    unsure: list[int]                 # item ids below the confidence target
    wants_more: bool                  # unsure items and overlap may still grow
    results: dict                     # item id -> ItemResult (for the agreement record)


def task_consensus(*, project: Project, task: Task, pending: list[Item],
                   answers: list[Answer]) -> Consensus:
    results = _aggregate(project, pending, answers)
    target = project.confidence_target
    # Only a project that can still route work gets one more slot: a cancelled one
    # would reserve escrow for a slot nobody is ever served and never finalise.
    can_raise = (task.overlap < project.max_overlap
                 and project.status in (ProjectStatus.ACTIVE, ProjectStatus.PAUSED))
    unsure = [item.pk for item in pending if item.pk in results and target is not None
              and results[item.pk].confidence < target]
    wants_more = bool(unsure) and can_raise
    final_ids = [item.pk for item in pending
                 if item.pk in results and not (wants_more and item.pk in unsure)]
    return Consensus(final={pk: (results[pk].result, results[pk].confidence)
                            for pk in final_ids},
                     unsure=unsure if wants_more else [], wants_more=wants_more,
                     results=results)


def items_results(*, project: Project, items: list[Item], answers: list[Answer]
                  ) -> dict[int, tuple]:
    """Results of items from the labels they have now (a late decision's revision)."""
    return {pk: (result.result, result.confidence)
            for pk, result in _aggregate(project, items, answers).items()}


def _aggregate(project: Project, items: list[Item], answers: list[Answer]) -> dict:
    """Item id -> ItemResult from the items' labels, workers weighted by their record."""
    worker_ids = sorted({answer.assignment.worker_id for answer in answers})
    return aggregate(
        project.task_type, project.label_config,
        [Annotation(item_key=a.item_id, worker_key=a.assignment.worker_id, value=a.value)
         for a in answers],
        worker_qualities(project, worker_ids),
        item_data={item.pk: item.data for item in items})


def project_refined_results(*, project: Project, labels: list[tuple]) -> dict[int, tuple]:
    """Once a categorical project completes, every item again in one Dawid–Skene pass:
    workers are learnt across the whole project instead of one task at a time.
    ``labels``: (item id, worker id, value)."""
    if not task_types.is_categorical(project.task_type):
        return {}
    worker_ids = sorted({worker_id for _, worker_id, _ in labels})
    results = aggregate(project.task_type, project.label_config,
                        [Annotation(item_key=item_id, worker_key=worker_id, value=value)
                         for item_id, worker_id, value in labels],
                        worker_qualities(project, worker_ids))
    return {pk: (result.result, result.confidence) for pk, result in results.items()}
