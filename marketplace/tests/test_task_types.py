"""marketplace.task_types: label configs, item data and answers for the eight task types.

Pure functions: no database. Every validator returns a list of problems, [] when valid.
"""
import pytest

from marketplace.enums import TaskType
from marketplace.task_types import (
    MAX_CHOICES,
    MAX_TEXT_LENGTH,
    answer_problems,
    item_data_problems,
    label_config_problems,
)

# One valid label_config per task type; answers below are checked against these.
CONFIGS = {
    "single_choice": {"choices": ["positive", "negative", "neutral"]},
    "multi_choice": {"choices": ["red", "green", "blue"]},
    "rating": {"min": 1, "max": 5},
    "text": {"max_length": 10},
    "spans": {"labels": ["PER", "ORG"]},
    "bbox": {"labels": ["cat", "dog"]},
    "pairwise": {"allow_tie": False},
    "ranking": {"size": 3},
}
SPAN_DATA = {"text": "Ada works at IBM"}  # 16 characters
PLAIN_DATA = {"text": "hello"}


def test_every_task_type_has_a_config_under_test():
    assert sorted(CONFIGS) == sorted(TaskType.values)


# --- label_config_problems: valid ------------------------------------------------------


@pytest.mark.parametrize("task_type, config", [
    ("single_choice", {"choices": ["yes", "no"]}),
    ("single_choice", {"choices": [f"c{i}" for i in range(MAX_CHOICES)]}),
    ("multi_choice", {"choices": ["a", "b", "c"]}),
    ("rating", {"min": 1, "max": 5}),
    ("rating", {"min": -3, "max": 3}),
    ("rating", {"min": 0, "max": 1}),
    ("text", {"max_length": 1}),
    ("text", {"max_length": MAX_TEXT_LENGTH}),
    ("spans", {"labels": ["PER"]}),
    ("spans", {"labels": ["PER", "ORG", "LOC"]}),
    ("bbox", {"labels": ["car"]}),
    ("pairwise", {"allow_tie": True}),
    ("pairwise", {"allow_tie": False}),
    ("ranking", {"size": 2}),
    ("ranking", {"size": 100}),
])
def test_accepts_valid_label_config(task_type, config):
    assert label_config_problems(task_type, config) == []


@pytest.mark.parametrize("task_type", TaskType.values)
def test_accepts_the_reference_config_of_every_task_type(task_type):
    assert label_config_problems(task_type, CONFIGS[task_type]) == []


# --- label_config_problems: invalid ----------------------------------------------------


@pytest.mark.parametrize("task_type", TaskType.values)
@pytest.mark.parametrize("config", [None, [], ["a", "b"], "choices", 3, True])
def test_rejects_label_config_that_is_not_an_object(task_type, config):
    assert label_config_problems(task_type, config) == ["label_config must be an object."]


@pytest.mark.parametrize("config", [{"choices": ["a", "b"]}, {}])
def test_rejects_unknown_task_type(config):
    assert label_config_problems("polygon", config) == ["Unknown task type 'polygon'."]


@pytest.mark.parametrize("task_type", ["single_choice", "multi_choice"])
@pytest.mark.parametrize("config, problems", [
    ({}, ["'choices' must be a list of strings."]),
    ({"choices": None}, ["'choices' must be a list of strings."]),
    ({"choices": "a,b"}, ["'choices' must be a list of strings."]),
    ({"choices": {"a": 1, "b": 2}}, ["'choices' must be a list of strings."]),
    ({"choices": []}, ["'choices' needs at least 2 entries."]),
    ({"choices": ["only"]}, ["'choices' needs at least 2 entries."]),
    ({"choices": [f"c{i}" for i in range(MAX_CHOICES + 1)]},
     [f"'choices' may have at most {MAX_CHOICES} entries."]),
    ({"choices": ["a", 2]}, ["Every entry of 'choices' must be a non-empty string."]),
    ({"choices": ["a", None]}, ["Every entry of 'choices' must be a non-empty string."]),
    ({"choices": ["a", ["b"]]}, ["Every entry of 'choices' must be a non-empty string."]),
    ({"choices": ["a", ""]}, ["Every entry of 'choices' must be a non-empty string."]),
    ({"choices": ["a", "   "]}, ["Every entry of 'choices' must be a non-empty string."]),
    ({"choices": ["a", "b", "a"]}, ["'choices' has duplicate entries."]),
    ({"choices": ["a", "b"], "labels": ["x"]},
     ["Unknown key(s) for this task type: labels."]),
    ({"choices": ["a", "b"], "z": 1, "multiple": True},
     ["Unknown key(s) for this task type: multiple, z."]),
    ({"labels": ["a", "b"]}, ["Unknown key(s) for this task type: labels.",
                              "'choices' must be a list of strings."]),
    ({"choices": ["a"], "extra": 1}, ["Unknown key(s) for this task type: extra.",
                                      "'choices' needs at least 2 entries."]),
])
def test_rejects_invalid_choice_config(task_type, config, problems):
    assert label_config_problems(task_type, config) == problems


