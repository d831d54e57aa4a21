"""Ratings: the accuracy-weighted median, because one worker's 1 on a 1..100 scale should
not drag the result the way it drags a mean."""
import math

from .base import (
    UNKNOWN_WORKER,
    Annotation,
    ItemResult,
    WorkerQuality,
    annotations_by_item,
    clamp_unit,
    smoothed_accuracy,
)

# A rating "agrees" with the result when within a tenth of the scale: exact on scales up
# to ten steps (1..5, 1..10), +-1 on 0..10, +-10 on 0..100. Wider scales are used with
# coarser intent, and a fixed +-1 would call 37 vs 38 of 100 a disagreement.
TOLERANCE_SHARE_OF_RANGE = 0.1
_EPSILON = 1e-9


def weighted_median(values: list[int], weights: list[float]) -> float:
    """The value where half the weight lies on each side; when the weight splits exactly
    in half between two values, their midpoint."""
    pairs = sorted(zip(values, weights))
    total = math.fsum(weights)
    cumulative = 0.0
    for index, (value, weight) in enumerate(pairs):
        cumulative += weight
        if cumulative >= total / 2 - _EPSILON * total:
            if abs(cumulative - total / 2) <= _EPSILON * total and index + 1 < len(pairs):
                return (value + pairs[index + 1][0]) / 2
            return float(value)
    return float(pairs[-1][0])


def aggregate_rating(label_config: dict, annotations: list[Annotation],
                     workers: dict[int, WorkerQuality]) -> dict[int, ItemResult]:
    """Result: the weighted median, halves rounded up, inside min..max. Confidence: the
    weighted share of ratings within ``TOLERANCE_SHARE_OF_RANGE`` of the scale of that
    result (1.0 for a single rating: nobody disagrees)."""
    low, high = label_config["min"], label_config["max"]
    tolerance = TOLERANCE_SHARE_OF_RANGE * (high - low)
    results = {}
    for item_key, answers in annotations_by_item(annotations).items():
        values = list(answers.values())
        weights = [smoothed_accuracy(workers.get(key, UNKNOWN_WORKER)) for key in answers]
        result = min(high, max(low, math.floor(weighted_median(values, weights) + 0.5)))
        agreeing = math.fsum(weight for value, weight in zip(values, weights)
                             if abs(value - result) <= tolerance + _EPSILON)
        results[item_key] = ItemResult(result=result,
                                       confidence=clamp_unit(agreeing / math.fsum(weights)))
    return results
