"""The one place that knows each task type: its label_config, item data and answer shape,
and (REGISTRY, at the end) how it is graded, aggregated and measured.

Project validation, gold import, submit validation, grading and aggregation all ask here.
Each validator returns a list of human-readable problems; an empty list means valid.
"""
from dataclasses import dataclass
from typing import Any

from .enums import TaskType

MAX_CHOICES = 200
MAX_TEXT_LENGTH = 100_000


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _string_list_problems(config: dict, key: str, *, minimum: int) -> list[str]:
    values = config.get(key)
    if not isinstance(values, list):
        return [f"'{key}' must be a list of strings."]
    if len(values) < minimum:
        return [f"'{key}' needs at least {minimum} entries."]
    if len(values) > MAX_CHOICES:
        return [f"'{key}' may have at most {MAX_CHOICES} entries."]
    if not all(isinstance(v, str) and v.strip() for v in values):
        return [f"Every entry of '{key}' must be a non-empty string."]
    if len(set(values)) != len(values):
        return [f"'{key}' has duplicate entries."]
    return []


def _unknown_keys(config: dict, allowed: set[str]) -> list[str]:
    extra = sorted(set(config) - allowed)
    return [f"Unknown key(s) for this task type: {', '.join(extra)}."] if extra else []


def label_config_problems(task_type: str, config: Any) -> list[str]:
    if not isinstance(config, dict):
        return ["label_config must be an object."]
    if task_type in (TaskType.SINGLE_CHOICE, TaskType.MULTI_CHOICE):
        return _unknown_keys(config, {"choices"}) + _string_list_problems(
            config, "choices", minimum=2)
    if task_type in (TaskType.SPANS, TaskType.BBOX):
        return _unknown_keys(config, {"labels"}) + _string_list_problems(
            config, "labels", minimum=1)
    if task_type == TaskType.RATING:
        low, high = config.get("min"), config.get("max")
        if not _is_int(low) or not _is_int(high):
            return ["'min' and 'max' must be integers."]
        if low >= high:
            return ["'min' must be less than 'max'."]
        return _unknown_keys(config, {"min", "max"})
    if task_type == TaskType.TEXT:
        max_length = config.get("max_length")
        if not _is_int(max_length) or not 1 <= max_length <= MAX_TEXT_LENGTH:
            return [f"'max_length' must be an integer from 1 to {MAX_TEXT_LENGTH}."]
        return _unknown_keys(config, {"max_length"})
    if task_type == TaskType.PAIRWISE:
        if not isinstance(config.get("allow_tie"), bool):
            return ["'allow_tie' must be true or false."]
        return _unknown_keys(config, {"allow_tie"})
    if task_type == TaskType.RANKING:
        size = config.get("size")
        if not _is_int(size) or not 2 <= size <= 100:
            return ["'size' must be an integer from 2 to 100."]
        return _unknown_keys(config, {"size"})
    return [f"Unknown task type {task_type!r}."]


def item_data_problems(task_type: str, data: Any, label_config: dict | None = None
                       ) -> list[str]:
    if not isinstance(data, dict) or not data:
        return ["'data' must be a non-empty object."]
    if task_type == TaskType.SPANS and not isinstance(data.get("text"), str):
        return ["Span items need a string 'data.text' for answer offsets."]
    if task_type == TaskType.RANKING and label_config is not None:
        # An answer is a permutation of 0..size-1: it must index exactly these options.
        size = label_config.get("size")
        options = data.get("options")
        if not isinstance(options, list) or len(options) != size:
            return [f"Ranking items need 'data.options': a list of exactly {size} entries "
                    "(the project's label_config size)."]
    return []


def _spans_problems(labels: list[str], value: Any, data: dict) -> list[str]:
    if not isinstance(value, list):
        return ["Must be a list of {start, end, label}."]
    text_length = len(data.get("text", "")) if isinstance(data, dict) else 0
    for index, span in enumerate(value):
        if not isinstance(span, dict) or set(span) != {"start", "end", "label"}:
            return [f"Span {index} must be exactly {{start, end, label}}."]
        start, end = span["start"], span["end"]
        if not _is_int(start) or not _is_int(end) or not 0 <= start < end <= text_length:
            return [f"Span {index} needs integer offsets 0 <= start < end <= {text_length}."]
        if span["label"] not in labels:
            return [f"Span {index} has unknown label {span['label']!r}."]
    return []


def _bbox_problems(labels: list[str], value: Any) -> list[str]:
    if not isinstance(value, list):
        return ["Must be a list of {x, y, w, h, label}."]
    for index, box in enumerate(value):
        if not isinstance(box, dict) or set(box) != {"x", "y", "w", "h", "label"}:
            return [f"Box {index} must be exactly {{x, y, w, h, label}}."]
        x, y, w, h = box["x"], box["y"], box["w"], box["h"]
        if not all(_is_number(v) for v in (x, y, w, h)):
            return [f"Box {index} coordinates must be numbers."]
        if not (0 <= x <= 1 and 0 <= y <= 1 and 0 < w and 0 < h
                and x + w <= 1 + 1e-9 and y + h <= 1 + 1e-9):
            return [f"Box {index} must lie inside the image (0..1) with positive size."]
        if box["label"] not in labels:
            return [f"Box {index} has unknown label {box['label']!r}."]
    return []


