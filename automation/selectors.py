"""Reads of the automation app: what workers are shown in prelabel mode (with decoys on
gold), the spot-check accuracy that gates auto-accept, and the per-model report."""
import math
import random
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from marketplace import task_types
from marketplace.enums import LABELLED_STATUSES, TaskType
from marketplace.models import Answer, Item, Project
from qa.stats import wilson_lower_bound

from .enums import AutomationMode, PredictionState, ResultSource
from .models import (
    AutomationSettings,
    BuiltinModelRun,
    Prediction,
    PredictionEndpoint,
    PredictionRun,
)

Judge = Callable[[Any, Any], bool]
CALIBRATION_BUCKETS = 10


def settings_get(*, project: Project) -> AutomationSettings:
    try:
        return AutomationSettings.objects.get(project=project)
    except AutomationSettings.DoesNotExist:
        return AutomationSettings(project=project)


def decoy_value(*, project: Project, item_id: int, gold_answer: Any) -> Any:
    """A pre-label that is wrong on purpose for a gold item: a worker who keeps it misses
    the gold item and the usual gold rules catch them. Drawn once per item (seeded), so
    every worker sees the same decoy. None when no wrong value can be made (then the gold
    item is served without a pre-label)."""
    config, rng = project.label_config, random.Random(f"decoy:{item_id}")
    expected = task_types.comparable(project.task_type, gold_answer)
    task_type = project.task_type
    if task_type == TaskType.SINGLE_CHOICE:
        return rng.choice([c for c in config["choices"] if c != expected])
    if task_type == TaskType.MULTI_CHOICE:
        flipped = rng.choice(config["choices"])
        chosen = set(expected) ^ {flipped}
        return [c for c in config["choices"] if c in chosen]
    if task_type == TaskType.PAIRWISE:
        return "b" if expected == "a" else "a"
    if task_type == TaskType.RATING:
        low, high = config["min"], config["max"]
        return low if expected - low >= high - expected else high
    if task_type == TaskType.RANKING:
        return list(reversed(expected)) if len(expected) > 1 else None
    if task_type in (TaskType.SPANS, TaskType.BBOX):
        return [] if expected else None
    if task_type == TaskType.TEXT:
        return "" if expected else None
    return None


def prelabels_for(*, project: Project, items: list[dict], mode: str | None = None
                  ) -> list[dict]:
    """Served items ``[{id, data}]`` (ids are answer ids) with ``prediction: {value}``
    added in prelabel mode: the item's prediction, or a decoy on a gold item. Only the
    value is shown: a score would tell the decoys apart. ``mode``: the project's
    automation mode when the caller knows it (the claim does), else it is looked up."""
    if (mode or settings_get(project=project).mode) != AutomationMode.PRELABEL:
        return items
    rows = {pk: (item_id, is_gold, gold_answer, value) for pk, item_id, is_gold, gold_answer,
            value in Answer.objects.filter(pk__in=[item["id"] for item in items])
            .values_list("pk", "item_id", "item__is_gold", "item__gold_answer",
                         "item__prediction__value")}
    shown = []
    for item in items:
        item_id, is_gold, gold_answer, value = rows[item["id"]]
        if is_gold:
            value = decoy_value(project=project, item_id=item_id, gold_answer=gold_answer)
        shown.append({**item, "prediction": {"value": value}} if value is not None
                     else item)
    return shown


def certainty(*, score: float, probabilities: dict | None) -> float:
    """How sure a prediction is, 0..1, for the active order (least sure first): one minus
    the normalised entropy of its class probabilities when it has them, else its score."""
    if probabilities:
        values = [float(p) for p in probabilities.values() if p > 0]
        if len(probabilities) < 2:
            return 1.0
        entropy = -sum(p * math.log(p) for p in values)
        return max(0.0, 1.0 - entropy / math.log(len(probabilities)))
    return score


def task_certainties(*, project: Project, item_keys: list, by_item_id: bool
                     ) -> dict[int, float | None]:
    """task id -> the lowest certainty among its items' predictions, for the tasks holding
    these items (every item of those tasks counts, not only the ones named)."""
    lookup = {"pk__in": item_keys} if by_item_id else {"external_id__in": item_keys}
    task_ids = set(Item.objects.filter(project=project, task__isnull=False, **lookup)
                   .values_list("task_id", flat=True))
    return _lowest_certainties(project, task_ids)


def unscored_task_certainties(*, project: Project) -> dict[int, float | None]:
    """The same, for the project's tasks that have predictions but no routing score."""
    task_ids = set(Prediction.objects.filter(project=project, item__task__isnull=False,
                                             item__task__routing_score__isnull=True)
                   .values_list("item__task_id", flat=True))
    return _lowest_certainties(project, task_ids)