@pytest.mark.parametrize("task_type", ["spans", "bbox"])
@pytest.mark.parametrize("config, problems", [
    ({}, ["'labels' must be a list of strings."]),
    ({"labels": "PER"}, ["'labels' must be a list of strings."]),
    ({"labels": None}, ["'labels' must be a list of strings."]),
    ({"labels": []}, ["'labels' needs at least 1 entries."]),
    ({"labels": [f"l{i}" for i in range(MAX_CHOICES + 1)]},
     [f"'labels' may have at most {MAX_CHOICES} entries."]),
    ({"labels": ["PER", 1]}, ["Every entry of 'labels' must be a non-empty string."]),
    ({"labels": [""]}, ["Every entry of 'labels' must be a non-empty string."]),
    ({"labels": ["PER", "PER"]}, ["'labels' has duplicate entries."]),
    ({"labels": ["PER"], "colors": ["red"]},
     ["Unknown key(s) for this task type: colors."]),
    ({"choices": ["PER", "ORG"]}, ["Unknown key(s) for this task type: choices.",
                                   "'labels' must be a list of strings."]),
])
def test_rejects_invalid_label_list_config(task_type, config, problems):
    assert label_config_problems(task_type, config) == problems


@pytest.mark.parametrize("config, problems", [
    ({}, ["'min' and 'max' must be integers."]),
    ({"min": 1}, ["'min' and 'max' must be integers."]),
    ({"max": 5}, ["'min' and 'max' must be integers."]),
    ({"min": "1", "max": "5"}, ["'min' and 'max' must be integers."]),
    ({"min": 1.0, "max": 5}, ["'min' and 'max' must be integers."]),
    ({"min": 1, "max": 5.5}, ["'min' and 'max' must be integers."]),
    ({"min": None, "max": 5}, ["'min' and 'max' must be integers."]),
    ({"min": False, "max": 5}, ["'min' and 'max' must be integers."]),
    ({"min": 0, "max": True}, ["'min' and 'max' must be integers."]),
    ({"min": 5, "max": 5}, ["'min' must be less than 'max'."]),
    ({"min": 5, "max": 1}, ["'min' must be less than 'max'."]),
    ({"min": 1, "max": 5, "step": 1}, ["Unknown key(s) for this task type: step."]),
])
def test_rejects_invalid_rating_config(config, problems):
    assert label_config_problems("rating", config) == problems


@pytest.mark.parametrize("config, problems", [
    ({}, [f"'max_length' must be an integer from 1 to {MAX_TEXT_LENGTH}."]),
    ({"max_length": None}, [f"'max_length' must be an integer from 1 to {MAX_TEXT_LENGTH}."]),
    ({"max_length": 0}, [f"'max_length' must be an integer from 1 to {MAX_TEXT_LENGTH}."]),
    ({"max_length": -5}, [f"'max_length' must be an integer from 1 to {MAX_TEXT_LENGTH}."]),
    ({"max_length": MAX_TEXT_LENGTH + 1},
     [f"'max_length' must be an integer from 1 to {MAX_TEXT_LENGTH}."]),
    ({"max_length": "100"}, [f"'max_length' must be an integer from 1 to {MAX_TEXT_LENGTH}."]),
    ({"max_length": 10.0}, [f"'max_length' must be an integer from 1 to {MAX_TEXT_LENGTH}."]),
    ({"max_length": True}, [f"'max_length' must be an integer from 1 to {MAX_TEXT_LENGTH}."]),
    ({"max_length": 10, "min_length": 1},
     ["Unknown key(s) for this task type: min_length."]),
])
def test_rejects_invalid_text_config(config, problems):
    assert label_config_problems("text", config) == problems


