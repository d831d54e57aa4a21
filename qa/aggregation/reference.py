"""Free text and rankings: answers that cannot be averaged, so one worker's answer is
taken whole.

The chosen answer is the most reliable worker's (highest smoothed gold accuracy). Among
equally reliable workers — everyone, before any gold is graded — it is the answer most
similar to all the others (the medoid), then the lowest worker key, so the result never
depends on the order answers arrived in. Confidence is the accuracy-weighted mean
similarity of the other answers to the chosen one: text by
``normalised_text_similarity``, rankings by (Kendall tau + 1) / 2, both in 0..1. A single
answer has nobody to disagree with and gets 1.0; that is agreement, not proof, so a
caller raising overlap on low confidence should also look at how many answers there are.
"""
import math
from typing import Any, Callable

from marketplace.enums import TaskType
from qa.grading import kendall_tau, normalised_text_similarity

from .base import (
    Annotation,
    ItemResult,
    WorkerQuality,
    annotations_by_item,
    clamp_unit,
    weights_for,
)

_EPSILON = 1e-12


def ranking_similarity(a: list[int], b: list[int]) -> float:
    return (kendall_tau(a, b) + 1.0) / 2.0


SIMILARITY: dict[str, Callable[[Any, Any], float]] = {
    TaskType.TEXT: normalised_text_similarity,
    TaskType.RANKING: ranking_similarity,
}


def _choose_reference(answers: dict[int, Any], weights: dict[int, float],
                      similarity: Callable[[Any, Any], float]) -> tuple[int, float]:
    """(worker key of the chosen answer, confidence)."""
    cache: dict[tuple[int, int], float] = {}

    def similar(a: int, b: int) -> float:
        pair = (min(a, b), max(a, b))
        if pair not in cache:  # text similarity is quadratic in length: compute it once
            cache[pair] = similarity(answers[pair[0]], answers[pair[1]])
        return cache[pair]

    def agreement(chosen: int) -> float:
        others = [key for key in answers if key != chosen]
        if not others:
            return 1.0
        total = math.fsum(weights[key] for key in others)
        return math.fsum(weights[key] * similar(chosen, key) for key in others) / total

    best = max(weights.values())
    candidates = sorted(key for key, weight in weights.items() if weight >= best - _EPSILON)
    scored = [(agreement(key), -key) for key in candidates]
    score, negative_key = max(scored)
    return -negative_key, score


def aggregate_reference(task_type: str, annotations: list[Annotation],
                        workers: dict[int, WorkerQuality]) -> dict[int, ItemResult]:
    similarity = SIMILARITY[task_type]
    results = {}
    for item_key, answers in annotations_by_item(annotations).items():
        chosen, confidence = _choose_reference(answers, weights_for(workers, answers),
                                               similarity)
        results[item_key] = ItemResult(result=answers[chosen],
                                       confidence=clamp_unit(confidence))
    return results