def _lowest_certainties(project: Project, task_ids: set[int]) -> dict[int, float | None]:
    lowest: dict[int, float | None] = {task_id: None for task_id in task_ids}
    for task_id, score, probabilities in (
            Prediction.objects.filter(project=project, item__task_id__in=task_ids)
            .values_list("item__task_id", "score", "probabilities")):
        value = certainty(score=score, probabilities=probabilities)
        current = lowest[task_id]
        lowest[task_id] = value if current is None else min(current, value)
    return lowest


def _agrees(project: Project, judge: Judge, prediction: Any, result: Any) -> bool:
    return judge(prediction, result) if result is not None else False


def spot_check_accuracy(*, project: Project, model_version: str, judge: Judge
                        ) -> tuple[int, int]:
    """(correct, judged) of a model version on its spot-check sample: predictions that
    were auto-accept candidates but went to the crowd, whose crowd result is final."""
    rows = Prediction.objects.filter(
        project=project, model_version=model_version, state=PredictionState.SPOT_CHECK,
        item__finalized_at__isnull=False).values_list("value", "item__result")
    judged = [_agrees(project, judge, value, result) for value, result in rows]
    return sum(judged), len(judged)


def gated_model_versions(*, project: Project) -> list[str]:
    return sorted(set(Prediction.objects.filter(
        project=project, state__in=[PredictionState.SPOT_CHECK, PredictionState.AUTO_ACCEPTED])
        .values_list("model_version", flat=True)))


def auto_accepted_items(*, project: Project, model_version: str
                        ) -> dict[int, list[tuple[int, int]]]:
    """task id -> [(prediction id, item id)] of a version's auto-accepted items."""
    by_task: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for pk, item_id, task_id in Prediction.objects.filter(
            project=project, model_version=model_version,
            state=PredictionState.AUTO_ACCEPTED).values_list("pk", "item_id", "item__task_id"):
        by_task[task_id].append((pk, item_id))
    return dict(by_task)


def result_sources(*, item_ids: list[int]) -> dict[int, str]:
    """Where each item's result came from (items without an entry: the crowd)."""
    states = dict(Prediction.objects.filter(item_id__in=item_ids)
                  .values_list("item_id", "state"))
    return {item_id: source_of(states.get(item_id)) for item_id in item_ids}


def source_of(state: str | None) -> str:
    if state == PredictionState.AUTO_ACCEPTED:
        return ResultSource.MODEL
    if state == PredictionState.SPOT_CHECK:
        return ResultSource.MODEL_CHECKED
    return ResultSource.CROWD


def _bucket(score: float) -> int:
    return min(int(score * CALIBRATION_BUCKETS), CALIBRATION_BUCKETS - 1)


def automation_report(*, project: Project, judge: Judge, crowd_cost_per_item_cents: float
                      ) -> dict:
    """Per model version: items predicted, agreement with the crowd on every item the
    crowd finalised, accuracy on the random spot-check sample with its Wilson lower bound
    (what gates auto-accept), confusion and calibration against the crowd, items
    auto-accepted and what the crowd would have cost for them."""
    categorical = task_types.is_categorical(project.task_type)
    versions: dict[str, dict] = {}
    rows = (Prediction.objects.filter(project=project)
            .values_list("model_version", "value", "score", "state", "item__result",
                         "item__finalized_at").order_by("model_version", "item_id"))
    for version, value, score, state, result, finalized_at in rows:
        entry = versions.setdefault(version, {
            "model_version": version, "items": 0, "compared": 0, "agreed": 0,
            "spot_checked": 0, "spot_check_correct": 0, "auto_accepted": 0,
            "returned": 0, "confusion": defaultdict(lambda: defaultdict(int)),
            "buckets": defaultdict(lambda: [0, 0])})
        entry["items"] += 1
        if state == PredictionState.AUTO_ACCEPTED:
            entry["auto_accepted"] += 1
            continue
        entry["returned"] += state == PredictionState.RETURNED
        if finalized_at is None or result is None:
            continue
        agreed = _agrees(project, judge, value, result)
        entry["compared"] += 1
        entry["agreed"] += agreed
        if state == PredictionState.SPOT_CHECK:
            entry["spot_checked"] += 1
            entry["spot_check_correct"] += agreed
        if categorical:
            entry["confusion"][str(task_types.comparable(project.task_type, value))][
                str(task_types.comparable(project.task_type, result))] += 1
        bucket = entry["buckets"][_bucket(score)]
        bucket[0] += 1
        bucket[1] += agreed
    report = []
    for entry in versions.values():
        seen, correct = entry["spot_checked"], entry["spot_check_correct"]
        report.append({
            "model_version": entry["model_version"],
            "items": entry["items"],
            "compared_with_crowd": entry["compared"],
            "agreement": (round(entry["agreed"] / entry["compared"], 4)
                          if entry["compared"] else None),
            "spot_checked": seen,
            "accuracy": round(correct / seen, 4) if seen else None,
            "accuracy_lower_bound": (round(wilson_lower_bound(correct, seen), 4)
                                     if seen else None),
            "confusion": ({predicted: dict(row) for predicted, row
                           in sorted(entry["confusion"].items())} if categorical else None),
            "calibration": [
                {"score_from": index / CALIBRATION_BUCKETS,
                 "score_to": (index + 1) / CALIBRATION_BUCKETS,
                 "items": total, "accuracy": round(agreed / total, 4)}
                for index, (total, agreed) in sorted(entry["buckets"].items())],
            "auto_accepted": entry["auto_accepted"],
            "returned_to_crowd": entry["returned"],
            "saved_cents": round(entry["auto_accepted"] * crowd_cost_per_item_cents),
        })
    return {"model_versions": report, "prelabel": prelabel_edits(project=project),
            "builtin_model_runs": list(BuiltinModelRun.objects.filter(project=project)
                                       .values("model_version", "trained_on",
                                               "holdout_accuracy", "predicted",
                                               "created_at")[:10])}


