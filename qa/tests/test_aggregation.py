"""qa.aggregation.aggregate: one result and confidence per item, for every task type.

Pure functions: no database. Workers without gold weigh 0.7 (the prior accuracy); the
expected confidences below are worked out from that by hand.
"""
import math
import random

import numpy as np
import pytest

from marketplace.enums import TaskType
from qa.aggregation import Annotation, ItemResult, WorkerQuality, aggregate
from qa.aggregation.categorical import enough_data_for_dawid_skene
from qa.grading import kendall_tau, normalised_text_similarity

NO_GOLD: dict[int, WorkerQuality] = {}
RELIABLE = WorkerQuality(gold_seen=10, gold_correct=10)      # smoothed accuracy 12.8/14
UNRELIABLE = WorkerQuality(gold_seen=10, gold_correct=2)     # smoothed accuracy 4.8/14


def answers(item_key: int, *values) -> list[Annotation]:
    """Worker k (1, 2, ...) gave the k-th value for the item."""
    return [Annotation(item_key=item_key, worker_key=index, value=value)
            for index, value in enumerate(values, start=1)]


def logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def logit(p: float) -> float:
    return math.log(p / (1.0 - p))


# --- the dispatcher --------------------------------------------------------------------


def test_no_annotations_give_no_results():
    assert aggregate("single_choice", {"choices": ["a", "b"]}, [], NO_GOLD) == {}


def test_rejects_unknown_task_type():
    with pytest.raises(ValueError, match="polygon"):
        aggregate("polygon", {}, answers(1, "x"), NO_GOLD)


def test_one_result_per_item_in_the_annotations():
    annotations = answers(7, "a") + answers(3, "b", "b") + answers(11, "a", "b", "a")

    results = aggregate("single_choice", {"choices": ["a", "b"]}, annotations, NO_GOLD)

    assert sorted(results) == [3, 7, 11]
    assert all(isinstance(result, ItemResult) for result in results.values())


def test_a_workers_later_answer_replaces_the_earlier_one():
    annotations = [Annotation(1, 1, "a"), Annotation(1, 2, "b"), Annotation(1, 1, "b")]

    result = aggregate("single_choice", {"choices": ["a", "b"]}, annotations, NO_GOLD)[1]

    # two votes for b from two workers, not a three-way 1:2 split
    assert result.result == "b"
    assert result.confidence == pytest.approx(0.7**2 / (0.7**2 + 0.3**2))


# --- single_choice -------------------------------------------------------------------

CHOICES = {"choices": ["positive", "negative", "neutral"]}


def test_single_choice_unanimous():
    result = aggregate("single_choice", CHOICES,
                       answers(1, "negative", "negative", "negative"), NO_GOLD)[1]

    # one-coin confusions: 0.7 right, 0.15 for each wrong answer
    assert result.result == "negative"
    assert result.confidence == pytest.approx(0.7**3 / (0.7**3 + 2 * 0.15**3))


def test_single_choice_majority_with_posterior_confidence():
    result = aggregate("single_choice", CHOICES,
                       answers(1, "positive", "positive", "neutral"), NO_GOLD)[1]

    winner, runner_up, other = 0.7 * 0.7 * 0.15, 0.15 * 0.15 * 0.7, 0.15**3
    assert result.result == "positive"
    assert result.confidence == pytest.approx(winner / (winner + runner_up + other))


def test_single_annotator_confidence_is_their_smoothed_accuracy():
    results = aggregate("single_choice", CHOICES, answers(1, "neutral"), NO_GOLD)

    assert results[1].result == "neutral"
    assert results[1].confidence == pytest.approx(0.7)


def test_a_reliable_worker_outvotes_two_unknown_workers():
    config = {"choices": ["yes", "no"]}
    workers = {1: RELIABLE}

    result = aggregate("single_choice", config, answers(1, "yes", "no", "no"), workers)[1]

    reliable = 12.8 / 14
    assert result.result == "yes"
    assert result.confidence == pytest.approx(logistic(logit(reliable) - 2 * logit(0.7)))


