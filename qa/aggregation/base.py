"""The value types of the aggregation library and the worker-reliability prior they share.

Pure Python and numpy: no Django models, no database. Values reaching here were already
validated against the project's label config (``marketplace.task_types.answer_problems``).
"""
from dataclasses import dataclass
from typing import Any

# What we believe about a worker before any gold is graded: right 70% of the time, held
# with the weight of four gold answers. Four is few enough that ten graded gold items
# dominate it, and enough that one lucky (or unlucky) gold answer cannot make a worker
# look perfect (or adversarial): 1/1 correct gives 0.76, 0/1 gives 0.56.
PRIOR_ACCURACY = 0.7
PRIOR_STRENGTH = 4.0


@dataclass(frozen=True)
class Annotation:
    item_key: int        # the item
    worker_key: int      # the worker
    value: Any           # already validated against the label config


@dataclass(frozen=True)
class WorkerQuality:
    gold_seen: int = 0
    gold_correct: int = 0
    # optional per-worker confusion counts from graded gold, categorical types only:
    # {true_label: {given_label: count}}
    confusion: dict | None = None


@dataclass(frozen=True)
class ItemResult:
    result: Any          # same shape as an answer value of the task type
    confidence: float    # 0..1


UNKNOWN_WORKER = WorkerQuality()


def smoothed_accuracy(quality: WorkerQuality) -> float:
    """Posterior-mean gold accuracy under the Beta prior above; always inside (0, 1)."""
    seen = max(0, quality.gold_seen)
    correct = min(max(0, quality.gold_correct), seen)
    return (correct + PRIOR_ACCURACY * PRIOR_STRENGTH) / (seen + PRIOR_STRENGTH)


def clamp_unit(value: float) -> float:
    return min(1.0, max(0.0, float(value)))


def annotations_by_item(annotations: list[Annotation]) -> dict[int, dict[int, Any]]:
    """{item_key: {worker_key: value}} in first-seen item order.

    A worker's repeated answer to the same item (a resubmission) replaces the earlier one:
    counting both would give that worker two votes.
    """
    grouped: dict[int, dict[int, Any]] = {}
    for annotation in annotations:
        grouped.setdefault(annotation.item_key, {})[annotation.worker_key] = annotation.value
    return grouped


def weights_for(workers: dict[int, WorkerQuality], worker_keys) -> dict[int, float]:
    return {key: smoothed_accuracy(workers.get(key, UNKNOWN_WORKER)) for key in worker_keys}