def answer_problems(task_type: str, config: dict, value: Any, data: dict) -> list[str]:
    """Is ``value`` a valid answer to an item with ``data`` under this label config?"""
    if task_type == TaskType.SINGLE_CHOICE:
        return [] if isinstance(value, str) and value in config["choices"] else [
            f"Must be one of: {', '.join(config['choices'])}."]
    if task_type == TaskType.MULTI_CHOICE:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return ["Must be a list of choices."]
        if len(set(value)) != len(value):
            return ["Choices must be distinct."]
        unknown = [v for v in value if v not in config["choices"]]
        return [f"Unknown choice(s): {', '.join(unknown)}."] if unknown else []
    if task_type == TaskType.RATING:
        if not _is_int(value) or not config["min"] <= value <= config["max"]:
            return [f"Must be an integer from {config['min']} to {config['max']}."]
        return []
    if task_type == TaskType.TEXT:
        if not isinstance(value, str):
            return ["Must be a string."]
        if len(value) > config["max_length"]:
            return [f"At most {config['max_length']} characters."]
        return []
    if task_type == TaskType.SPANS:
        return _spans_problems(config["labels"], value, data)
    if task_type == TaskType.BBOX:
        return _bbox_problems(config["labels"], value)
    if task_type == TaskType.PAIRWISE:
        allowed = ["a", "b", "tie"] if config["allow_tie"] else ["a", "b"]
        choice, rationale = value, None
        if isinstance(value, dict):
            if not set(value) <= {"choice", "rationale"} or "choice" not in value:
                return ["Must be \"a\", \"b\"" + (", \"tie\"" if config["allow_tie"] else "")
                        + " or {choice, rationale}."]
            choice, rationale = value["choice"], value.get("rationale")
        if choice not in allowed:
            return [f"Must be one of: {', '.join(allowed)}."]
        if rationale is not None and not isinstance(rationale, str):
            return ["'rationale' must be a string."]
        return []
    if task_type == TaskType.RANKING:
        size = config["size"]
        if (not isinstance(value, list) or not all(_is_int(v) for v in value)
                or sorted(value) != list(range(size))):
            return [f"Must be a permutation of 0..{size - 1}."]
        return []
    return [f"Unknown task type {task_type!r}."]


# --- The registry: what the rest of the system looks up per task type ----------------------

@dataclass(frozen=True)
class TaskTypeRules:
    # One class per answer: Dawid–Skene, confusion matrices and a project-wide refinement
    # pass apply.
    categorical: bool
    # Which qa.aggregation routine turns labels into a result.
    aggregator: str
    # Which qa.grading comparator judges an answer against gold.
    comparator: str
    # Krippendorff level of measurement for agreement, or None when not measured.
    agreement_level: str | None
    # Whether the aggregator reads the items' data (span offsets index data.text); the
    # others need only the labels, and the aggregation job then leaves the data unread.
    aggregation_reads_data: bool = False


REGISTRY: dict[str, TaskTypeRules] = {
    TaskType.SINGLE_CHOICE: TaskTypeRules(True, "single_class", "equal", "nominal"),
    TaskType.PAIRWISE: TaskTypeRules(True, "single_class", "equal", "nominal"),
    TaskType.MULTI_CHOICE: TaskTypeRules(False, "multi_choice", "jaccard", "nominal"),
    TaskType.RATING: TaskTypeRules(False, "rating", "distance", "interval"),
    TaskType.TEXT: TaskTypeRules(False, "reference", "text_similarity", None),
    TaskType.SPANS: TaskTypeRules(False, "spans", "span_f1", None,
                                  aggregation_reads_data=True),
    TaskType.BBOX: TaskTypeRules(False, "bbox", "box_iou", None),
    TaskType.RANKING: TaskTypeRules(False, "reference", "kendall_tau", None),
}


def rules_for(task_type: str) -> TaskTypeRules:
    try:
        return REGISTRY[task_type]
    except KeyError:
        raise ValueError(f"unknown task type {task_type!r}") from None


def is_categorical(task_type: str) -> bool:
    return rules_for(task_type).categorical


def comparable(task_type: str, value: Any) -> Any:
    """The part of an answer that is graded and aggregated: a pairwise answer may carry
    the worker's own rationale ({choice, rationale}); its result is the choice alone."""
    if task_type == TaskType.PAIRWISE and isinstance(value, dict):
        return value["choice"]
    return value


def agreement_value(task_type: str, value: Any) -> Any:
    """A hashable form of an answer for Krippendorff's alpha (None: not measured)."""
    if rules_for(task_type).agreement_level is None:
        return None
    if task_type == TaskType.MULTI_CHOICE:
        return "|".join(sorted(value))
    return comparable(task_type, value)
