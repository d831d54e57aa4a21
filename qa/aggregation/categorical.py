"""Categorical answers: single_choice, pairwise (one class per answer) and multi_choice
(one yes/no decision per choice).

single_choice / pairwise pick between two models by how much data there is:

- **Dawid–Skene** when at least ``DS_MIN_ITEMS`` items are aggregated together and at
  least ``DS_MIN_REPEAT_SHARE`` of the labels come from workers who labelled
  ``DS_MIN_WORKER_ITEMS`` or more of them. DS learns each worker's confusions from their
  other items; a worker seen on two or three items keeps confusions that are almost all
  prior, and when most labels are like that EM only adds the noise of an estimated class
  prior. Gold counts seed and keep anchoring each worker's confusions.
- **Naive Bayes with gold-estimated confusions** otherwise: each worker's confusion matrix
  is the posterior mean from their gold (per-class counts when given, else their smoothed
  accuracy as a one-coin matrix), uniform class prior. Without per-class gold this is an
  accuracy-weighted majority vote with log-odds weights, so a worker right less often than
  chance has their answer read as evidence against itself.

Either way the result is the most probable class and the confidence is its posterior
probability. Exact ties go to the class listed first in the label config.
"""
import math
from typing import Any

import numpy as np

from marketplace import task_types
from marketplace.enums import TaskType

from .base import (
    PRIOR_ACCURACY,
    PRIOR_STRENGTH,
    UNKNOWN_WORKER,
    Annotation,
    ItemResult,
    WorkerQuality,
    annotations_by_item,
    clamp_unit,
    smoothed_accuracy,
)
from .dawid_skene_em import dawid_skene, posteriors_given_confusions

DS_MIN_ITEMS = 50
DS_MIN_WORKER_ITEMS = 5
DS_MIN_REPEAT_SHARE = 0.5


def categorical_classes(task_type: str, label_config: dict) -> list[str]:
    if task_type == TaskType.PAIRWISE:
        return ["a", "b", "tie"] if label_config["allow_tie"] else ["a", "b"]
    return list(label_config["choices"])


def _class_of(task_type: str, value: Any) -> str:
    return task_types.comparable(task_type, value)


def one_coin(accuracy: float, n_classes: int) -> np.ndarray:
    """(true, given) matrix of a worker right with probability ``accuracy``, wrong answers
    spread evenly."""
    matrix = np.full((n_classes, n_classes), (1.0 - accuracy) / (n_classes - 1))
    np.fill_diagonal(matrix, accuracy)
    return matrix


def gold_counts(quality: WorkerQuality, classes: list[str]) -> np.ndarray:
    """(true, given) counts from graded gold.

    Per-class counts when the caller has them. Otherwise the worker's gold record says only
    how often they were right, so it is spread as a one-coin matrix over the true classes:
    the same evidence, with no claim about which classes they confuse. Labels no longer in
    the config (a choice renamed after grading) are dropped.
    """
    n_classes = len(classes)
    counts = np.zeros((n_classes, n_classes))
    if quality.confusion:
        position = {label: index for index, label in enumerate(classes)}
        for true_label, row in quality.confusion.items():
            for given_label, count in (row or {}).items():
                if true_label in position and given_label in position and count > 0:
                    counts[position[true_label], position[given_label]] += count
        return counts
    seen = max(0, quality.gold_seen)
    if seen:
        correct = min(max(0, quality.gold_correct), seen)
        counts += (seen - correct) / (n_classes * (n_classes - 1))
        np.fill_diagonal(counts, correct / n_classes)
    return counts


def naive_bayes_confusion(quality: WorkerQuality, classes: list[str]) -> np.ndarray:
    """(true, given) posterior-mean confusion of one worker from their gold alone.

    Both forms use the same prior (``PRIOR_STRENGTH`` pseudo-counts per row, a share
    ``PRIOR_ACCURACY`` of them on the diagonal), so a worker's per-class counts and their
    plain gold record give the same matrix when the counts are spread evenly. The gold
    record is not added on top of the per-class counts: they are the same answers.
    """
    n_classes = len(classes)
    if quality.confusion:
        counts = gold_counts(quality, classes) + PRIOR_STRENGTH * one_coin(PRIOR_ACCURACY,
                                                                            n_classes)
        return counts / counts.sum(axis=1, keepdims=True)
    return one_coin(smoothed_accuracy(quality), n_classes)


