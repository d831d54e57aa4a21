"""From labels to results, computed: aggregate a task's items, decide which are
confident and which need one more label (dynamic overlap), keep the disagreement record,
refine a completed project's results in one pass.

qa computes here; the marketplace stores (marketplace.services.results) and the flows
(flows/results.py) call both in order, inside the transaction that locked the task.
"""
from collections import defaultdict
from dataclasses import dataclass

from config.bulk import bulk_update
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
    (``results``: item id -> ItemResult) and apply the disagreement rule. Set-based: the
    workers' records are locked in one statement (by worker id, the order every
    multi-row lock of these records keeps) and updated in one, whatever the number of
    tasks the results came from."""
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
    records = _stats_for_update(project, sorted(compared))
    for worker_id, stats in records.items():
        stats.items_compared += compared[worker_id]
        stats.items_disagreed += disagreed[worker_id]
    bulk_update(WorkerProjectStats, list(records.values()),
                ["items_compared", "items_disagreed"])
    for worker_id in sorted(records):
        rules.check_disagreement(records[worker_id], quality)


def _stats_for_update(project: Project, worker_ids: list[int]
                      ) -> dict[int, WorkerProjectStats]:
    """The workers' records on the project, locked, created first when missing (the
    submit creates them, so that is rare)."""
    def locked():
        return {row.worker_id: row for row in WorkerProjectStats.objects
                .select_for_update(no_key=True)
                .filter(project=project, worker_id__in=worker_ids).order_by("worker_id")}

    records = locked()
    if len(records) < len(worker_ids):
        # Released locks would be taken again out of order: insert the missing rows,
        # then lock the whole set again in worker order (the held ones are ours already).
        WorkerProjectStats.objects.bulk_create(
            [WorkerProjectStats(worker_id=worker_id, project=project)
             for worker_id in worker_ids if worker_id not in records],
            ignore_conflicts=True)
        records = locked()
    return records


@dataclass
class Consensus:
    """What aggregating a task decided: results of the items that are final now, whether
    one more label is wanted for the unsure rest."""
    final: dict[int, tuple]           # item id -> (result, confidence)
    unsure: list[int]                 # item ids below the confidence target
    wants_more: bool                  # unsure items and overlap may still grow
    results: dict                     # item id -> ItemResult (for the agreement record)


def tasks_consensus(*, project: Project, works: list) -> dict[int, Consensus]:
    """Task id -> Consensus for each of ``works`` (objects with ``task``, ``pending``
    items and their ``answers``: marketplace's TaskWork), all tasks of ``project``. The
    workers' records are read once for them all; each task is aggregated on its own, as
    it would be alone (Dawid–Skene learns from the items it is given)."""
    worker_ids = sorted({answer.assignment.worker_id for work in works
                         for answer in work.answers})
    qualities = worker_qualities(project, worker_ids)
    return {work.task.pk: _consensus(project, work.task, work.pending, work.answers,
                                     qualities) for work in works}


def _consensus(project: Project, task: Task, pending: list[Item], answers: list[Answer],
               qualities: dict[int, WorkerQuality]) -> Consensus:
    results = _aggregate(project, pending, answers, qualities)
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


def _aggregate(project: Project, items: list[Item], answers: list[Answer],
               qualities: dict[int, WorkerQuality] | None = None) -> dict:
    """Item id -> ItemResult from the items' labels, workers weighted by their record
    (``qualities``: read here unless the caller read them for several tasks)."""
    worker_ids = sorted({answer.assignment.worker_id for answer in answers})
    if qualities is None:
        qualities = worker_qualities(project, worker_ids)
    return aggregate(
        project.task_type, project.label_config,
        [Annotation(item_key=a.item_id, worker_key=a.assignment.worker_id, value=a.value)
         for a in answers],
        {worker_id: qualities[worker_id] for worker_id in worker_ids},
        item_data={item.pk: item.data for item in items}
        if task_types.rules_for(project.task_type).aggregation_reads_data else None)


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