@pytest.mark.parametrize("config, problems", [
    ({}, ["'allow_tie' must be true or false."]),
    ({"allow_tie": None}, ["'allow_tie' must be true or false."]),
    ({"allow_tie": 1}, ["'allow_tie' must be true or false."]),
    ({"allow_tie": 0}, ["'allow_tie' must be true or false."]),
    ({"allow_tie": "true"}, ["'allow_tie' must be true or false."]),
    ({"allow_tie": True, "left": "A"}, ["Unknown key(s) for this task type: left."]),
])
def test_rejects_invalid_pairwise_config(config, problems):
    assert label_config_problems("pairwise", config) == problems


@pytest.mark.parametrize("config, problems", [
    ({}, ["'size' must be an integer from 2 to 100."]),
    ({"size": None}, ["'size' must be an integer from 2 to 100."]),
    ({"size": 1}, ["'size' must be an integer from 2 to 100."]),
    ({"size": 0}, ["'size' must be an integer from 2 to 100."]),
    ({"size": 101}, ["'size' must be an integer from 2 to 100."]),
    ({"size": "3"}, ["'size' must be an integer from 2 to 100."]),
    ({"size": 3.0}, ["'size' must be an integer from 2 to 100."]),
    ({"size": True}, ["'size' must be an integer from 2 to 100."]),
    ({"size": 3, "ties": False}, ["Unknown key(s) for this task type: ties."]),
])
def test_rejects_invalid_ranking_config(config, problems):
    assert label_config_problems("ranking", config) == problems


# --- item_data_problems ----------------------------------------------------------------


@pytest.mark.parametrize("task_type", TaskType.values)
@pytest.mark.parametrize("data", [None, {}, [], ["text"], "hello", 1, True])
def test_rejects_item_data_that_is_not_a_non_empty_object(task_type, data):
    assert item_data_problems(task_type, data) == ["'data' must be a non-empty object."]


@pytest.mark.parametrize("task_type", [t for t in TaskType.values if t != "spans"])
@pytest.mark.parametrize("data", [
    {"text": "hello"},
    {"image_url": "https://img.example/1.png"},
    {"a": "left answer", "b": "right answer"},
    {"candidates": ["x", "y", "z"], "query": "q"},
])
def test_accepts_any_non_empty_object_as_item_data(task_type, data):
    assert item_data_problems(task_type, data) == []


@pytest.mark.parametrize("data", [{"text": "Ada works at IBM"}, {"text": ""},
                                  {"text": "x", "source": "news"}])
def test_accepts_span_item_data_with_string_text(data):
    assert item_data_problems("spans", data) == []


@pytest.mark.parametrize("data", [{"body": "Ada"}, {"text": None}, {"text": 42},
                                  {"text": ["Ada"]}, {"text": {"value": "Ada"}}])
def test_rejects_span_item_data_without_string_text(data):
    assert item_data_problems("spans", data) == [
        "Span items need a string 'data.text' for answer offsets."]


# --- answer_problems: valid ------------------------------------------------------------


@pytest.mark.parametrize("task_type, value, data", [
    ("single_choice", "positive", PLAIN_DATA),
    ("single_choice", "neutral", PLAIN_DATA),
    ("multi_choice", ["red"], PLAIN_DATA),
    ("multi_choice", ["blue", "red"], PLAIN_DATA),
    ("multi_choice", ["red", "green", "blue"], PLAIN_DATA),
    ("multi_choice", [], PLAIN_DATA),
    ("rating", 1, PLAIN_DATA),
    ("rating", 3, PLAIN_DATA),
    ("rating", 5, PLAIN_DATA),
    ("text", "", PLAIN_DATA),
    ("text", "short", PLAIN_DATA),
    ("text", "x" * 10, PLAIN_DATA),
    ("spans", [], SPAN_DATA),
    ("spans", [{"start": 0, "end": 3, "label": "PER"}], SPAN_DATA),
    ("spans", [{"start": 0, "end": 3, "label": "PER"},
               {"start": 13, "end": 16, "label": "ORG"}], SPAN_DATA),
    ("spans", [{"start": 0, "end": 16, "label": "ORG"}], SPAN_DATA),
    ("bbox", [], {"image_url": "https://img.example/1.png"}),
    ("bbox", [{"x": 0.1, "y": 0.2, "w": 0.3, "h": 0.4, "label": "cat"}], {"image": "i"}),
    ("bbox", [{"x": 0, "y": 0, "w": 1, "h": 1, "label": "dog"}], {"image": "i"}),
    ("bbox", [{"x": 0.7, "y": 0.9, "w": 0.3, "h": 0.1, "label": "dog"},
              {"x": 0.5, "y": 0.5, "w": 0.25, "h": 0.25, "label": "cat"}], {"image": "i"}),
    ("pairwise", "a", {"a": "x", "b": "y"}),
    ("pairwise", "b", {"a": "x", "b": "y"}),
    ("pairwise", {"choice": "a"}, {"a": "x", "b": "y"}),
    ("pairwise", {"choice": "b", "rationale": "b is clearer"}, {"a": "x", "b": "y"}),
    ("pairwise", {"choice": "a", "rationale": None}, {"a": "x", "b": "y"}),
    ("ranking", [0, 1, 2], {"candidates": ["x", "y", "z"]}),
    ("ranking", [2, 0, 1], {"candidates": ["x", "y", "z"]}),
])
def test_accepts_valid_answer(task_type, value, data):
    assert answer_problems(task_type, CONFIGS[task_type], value, data) == []


