"""Is a worker's answer right, given the expected (gold) answer? One comparator per task
type, each with a tolerance that projects may tune (``GradingTolerances``).

Values reaching here were already validated against the label config
(``marketplace.task_types.answer_problems``), so comparators can trust their shape.
"""
from dataclasses import dataclass
from difflib import SequenceMatcher
from itertools import combinations
from typing import Any

from marketplace import task_types


@dataclass(frozen=True)
class GradingTolerances:
    multi_choice_min_jaccard: float = 1.0
    rating_max_distance: int = 0
    text_min_similarity: float = 0.9
    spans_min_f1: float = 0.8
    bbox_min_iou: float = 0.5
    ranking_min_kendall_tau: float = 0.8


DEFAULT_TOLERANCES = GradingTolerances()


def jaccard(a: set, b: set) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def normalised_text_similarity(a: str, b: str) -> float:
    """1 - normalised edit distance, after case and whitespace folding."""
    a, b = " ".join(a.lower().split()), " ".join(b.lower().split())
    if not a and not b:
        return 1.0
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


def span_f1(answer: list[dict], expected: list[dict]) -> float:
    """Character-level F1 over (offset, label) pairs."""
    def characters(spans):
        return {(position, span["label"]) for span in spans
                for position in range(span["start"], span["end"])}

    got, want = characters(answer), characters(expected)
    if not got and not want:
        return 1.0
    if not got or not want:
        return 0.0
    overlap = len(got & want)
    precision, recall = overlap / len(got), overlap / len(want)
    return 0.0 if overlap == 0 else 2 * precision * recall / (precision + recall)


def box_iou(a: dict, b: dict) -> float:
    x1, y1 = max(a["x"], b["x"]), max(a["y"], b["y"])
    x2 = min(a["x"] + a["w"], b["x"] + b["w"])
    y2 = min(a["y"] + a["h"], b["y"] + b["h"])
    intersection = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = a["w"] * a["h"] + b["w"] * b["h"] - intersection
    return intersection / union if union > 0 else 0.0


def boxes_match(answer: list[dict], expected: list[dict], min_iou: float) -> bool:
    """Every expected box is matched one-to-one by a same-label box with IoU >= min_iou,
    and there are no extra boxes. Greedy by best IoU, which is exact for the small box
    counts of a labeling task."""
    if len(answer) != len(expected):
        return False
    pairs = sorted(((box_iou(a, e), i, j) for i, a in enumerate(answer)
                    for j, e in enumerate(expected) if a["label"] == e["label"]),
                   reverse=True)
    used_answers, used_expected = set(), set()
    for iou, i, j in pairs:
        if iou < min_iou:
            break
        if i in used_answers or j in used_expected:
            continue
        used_answers.add(i)
        used_expected.add(j)
    return len(used_expected) == len(expected)


def kendall_tau(a: list[int], b: list[int]) -> float:
    if len(a) < 2:
        return 1.0
    position_a = {value: index for index, value in enumerate(a)}
    position_b = {value: index for index, value in enumerate(b)}
    concordant = discordant = 0
    for x, y in combinations(a, 2):
        same = (position_a[x] - position_a[y]) * (position_b[x] - position_b[y])
        if same > 0:
            concordant += 1
        elif same < 0:
            discordant += 1
    pairs = len(a) * (len(a) - 1) / 2
    return (concordant - discordant) / pairs


_COMPARATORS = {
    "equal": lambda answer, expected, tolerances: answer == expected,
    "jaccard": lambda answer, expected, tolerances:
        jaccard(set(answer), set(expected)) >= tolerances.multi_choice_min_jaccard,
    "distance": lambda answer, expected, tolerances:
        abs(answer - expected) <= tolerances.rating_max_distance,
    "text_similarity": lambda answer, expected, tolerances:
        normalised_text_similarity(answer, expected) >= tolerances.text_min_similarity,
    "span_f1": lambda answer, expected, tolerances:
        span_f1(answer, expected) >= tolerances.spans_min_f1,
    "box_iou": lambda answer, expected, tolerances:
        boxes_match(answer, expected, tolerances.bbox_min_iou),
    "kendall_tau": lambda answer, expected, tolerances:
        kendall_tau(answer, expected) >= tolerances.ranking_min_kendall_tau,
}


def is_correct(task_type: str, answer: Any, expected: Any,
               tolerances: GradingTolerances = DEFAULT_TOLERANCES) -> bool:
    """Judge an answer against gold with the task type's comparator (task_types.REGISTRY)."""
    compare = _COMPARATORS[task_types.rules_for(task_type).comparator]
    return compare(task_types.comparable(task_type, answer),
                   task_types.comparable(task_type, expected), tolerances)