def prelabel_edits(*, project: Project) -> dict:
    """How often workers changed what they were shown: labels on predicted items equal to
    the current prediction were kept, others changed; gold answers equal to the decoy
    mean a worker kept a wrong pre-label."""
    labels = (Answer.objects.filter(item__project=project,
                                    assignment__status__in=LABELLED_STATUSES,
                                    item__prediction__isnull=False, is_gold=False)
              .values_list("value", "item__prediction__value"))
    kept = sum(1 for value, predicted in labels
               if task_types.comparable(project.task_type, value)
               == task_types.comparable(project.task_type, predicted))
    gold = (Answer.objects.filter(item__project=project, is_gold=True,
                                  assignment__status__in=LABELLED_STATUSES)
            .values_list("value", "item_id", "item__gold_answer"))
    decoys = [(value, decoy_value(project=project, item_id=item_id, gold_answer=expected))
              for value, item_id, expected in gold] if (
        settings_get(project=project).mode == AutomationMode.PRELABEL) else []
    decoys = [(value, decoy) for value, decoy in decoys if decoy is not None]
    return {"labels_on_predicted_items": len(labels), "kept": kept,
            "changed": len(labels) - kept,
            "change_rate": round((len(labels) - kept) / len(labels), 4) if labels else None,
            "gold_answered": len(decoys),
            "decoys_kept": sum(1 for value, decoy in decoys
                               if task_types.comparable(project.task_type, value)
                               == task_types.comparable(project.task_type, decoy))}


def training_set(*, project: Project) -> list[tuple[str, Any]]:
    """(text, result) of the project's crowd-finalised items: what the built-in model
    learns from (never its own auto-accepted output, never gold)."""
    rows = (Item.objects.filter(project=project, is_gold=False, finalized_at__isnull=False,
                                result__isnull=False, erased_at__isnull=True)
            .exclude(prediction__state=PredictionState.AUTO_ACCEPTED)
            .values_list("data", "result").order_by("pk"))
    return [(data["text"], result) for data, result in rows
            if isinstance(data, dict) and isinstance(data.get("text"), str)]


def items_to_predict(*, project: Project) -> list[tuple[int, str]]:
    rows = (Item.objects.filter(project=project, is_gold=False, finalized_at__isnull=True,
                                erased_at__isnull=True)
            .values_list("pk", "data").order_by("pk"))
    return [(pk, data["text"]) for pk, data in rows
            if isinstance(data, dict) and isinstance(data.get("text"), str)]


def prediction_endpoint_get(*, project: Project) -> PredictionEndpoint | None:
    return PredictionEndpoint.objects.filter(project=project).first()


def prediction_runs(*, endpoint: PredictionEndpoint, limit: int = 10) -> list[PredictionRun]:
    return list(PredictionRun.objects.filter(endpoint=endpoint)[:limit])


def items_awaiting_prediction(*, project: Project, after_id: int, limit: int
                              ) -> list[dict]:
    """The next ``limit`` items (by id, after ``after_id``) a model server should predict:
    not gold, not erased, still waiting for a result, without a prediction."""
    return list(Item.objects.filter(project=project, is_gold=False, erased_at__isnull=True,
                                    finalized_at__isnull=True, prediction__isnull=True,
                                    pk__gt=after_id)
                .order_by("pk").values("id", "external_id", "data")[:limit])