@pytest.mark.parametrize("value", ["a", "b", "tie", {"choice": "tie"},
                                   {"choice": "tie", "rationale": "equally good"}])
def test_pairwise_accepts_tie_when_allowed(value):
    assert answer_problems("pairwise", {"allow_tie": True}, value, {"a": "x", "b": "y"}) == []


def test_spans_accepts_overlapping_spans_with_different_labels():
    # Nested entities ("IBM" inside an organisation mention) are legitimate annotations;
    # nothing in the contract forbids overlap, so the validator does not either.
    value = [{"start": 0, "end": 16, "label": "ORG"}, {"start": 13, "end": 16, "label": "PER"}]
    assert answer_problems("spans", CONFIGS["spans"], value, SPAN_DATA) == []


def test_rating_accepts_negative_ranges():
    assert answer_problems("rating", {"min": -2, "max": 2}, -2, PLAIN_DATA) == []


# --- answer_problems: invalid ----------------------------------------------------------


@pytest.mark.parametrize("value", ["happy", "Positive", "", None, 1, ["positive"],
                                   {"choice": "positive"}])
def test_single_choice_rejects_anything_but_one_choice(value):
    assert answer_problems("single_choice", CONFIGS["single_choice"], value, PLAIN_DATA) == [
        "Must be one of: positive, negative, neutral."]


@pytest.mark.parametrize("value, problems", [
    ("red", ["Must be a list of choices."]),
    (None, ["Must be a list of choices."]),
    ({"red": True}, ["Must be a list of choices."]),
    (["red", 1], ["Must be a list of choices."]),
    (["red", None], ["Must be a list of choices."]),
    (["red", "red"], ["Choices must be distinct."]),
    (["red", "green", "red"], ["Choices must be distinct."]),
    (["purple"], ["Unknown choice(s): purple."]),
    (["red", "purple", "Blue"], ["Unknown choice(s): purple, Blue."]),
])
def test_multi_choice_rejects_invalid_answer(value, problems):
    assert answer_problems("multi_choice", CONFIGS["multi_choice"], value, PLAIN_DATA) == problems


@pytest.mark.parametrize("value", [0, 6, -1, 100, 3.0, 2.5, "3", None, True, False, [3]])
def test_rating_rejects_value_outside_range_or_not_an_integer(value):
    assert answer_problems("rating", CONFIGS["rating"], value, PLAIN_DATA) == [
        "Must be an integer from 1 to 5."]


@pytest.mark.parametrize("value", [None, 5, ["text"], {"text": "x"}, True])
def test_text_rejects_non_string(value):
    assert answer_problems("text", CONFIGS["text"], value, PLAIN_DATA) == ["Must be a string."]


def test_text_rejects_answer_longer_than_max_length():
    assert answer_problems("text", CONFIGS["text"], "x" * 11, PLAIN_DATA) == [
        "At most 10 characters."]


