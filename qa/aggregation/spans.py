"""Text spans: a per-character weighted majority, rebuilt into spans.

A character carries a label in the result when workers holding more than half of the
accuracy weight (all the item's workers count, including those who marked nothing) put a
span with that label over it. Each maximal run of such characters becomes one span, so
"Ada Lovelace", "Ada Lovelace" and "Ada" from three workers give "Ada Lovelace".
Spans of different labels may overlap in the result exactly as they may in an answer.

Confidence: over the characters anyone labelled, the weighted share of workers whose set
of labels on that character equals the result's, averaged; 1.0 when nobody labelled
anything. Characters nobody touched would only pad it.

Only offsets are compared, so ``item_data[item]["text"]`` gives the length when present
and the furthest span end stands in for it otherwise (characters past every span are
labelled by nobody and change nothing).
"""
import math

import numpy as np

from .base import (
    Annotation,
    ItemResult,
    WorkerQuality,
    annotations_by_item,
    clamp_unit,
    weights_for,
)


def _text_length(answers: dict[int, list[dict]], data: dict | None) -> int:
    furthest = max((span["end"] for spans in answers.values() for span in spans), default=0)
    text = data.get("text") if isinstance(data, dict) else None
    return max(furthest, len(text)) if isinstance(text, str) else furthest


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True."""
    edges = np.diff(np.concatenate(([False], mask, [False])).astype(np.int8))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


def aggregate_spans(label_config: dict, annotations: list[Annotation],
                    workers: dict[int, WorkerQuality],
                    item_data: dict[int, dict] | None) -> dict[int, ItemResult]:
    config_order = {label: index for index, label in enumerate(label_config["labels"])}
    results = {}
    for item_key, answers in annotations_by_item(annotations).items():
        length = _text_length(answers, (item_data or {}).get(item_key))
        weights = weights_for(workers, answers)
        worker_keys = list(answers)
        weight = np.array([weights[key] for key in worker_keys])
        # Only the labels someone used on this item: a config may list 200 labels and a
        # text run to 100,000 characters.
        labels = sorted({span["label"] for spans in answers.values() for span in spans},
                        key=config_order.__getitem__)
        label_position = {label: index for index, label in enumerate(labels)}
        # marked[w, l, c]: worker w put label l on character c
        marked = np.zeros((len(worker_keys), len(labels), length), dtype=bool)
        for row, key in enumerate(worker_keys):
            for span in answers[key]:
                marked[row, label_position[span["label"]], span["start"]:span["end"]] = True
        share = np.tensordot(weight, marked, axes=1) / weight.sum()
        result_marks = share > 0.5

        spans = sorted(((start, end, label_index)
                        for label_index in range(len(labels))
                        for start, end in _runs(result_marks[label_index])))
        touched = marked.any(axis=(0, 1))
        if touched.any():
            same = (marked[:, :, touched] == result_marks[None, :, touched]).all(axis=1)
            per_character = weight @ same / weight.sum()
            confidence = math.fsum(per_character.tolist()) / per_character.size
        else:
            confidence = 1.0
        results[item_key] = ItemResult(
            result=[{"start": start, "end": end, "label": labels[label_index]}
                    for start, end, label_index in spans],
            confidence=clamp_unit(confidence))
    return results