def test_an_unreliable_workers_answer_counts_against_itself():
    # Right less often than chance on a binary question: their "yes" is evidence for "no".
    config = {"choices": ["yes", "no"]}

    result = aggregate("single_choice", config, answers(1, "yes"), {1: UNRELIABLE})[1]

    assert result.result == "no"
    assert result.confidence == pytest.approx(1 - 4.8 / 14)


def test_gold_confusion_discounts_a_worker_who_always_says_cat():
    config = {"choices": ["cat", "dog"]}
    always_cat = WorkerQuality(gold_seen=10, gold_correct=5,
                               confusion={"cat": {"cat": 5}, "dog": {"cat": 5}})

    result = aggregate("single_choice", config, answers(1, "cat", "dog"),
                       {1: always_cat})[1]

    # worker 1: P(cat | cat) = (5 + 4*0.7)/9, P(cat | dog) = (5 + 4*0.3)/9 (four
    # pseudo-counts of the 0.7 prior per row); worker 2 unknown.
    cat = (5 + 2.8) / 9 * 0.3
    dog = (5 + 1.2) / 9 * 0.7
    assert result.result == "dog"
    assert result.confidence == pytest.approx(dog / (cat + dog))


def test_an_exact_tie_goes_to_the_first_choice_in_the_config():
    result = aggregate("single_choice", CHOICES, answers(1, "neutral", "negative"),
                       NO_GOLD)[1]

    assert result.result == "negative"
    assert result.confidence == pytest.approx(0.7 * 0.15 / (2 * 0.7 * 0.15 + 0.15**2))


def test_confusion_labels_missing_from_the_config_are_ignored():
    stale = WorkerQuality(gold_seen=4, gold_correct=4,
                          confusion={"renamed": {"positive": 3}, "positive": {"positive": 4}})

    result = aggregate("single_choice", CHOICES, answers(1, "positive"), {1: stale})[1]

    assert result.result == "positive"
    assert 0.5 < result.confidence < 1


# --- single_choice on enough data: Dawid–Skene ---------------------------------------


def test_dawid_skene_needs_fifty_items():
    workers = np.repeat(np.arange(3), 49)
    assert not enough_data_for_dawid_skene(workers, n_items=49)
    assert enough_data_for_dawid_skene(np.repeat(np.arange(3), 50), n_items=50)


def test_dawid_skene_needs_workers_seen_on_several_items():
    one_off_workers = np.arange(100)
    assert not enough_data_for_dawid_skene(one_off_workers, n_items=100)


def _contrarian_project(n_items: int):
    """Worker 1 answers the truth, worker 2 always the other choice; the truth is "yes"
    on two items in three."""
    truth = ["yes" if item % 3 else "no" for item in range(n_items)]
    flip = {"yes": "no", "no": "yes"}
    annotations = []
    for item, answer in enumerate(truth):
        annotations += [Annotation(item, 1, answer), Annotation(item, 2, flip[answer])]
    return truth, annotations


def test_dawid_skene_uses_gold_to_tell_honest_from_contrarian():
    truth, annotations = _contrarian_project(60)
    workers = {1: RELIABLE, 2: WorkerQuality(gold_seen=10, gold_correct=0)}

    results = aggregate("single_choice", {"choices": ["yes", "no"]}, annotations, workers)

    assert [results[item].result for item in range(60)] == truth
    assert all(result.confidence > 0.99 for result in results.values())


def test_dawid_skene_learns_that_a_contrarian_is_informative():
    # Below fifty items the contrarian is just an unknown worker disagreeing; on enough
    # items Dawid–Skene learns their answers are reliably inverted, and is sure.
    config = {"choices": ["yes", "no"]}
    workers = {1: RELIABLE}

    few = aggregate("single_choice", config, _contrarian_project(10)[1], workers)
    many = aggregate("single_choice", config, _contrarian_project(60)[1], workers)

    reliable = 12.8 / 14
    assert few[0].confidence == pytest.approx(logistic(logit(reliable) - logit(0.7)))
    assert all(result.confidence > 0.99 for result in many.values())