@pytest.mark.parametrize("value, problems", [
    (None, ["Must be a list of {start, end, label}."]),
    ({"start": 0, "end": 3, "label": "PER"}, ["Must be a list of {start, end, label}."]),
    ("Ada", ["Must be a list of {start, end, label}."]),
    ([[0, 3, "PER"]], ["Span 0 must be exactly {start, end, label}."]),
    ([{"start": 0, "end": 3}], ["Span 0 must be exactly {start, end, label}."]),
    ([{"start": 0, "end": 3, "label": "PER", "text": "Ada"}],
     ["Span 0 must be exactly {start, end, label}."]),
    # offsets outside data.text (16 characters)
    ([{"start": 13, "end": 17, "label": "ORG"}],
     ["Span 0 needs integer offsets 0 <= start < end <= 16."]),
    ([{"start": 16, "end": 20, "label": "ORG"}],
     ["Span 0 needs integer offsets 0 <= start < end <= 16."]),
    ([{"start": -1, "end": 3, "label": "PER"}],
     ["Span 0 needs integer offsets 0 <= start < end <= 16."]),
    # empty and reversed spans
    ([{"start": 3, "end": 3, "label": "PER"}],
     ["Span 0 needs integer offsets 0 <= start < end <= 16."]),
    ([{"start": 5, "end": 2, "label": "PER"}],
     ["Span 0 needs integer offsets 0 <= start < end <= 16."]),
    # offsets that are not integers
    ([{"start": 0.0, "end": 3, "label": "PER"}],
     ["Span 0 needs integer offsets 0 <= start < end <= 16."]),
    ([{"start": "0", "end": "3", "label": "PER"}],
     ["Span 0 needs integer offsets 0 <= start < end <= 16."]),
    ([{"start": False, "end": True, "label": "PER"}],
     ["Span 0 needs integer offsets 0 <= start < end <= 16."]),
    # labels outside the config
    ([{"start": 0, "end": 3, "label": "LOC"}], ["Span 0 has unknown label 'LOC'."]),
    ([{"start": 0, "end": 3, "label": "per"}], ["Span 0 has unknown label 'per'."]),
    ([{"start": 0, "end": 3, "label": None}], ["Span 0 has unknown label None."]),
    # the first bad span is named by its index
    ([{"start": 0, "end": 3, "label": "PER"}, {"start": 13, "end": 16, "label": "LOC"}],
     ["Span 1 has unknown label 'LOC'."]),
])
def test_spans_rejects_invalid_answer(value, problems):
    assert answer_problems("spans", CONFIGS["spans"], value, SPAN_DATA) == problems


@pytest.mark.parametrize("data", [{"image": "no text here"}, None])
def test_spans_rejects_offsets_when_item_has_no_text(data):
    assert answer_problems("spans", CONFIGS["spans"], [{"start": 0, "end": 1, "label": "PER"}],
                           data) == ["Span 0 needs integer offsets 0 <= start < end <= 0."]


OUTSIDE = "Box 0 must lie inside the image (0..1) with positive size."


@pytest.mark.parametrize("value, problems", [
    (None, ["Must be a list of {x, y, w, h, label}."]),
    ({"x": 0, "y": 0, "w": 1, "h": 1, "label": "cat"}, ["Must be a list of {x, y, w, h, label}."]),
    ([[0, 0, 1, 1, "cat"]], ["Box 0 must be exactly {x, y, w, h, label}."]),
    ([{"x": 0, "y": 0, "w": 1, "label": "cat"}], ["Box 0 must be exactly {x, y, w, h, label}."]),
    ([{"x": 0, "y": 0, "w": 1, "h": 1, "label": "cat", "score": 0.9}],
     ["Box 0 must be exactly {x, y, w, h, label}."]),
    ([{"x": "0", "y": 0, "w": 1, "h": 1, "label": "cat"}],
     ["Box 0 coordinates must be numbers."]),
    ([{"x": 0, "y": None, "w": 1, "h": 1, "label": "cat"}],
     ["Box 0 coordinates must be numbers."]),
    ([{"x": 0, "y": 0, "w": True, "h": 1, "label": "cat"}],
     ["Box 0 coordinates must be numbers."]),
    # outside 0..1
    ([{"x": -0.1, "y": 0, "w": 0.5, "h": 0.5, "label": "cat"}], [OUTSIDE]),
    ([{"x": 0, "y": -0.1, "w": 0.5, "h": 0.5, "label": "cat"}], [OUTSIDE]),
    ([{"x": 1.1, "y": 0, "w": 0.1, "h": 0.5, "label": "cat"}], [OUTSIDE]),
    ([{"x": 0, "y": 1.5, "w": 0.1, "h": 0.1, "label": "cat"}], [OUTSIDE]),
    ([{"x": 0.8, "y": 0, "w": 0.3, "h": 0.5, "label": "cat"}], [OUTSIDE]),
    ([{"x": 0, "y": 0.6, "w": 0.5, "h": 0.5, "label": "cat"}], [OUTSIDE]),
    ([{"x": 10, "y": 10, "w": 50, "h": 50, "label": "cat"}], [OUTSIDE]),
    ([{"x": 1, "y": 0, "w": 0.01, "h": 0.5, "label": "cat"}], [OUTSIDE]),
    # no area
    ([{"x": 0.1, "y": 0.1, "w": 0, "h": 0.5, "label": "cat"}], [OUTSIDE]),
    ([{"x": 0.1, "y": 0.1, "w": 0.5, "h": 0, "label": "cat"}], [OUTSIDE]),
    ([{"x": 0.5, "y": 0.5, "w": -0.2, "h": 0.2, "label": "cat"}], [OUTSIDE]),
    # label outside the config
    ([{"x": 0, "y": 0, "w": 1, "h": 1, "label": "bird"}], ["Box 0 has unknown label 'bird'."]),
    ([{"x": 0, "y": 0, "w": 0.5, "h": 0.5, "label": "cat"},
      {"x": 0.5, "y": 0.5, "w": 0.6, "h": 0.1, "label": "dog"}],
     ["Box 1 must lie inside the image (0..1) with positive size."]),
])
def test_bbox_rejects_invalid_answer(value, problems):
    assert answer_problems("bbox", CONFIGS["bbox"], value, {"image": "i"}) == problems