def enough_data_for_dawid_skene(worker_index: np.ndarray, n_items: int) -> bool:
    if n_items < DS_MIN_ITEMS:
        return False
    items_per_worker = np.bincount(worker_index)
    repeat = items_per_worker[worker_index] >= DS_MIN_WORKER_ITEMS
    return bool(repeat.mean() >= DS_MIN_REPEAT_SHARE)


def aggregate_single_class(task_type: str, label_config: dict, annotations: list[Annotation],
                           workers: dict[int, WorkerQuality]) -> dict[int, ItemResult]:
    classes = categorical_classes(task_type, label_config)
    position = {label: index for index, label in enumerate(classes)}
    grouped = annotations_by_item(annotations)
    item_keys = list(grouped)
    worker_keys = sorted({key for answers in grouped.values() for key in answers})
    worker_position = {key: index for index, key in enumerate(worker_keys)}

    triples = [(item_position, worker_position[worker_key],
                position[_class_of(task_type, value)])
               for item_position, item_key in enumerate(item_keys)
               for worker_key, value in grouped[item_key].items()]
    item_index, worker_index, label_index = (np.array(column, dtype=np.int64)
                                             for column in zip(*triples))
    gold = np.stack([gold_counts(workers.get(key, UNKNOWN_WORKER), classes)
                     for key in worker_keys])

    if enough_data_for_dawid_skene(worker_index, len(item_keys)):
        posteriors = dawid_skene(item_index, worker_index, label_index, len(item_keys),
                                 len(worker_keys), len(classes),
                                 initial_confusion=gold).posteriors
    else:
        confusions = np.stack([naive_bayes_confusion(workers.get(key, UNKNOWN_WORKER),
                                                     classes) for key in worker_keys])
        uniform = np.full(len(classes), 1.0 / len(classes))
        posteriors = posteriors_given_confusions(item_index, worker_index, label_index,
                                                 len(item_keys), confusions, uniform)
    winners = posteriors.argmax(axis=1)
    return {key: ItemResult(result=classes[winners[index]],
                            confidence=clamp_unit(posteriors[index, winners[index]]))
            for index, key in enumerate(item_keys)}


def per_choice_reliability(accuracy: float) -> float:
    """P(a worker gets one choice right) from their whole-answer gold accuracy.

    Gold grades a multi_choice answer as a whole, and a wrong answer usually still has most
    choices right. Assuming a wrong answer is a coin flip on each choice is the cautious
    end of that: 0.7 whole-answer accuracy -> 0.85 per choice, and never below 0.5, so no
    worker's vote is ever read backwards.
    """
    return 0.5 + 0.5 * accuracy


def aggregate_multi_choice(label_config: dict, annotations: list[Annotation],
                           workers: dict[int, WorkerQuality]) -> dict[int, ItemResult]:
    """Each choice is its own yes/no naive-Bayes vote (prior 1/2, log-odds weights from
    ``per_choice_reliability``); a choice is in the result when its posterior is above
    1/2, so an exact split leaves it out. Confidence: the mean over the choices anyone
    picked of the posterior of the decision taken (over all choices when nobody picked
    any) — choices nobody considered would only pad it."""
    choices = list(label_config["choices"])
    results = {}
    for item_key, answers in annotations_by_item(annotations).items():
        picked = np.array([[choice in value for choice in choices] for value in answers.values()])
        reliability = np.array([per_choice_reliability(
            smoothed_accuracy(workers.get(key, UNKNOWN_WORKER))) for key in answers])
        weight = np.log(reliability / (1.0 - reliability))[:, None]
        log_odds = np.where(picked, weight, -weight).sum(axis=0)
        posterior = 1.0 / (1.0 + np.exp(-log_odds))
        chosen = posterior > 0.5
        considered = picked.any(axis=0)
        if not considered.any():
            considered[:] = True
        decided = np.where(chosen, posterior, 1.0 - posterior)[considered]
        results[item_key] = ItemResult(
            result=[choice for choice, keep in zip(choices, chosen) if keep],
            confidence=clamp_unit(math.fsum(decided) / len(decided)))
    return results