# --- pairwise ------------------------------------------------------------------------


def test_pairwise_result_is_the_plain_choice_whatever_the_answer_form():
    annotations = answers(1, {"choice": "b", "rationale": "clearer"}, "b",
                          {"choice": "a"})

    result = aggregate("pairwise", {"allow_tie": False}, annotations, NO_GOLD)[1]

    assert result.result == "b"
    b, a = 0.7 * 0.7 * 0.3, 0.3 * 0.3 * 0.7
    assert result.confidence == pytest.approx(b / (a + b))


def test_pairwise_tie_is_a_class_when_allowed():
    result = aggregate("pairwise", {"allow_tie": True}, answers(1, "tie", "tie", "a"),
                       NO_GOLD)[1]

    tie, a, b = 0.7 * 0.7 * 0.15, 0.15 * 0.15 * 0.7, 0.15**3
    assert result.result == "tie"
    assert result.confidence == pytest.approx(tie / (tie + a + b))


# --- multi_choice --------------------------------------------------------------------

COLOURS = {"choices": ["red", "green", "blue"]}
PER_CHOICE = 0.85   # 0.5 + 0.5 * 0.7


def test_multi_choice_keeps_choices_most_workers_picked_in_config_order():
    annotations = answers(1, ["blue", "red"], ["red"], ["red", "blue", "green"])

    result = aggregate("multi_choice", COLOURS, annotations, NO_GOLD)[1]

    weight = logit(PER_CHOICE)
    red, blue, green = logistic(3 * weight), logistic(weight), logistic(-weight)
    assert result.result == ["red", "blue"]
    assert result.confidence == pytest.approx((red + (1 - green) + blue) / 3)


def test_multi_choice_split_vote_leaves_the_choice_out():
    result = aggregate("multi_choice", COLOURS, answers(1, ["red"], []), NO_GOLD)[1]

    assert result.result == []
    assert result.confidence == pytest.approx(0.5)   # only "red" was considered


def test_multi_choice_everyone_picked_nothing():
    result = aggregate("multi_choice", COLOURS, answers(1, [], []), NO_GOLD)[1]

    assert result.result == []
    assert result.confidence == pytest.approx(logistic(2 * logit(PER_CHOICE)))


def test_multi_choice_reliable_worker_carries_a_choice():
    annotations = answers(1, ["green"], [])

    result = aggregate("multi_choice", COLOURS, annotations, {1: RELIABLE})[1]

    reliable = 0.5 + 0.5 * 12.8 / 14
    assert result.result == ["green"]
    assert result.confidence == pytest.approx(logistic(logit(reliable) - logit(PER_CHOICE)))


# --- rating --------------------------------------------------------------------------

FIVE_STARS = {"min": 1, "max": 5}


def test_rating_median_and_share_of_exact_agreement():
    result = aggregate("rating", FIVE_STARS, answers(1, 4, 4, 5, 1), NO_GOLD)[1]

    assert result == ItemResult(result=4, confidence=0.5)


def test_rating_even_split_takes_the_midpoint_rounded_up():
    result = aggregate("rating", FIVE_STARS, answers(1, 2, 3), NO_GOLD)[1]

    assert result == ItemResult(result=3, confidence=0.5)


def test_rating_even_split_far_apart_has_no_agreement():
    result = aggregate("rating", FIVE_STARS, answers(1, 1, 5), NO_GOLD)[1]

    assert result == ItemResult(result=3, confidence=0.0)


def test_rating_halves_round_up_on_a_negative_scale():
    result = aggregate("rating", {"min": -3, "max": 3}, answers(1, -2, -1), NO_GOLD)[1]

    assert result.result == -1


def test_rating_weighted_median_follows_the_reliable_workers():
    workers = {1: RELIABLE, 2: RELIABLE, 3: UNRELIABLE}

    result = aggregate("rating", FIVE_STARS, answers(1, 2, 2, 5), workers)[1]

    assert result.result == 2
    assert result.confidence == pytest.approx(2 * 12.8 / (2 * 12.8 + 4.8))