@pytest.mark.parametrize("value", ["tie", {"choice": "tie"},
                                   {"choice": "tie", "rationale": "both fine"}])
def test_pairwise_rejects_tie_when_not_allowed(value):
    assert answer_problems("pairwise", {"allow_tie": False}, value, {"a": "x", "b": "y"}) == [
        "Must be one of: a, b."]


@pytest.mark.parametrize("allow_tie, value, problems", [
    (False, "c", ["Must be one of: a, b."]),
    (False, "A", ["Must be one of: a, b."]),
    (False, None, ["Must be one of: a, b."]),
    (False, ["a"], ["Must be one of: a, b."]),
    (True, "left", ["Must be one of: a, b, tie."]),
    (True, {"choice": "c"}, ["Must be one of: a, b, tie."]),
    (True, {"choice": None}, ["Must be one of: a, b, tie."]),
    (False, {"rationale": "no choice"}, ['Must be "a", "b" or {choice, rationale}.']),
    (True, {"rationale": "no choice"}, ['Must be "a", "b", "tie" or {choice, rationale}.']),
    (False, {"choice": "a", "confidence": 0.9},
     ['Must be "a", "b" or {choice, rationale}.']),
    (True, {}, ['Must be "a", "b", "tie" or {choice, rationale}.']),
    (False, {"choice": "a", "rationale": 5}, ["'rationale' must be a string."]),
    (True, {"choice": "tie", "rationale": ["x"]}, ["'rationale' must be a string."]),
])
def test_pairwise_rejects_invalid_answer(allow_tie, value, problems):
    assert answer_problems("pairwise", {"allow_tie": allow_tie}, value,
                           {"a": "x", "b": "y"}) == problems


@pytest.mark.parametrize("value", [
    [0, 1],            # too short
    [0, 1, 2, 3],      # too long
    [0, 0, 1],         # duplicate
    [1, 2, 3],         # not starting at 0
    [0, 1, 5],         # out of range
    [-1, 0, 1],
    [0.0, 1, 2],       # floats
    [False, True, 2],  # booleans are not positions
    ["0", "1", "2"],
    "012",
    None,
    {"0": 0, "1": 1, "2": 2},
    [],
])
def test_ranking_rejects_non_permutation(value):
    assert answer_problems("ranking", CONFIGS["ranking"], value,
                           {"candidates": ["x", "y", "z"]}) == ["Must be a permutation of 0..2."]


def test_answer_problems_rejects_unknown_task_type():
    assert answer_problems("polygon", {}, "a", PLAIN_DATA) == ["Unknown task type 'polygon'."]


@pytest.mark.parametrize("task_type", TaskType.values)
def test_every_task_type_rejects_a_plainly_wrong_answer(task_type):
    data = SPAN_DATA if task_type == "spans" else PLAIN_DATA
    assert answer_problems(task_type, CONFIGS[task_type], 12345, data) != []


@pytest.mark.parametrize("data", [{"options": ["x", "y"]}, {"options": ["w", "x", "y", "z"]},
                                  {"options": "xyz"}, {"text": "no options"}])
def test_ranking_items_need_exactly_size_options(data):
    assert item_data_problems("ranking", data, {"size": 3}) == [
        "Ranking items need 'data.options': a list of exactly 3 entries (the project's "
        "label_config size)."]
    assert item_data_problems("ranking", {"options": ["x", "y", "z"]}, {"size": 3}) == []
