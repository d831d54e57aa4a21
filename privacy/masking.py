"""Typed placeholders for workers (``[EMAIL]``, ``[PHONE]``...) and the way back.

Masking happens where an item is serialized for a worker (task payload, assignment
detail), from the offsets the import stored in ``Item.pii_spans``; the stored data is
never changed. A spans answer is given in offsets of the masked text the worker saw;
``span_offsets_to_original`` maps it to the original text before it is stored, so grading,
aggregation, results and exports all speak the requester's offsets.
"""
import copy
from bisect import bisect_right


def placeholder(entity_type: str) -> str:
    return f"[{entity_type}]"


def _spans_by_path(pii_spans) -> dict[tuple, list[tuple[int, int, str]]]:
    by_path: dict[tuple, list[tuple[int, int, str]]] = {}
    for path, start, end, entity in pii_spans or ():
        by_path.setdefault(tuple(path), []).append((start, end, entity))
    for spans in by_path.values():
        spans.sort()
    return by_path


def mask_text(text: str, spans: list[tuple[int, int, str]]) -> str:
    parts, cursor = [], 0
    for start, end, entity in spans:
        parts.append(text[cursor:start])
        parts.append(placeholder(entity))
        cursor = end
    parts.append(text[cursor:])
    return "".join(parts)


def mask_data(data, pii_spans):
    """A copy of ``data`` with every detected value replaced by its placeholder."""
    by_path = _spans_by_path(pii_spans)
    if not by_path:
        return data
    masked = copy.deepcopy(data)
    for path, spans in by_path.items():
        if not path:
            return mask_text(masked, spans) if isinstance(masked, str) else masked
        parent = masked
        try:
            for key in path[:-1]:
                parent = parent[key]
            value = parent[path[-1]]
        except (KeyError, IndexError, TypeError):
            continue  # data changed shape since the scan (erased): nothing to mask
        if isinstance(value, str):
            parent[path[-1]] = mask_text(value, spans)
    return masked


def _segments(spans: list[tuple[int, int, str]]):
    """(masked start, masked end, original start, original end) of each placeholder."""
    segments, shift = [], 0
    for start, end, entity in spans:
        masked_start = start + shift
        masked_end = masked_start + len(placeholder(entity))
        segments.append((masked_start, masked_end, start, end))
        shift += len(placeholder(entity)) - (end - start)
    return segments


def masked_length(text: str, spans: list[tuple[int, int, str]]) -> int:
    return len(text) + sum(len(placeholder(entity)) - (end - start)
                           for start, end, entity in spans)


def offset_to_original(offset: int, spans: list[tuple[int, int, str]], *,
                       is_end: bool) -> int:
    """Map an offset of the masked text to the original text. An offset inside a
    placeholder covers the whole hidden value: a start moves to its beginning, an end
    to its end (a worker who marked "[EMAIL]" marked the address)."""
    segments = _segments(spans)
    index = bisect_right([segment[0] for segment in segments], offset) - 1
    if index < 0:
        return offset
    masked_start, masked_end, original_start, original_end = segments[index]
    if offset >= masked_end:
        return original_end + (offset - masked_end)
    if offset == masked_start:
        return original_start
    return original_end if is_end else original_start


def span_offsets_to_original(value, text: str, pii_spans, *, path=("text",)):
    """A spans answer ``[{start, end, label}]`` in masked offsets -> original offsets.
    Anything that is not a well-formed span inside the masked text is passed through
    unchanged, for the submit validation to refuse with its usual message."""
    spans = _spans_by_path(pii_spans).get(tuple(path))
    if not spans or not isinstance(value, list) or not isinstance(text, str):
        return value
    limit = masked_length(text, spans)
    mapped = []
    for span in value:
        start, end = (span.get("start"), span.get("end")) if isinstance(span, dict) else (
            None, None)
        if (isinstance(start, int) and isinstance(end, int) and not isinstance(start, bool)
                and not isinstance(end, bool) and 0 <= start <= end <= limit):
            span = {**span, "start": offset_to_original(start, spans, is_end=False),
                    "end": offset_to_original(end, spans, is_end=True)}
        mapped.append(span)
    return mapped


def offset_to_masked(offset: int, spans: list[tuple[int, int, str]]) -> int:
    """The inverse, for showing a worker stored (original) offsets on the masked text."""
    shift = 0
    for start, end, entity in spans:
        if offset <= start:
            break
        if offset < end:
            return start + shift  # inside a hidden value: its placeholder
        shift += len(placeholder(entity)) - (end - start)
    return offset + shift


def span_offsets_to_masked(value, pii_spans, *, path=("text",)):
    """Stored spans (original offsets) as the worker saw them, for gold feedback."""
    spans = _spans_by_path(pii_spans).get(tuple(path))
    if not spans or not isinstance(value, list):
        return value
    return [{**span, "start": offset_to_masked(span["start"], spans),
             "end": offset_to_masked(span["end"], spans)}
            if isinstance(span, dict) and isinstance(span.get("start"), int)
            and isinstance(span.get("end"), int) else span for span in value]