def test_rating_tolerance_is_a_tenth_of_the_scale():
    result = aggregate("rating", {"min": 0, "max": 10}, answers(1, 5, 6, 9), NO_GOLD)[1]

    # median 6; 5 and 6 are within 1 of it, 9 is not
    assert result.result == 6
    assert result.confidence == pytest.approx(2 / 3)


def test_rating_single_annotator():
    assert aggregate("rating", FIVE_STARS, answers(1, 2), NO_GOLD)[1] == ItemResult(2, 1.0)


# --- text ----------------------------------------------------------------------------

TEXT = {"max_length": 100}


def test_text_takes_the_most_reliable_workers_answer():
    annotations = answers(1, "a cat on a mat", "a dog", "a dog")

    result = aggregate("text", TEXT, annotations, {1: RELIABLE})[1]

    similarity = normalised_text_similarity("a cat on a mat", "a dog")
    assert result.result == "a cat on a mat"
    assert result.confidence == pytest.approx(similarity)


def test_text_among_equals_takes_the_answer_closest_to_the_rest():
    annotations = answers(1, "The cat sat", "the  cat sat.", "A dog barked")

    result = aggregate("text", TEXT, annotations, NO_GOLD)[1]

    to_second = normalised_text_similarity("The cat sat", "the  cat sat.")
    to_third = normalised_text_similarity("The cat sat", "A dog barked")
    assert result.result == "The cat sat"
    assert result.confidence == pytest.approx((to_second + to_third) / 2)


def test_text_full_tie_goes_to_the_lowest_worker_key():
    annotations = [Annotation(1, 9, "left"), Annotation(1, 4, "right")]

    result = aggregate("text", TEXT, annotations, NO_GOLD)[1]

    assert result.result == "right"


def test_text_single_annotator():
    result = aggregate("text", TEXT, answers(1, "only one"), NO_GOLD)[1]

    assert result == ItemResult(result="only one", confidence=1.0)


# --- ranking -------------------------------------------------------------------------


def test_ranking_takes_the_medoid_and_scales_kendall_tau():
    annotations = answers(1, [0, 1, 2, 3], [1, 0, 2, 3], [0, 1, 3, 2], [3, 2, 1, 0])

    result = aggregate("ranking", {"size": 4}, annotations, NO_GOLD)[1]

    others = [[1, 0, 2, 3], [0, 1, 3, 2], [3, 2, 1, 0]]
    assert result.result == [0, 1, 2, 3]
    assert result.confidence == pytest.approx(
        sum((kendall_tau([0, 1, 2, 3], other) + 1) / 2 for other in others) / 3)


def test_ranking_follows_the_reliable_worker():
    annotations = answers(1, [2, 1, 0], [0, 1, 2], [0, 1, 2])

    result = aggregate("ranking", {"size": 3}, annotations, {1: RELIABLE})[1]

    assert result == ItemResult(result=[2, 1, 0], confidence=0.0)


# --- bbox ----------------------------------------------------------------------------

ANIMALS = {"labels": ["cat", "dog"]}


def box(x, y, w, h, label="cat"):
    return {"x": x, "y": y, "w": w, "h": h, "label": label}


def test_bbox_averages_the_boxes_most_workers_drew():
    annotations = answers(1,
                          [box(0.1, 0.1, 0.2, 0.2), box(0.6, 0.6, 0.1, 0.1, "dog")],
                          [box(0.12, 0.1, 0.2, 0.2)],
                          [box(0.14, 0.1, 0.2, 0.2)])

    result = aggregate("bbox", ANIMALS, annotations, NO_GOLD)[1]

    # the cat: all three workers; the dog: one of three, dropped
    assert result.result == [box(0.12, 0.1, 0.2, 0.2)]
    assert result.confidence == pytest.approx((1.0 + 2 / 3) / 2)


def test_bbox_different_labels_never_cluster():
    annotations = answers(1, [box(0.1, 0.1, 0.2, 0.2, "cat")], [box(0.1, 0.1, 0.2, 0.2, "dog")])

    result = aggregate("bbox", ANIMALS, annotations, NO_GOLD)[1]

    assert result == ItemResult(result=[], confidence=0.5)


def test_bbox_low_overlap_boxes_are_different_objects():
    annotations = answers(1, [box(0.0, 0.0, 0.2, 0.2)], [box(0.1, 0.0, 0.2, 0.2)])

    result = aggregate("bbox", ANIMALS, annotations, NO_GOLD)[1]

    assert result.result == []   # IoU 1/3: two objects, each seen by half


def test_bbox_keeps_two_objects_and_one_workers_two_boxes_stay_apart():
    cats = [box(0.1, 0.1, 0.2, 0.2), box(0.15, 0.1, 0.2, 0.2)]   # IoU 0.6 with each other
    annotations = answers(1, cats, cats, list(reversed(cats)))

    result = aggregate("bbox", ANIMALS, annotations, NO_GOLD)[1]

    assert result == ItemResult(result=cats, confidence=1.0)


def test_bbox_weights_by_reliability():
    annotations = answers(1, [box(0.1, 0.1, 0.2, 0.2)], [], [])

    result = aggregate("bbox", ANIMALS, annotations, {1: RELIABLE, 2: UNRELIABLE,
                                                      3: UNRELIABLE})[1]

    support = 12.8 / (12.8 + 2 * 4.8)
    assert result == ItemResult(result=[box(0.1, 0.1, 0.2, 0.2)],
                                confidence=pytest.approx(support))


def test_bbox_everyone_drew_nothing():
    result = aggregate("bbox", ANIMALS, answers(1, [], [], []), NO_GOLD)[1]

    assert result == ItemResult(result=[], confidence=1.0)


def test_bbox_result_stays_inside_the_image():
    annotations = answers(1, [box(0.7000001, 0.0, 0.2999999, 1.0)],
                          [box(0.7000004, 0.0, 0.2999996, 1.0)])

    kept = aggregate("bbox", ANIMALS, annotations, NO_GOLD)[1].result[0]

    assert kept["x"] + kept["w"] <= 1 + 1e-9 and kept["y"] + kept["h"] <= 1 + 1e-9


# --- spans ---------------------------------------------------------------------------

ENTITIES = {"labels": ["PER", "ORG"]}
SENTENCE = {1: {"text": "Ada Lovelace met Babbage at IBM"}}


def span(start, end, label="PER"):
    return {"start": start, "end": end, "label": label}


def test_spans_majority_per_character():
    annotations = answers(1, [span(0, 3), span(28, 31, "ORG")],
                          [span(0, 12), span(28, 31, "ORG")],
                          [span(0, 12)])

    result = aggregate("spans", ENTITIES, annotations, NO_GOLD, SENTENCE)[1]

    # characters 0-2: all agree; 3-11: two of three; 28-30: two of three
    assert result.result == [span(0, 12), span(28, 31, "ORG")]
    assert result.confidence == pytest.approx((3 * 1 + 9 * 2 / 3 + 3 * 2 / 3) / 15)


def test_spans_minority_span_is_dropped():
    annotations = answers(1, [span(17, 24)], [], [])

    result = aggregate("spans", ENTITIES, annotations, NO_GOLD, SENTENCE)[1]

    assert result == ItemResult(result=[], confidence=pytest.approx(2 / 3))


def test_spans_nobody_labelled_anything():
    result = aggregate("spans", ENTITIES, answers(1, [], []), NO_GOLD, SENTENCE)[1]

    assert result == ItemResult(result=[], confidence=1.0)


def test_spans_overlapping_labels_survive_together():
    annotations = answers(1, [span(0, 5), span(0, 5, "ORG")], [span(0, 5), span(0, 5, "ORG")])

    result = aggregate("spans", ENTITIES, annotations, NO_GOLD, SENTENCE)[1]

    assert result == ItemResult(result=[span(0, 5), span(0, 5, "ORG")], confidence=1.0)


def test_spans_without_item_data_use_the_offsets():
    annotations = answers(1, [span(4, 12)], [span(4, 12)], [span(4, 10)])

    assert (aggregate("spans", ENTITIES, annotations, NO_GOLD)
            == aggregate("spans", ENTITIES, annotations, NO_GOLD, SENTENCE))


# --- every task type -----------------------------------------------------------------

CONFIGS = {
    "single_choice": {"choices": ["positive", "negative", "neutral"]},
    "multi_choice": {"choices": ["red", "green", "blue"]},
    "rating": {"min": 1, "max": 7},
    "text": {"max_length": 40},
    "spans": {"labels": ["PER", "ORG"]},
    "bbox": {"labels": ["cat", "dog"]},
    "pairwise": {"allow_tie": True},
    "ranking": {"size": 4},
}
TEXT_LENGTH = 30


def random_answer(task_type: str, rng: random.Random):
    if task_type == "single_choice":
        return rng.choice(CONFIGS[task_type]["choices"])
    if task_type == "multi_choice":
        return rng.sample(CONFIGS[task_type]["choices"], rng.randint(0, 3))
    if task_type == "rating":
        return rng.randint(1, 7)
    if task_type == "text":
        return rng.choice(["a cat", "the cat", "a dog", "", "cats and dogs"])
    if task_type == "spans":
        spans = []
        for _ in range(rng.randint(0, 3)):
            start = rng.randrange(TEXT_LENGTH - 1)
            end = rng.randint(start + 1, TEXT_LENGTH)
            spans.append(span(start, end, rng.choice(["PER", "ORG"])))
        return spans
    if task_type == "bbox":
        boxes = []
        for _ in range(rng.randint(0, 3)):
            x, y = rng.uniform(0, 0.5), rng.uniform(0, 0.5)
            boxes.append(box(x, y, rng.uniform(0.05, 0.5), rng.uniform(0.05, 0.5),
                             rng.choice(["cat", "dog"])))
        return boxes
    if task_type == "pairwise":
        return rng.choice(["a", "b", "tie", {"choice": "b", "rationale": "why"}])
    return rng.sample(range(4), 4)


def random_project(task_type: str, seed: int, n_items: int):
    rng = random.Random(seed)
    annotations = [Annotation(item, worker, random_answer(task_type, rng))
                   for item in range(n_items)
                   for worker in rng.sample(range(12), rng.randint(1, 6))]
    workers = {worker: WorkerQuality(gold_seen=seen, gold_correct=rng.randint(0, seen))
               for worker in range(12) for seen in [rng.randint(0, 20)]}
    item_data = {item: {"text": "x" * TEXT_LENGTH} for item in range(n_items)}
    return annotations, workers, item_data


@pytest.mark.parametrize("n_items", [8, 60])  # 60 items: Dawid–Skene for categorical types
@pytest.mark.parametrize("task_type", TaskType.values)
def test_every_confidence_is_within_zero_and_one(task_type, n_items):
    annotations, workers, item_data = random_project(task_type, seed=1, n_items=n_items)

    results = aggregate(task_type, CONFIGS[task_type], annotations, workers, item_data)

    assert sorted(results) == list(range(n_items))
    for result in results.values():
        assert 0.0 <= result.confidence <= 1.0
        assert isinstance(result.confidence, float)


@pytest.mark.parametrize("task_type", TaskType.values)
def test_results_are_valid_answers_and_independent_of_annotation_order(task_type):
    from marketplace.task_types import answer_problems

    annotations, workers, item_data = random_project(task_type, seed=2, n_items=60)
    shuffled = list(annotations)
    random.Random(3).shuffle(shuffled)

    results = aggregate(task_type, CONFIGS[task_type], annotations, workers, item_data)
    again = aggregate(task_type, CONFIGS[task_type], shuffled, workers, item_data)

    for item, result in results.items():
        assert answer_problems(task_type, CONFIGS[task_type], result.result,
                               item_data[item]) == []
        assert again[item].result == result.result
        assert again[item].confidence == pytest.approx(result.confidence, abs=1e-9)
