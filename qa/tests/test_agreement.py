"""Inter-annotator agreement per project: Krippendorff's alpha (qa.selectors.project_agreement)
over the submitted and approved labels of non-gold items; nominal for categorical answers,
interval for ratings; None when it is undefined (fewer than two items labelled twice,
a single category, or a task type without an agreement measure).

Expected values are worked by hand from the coincidence matrix:
alpha = 1 - (n - 1) * sum(o_ck * d_ck) / sum(n_c * n_k * d_ck).
"""
import pytest
from django.core.cache import cache

from marketplace.models import Item
from qa.selectors import project_agreement
from qa.tests.conftest import committed, eligible_worker, label, launched_project
from flows import decisions


def labelled(requester, votes: list[list], **overrides):
    """One task of len(votes[0]) items; worker i gives item j the value votes[i][j]."""
    overrides.setdefault("overlap", len(votes))
    project = launched_project(requester, tasks=1, items_per_task=len(votes[0]),
                               **overrides)
    item_ids = list(Item.objects.filter(project=project, is_gold=False)
                    .order_by("pk").values_list("pk", flat=True))
    for index, row in enumerate(votes):
        label(eligible_worker(f"w{index}@workers.example"), project,
              dict(zip(item_ids, row)))
    return project


def test_perfect_agreement_is_one(requester):
    project = labelled(requester, [["positive", "negative"], ["positive", "negative"]])

    assert project_agreement(project=project) == 1.0


def test_nominal_alpha_of_a_partial_disagreement(requester):
    # Item A: p p n, item B: n n n. o_pn = o_np = 1; n_p = 2, n_n = 4, n = 6:
    # alpha = 1 - 5 * 2 / (2 * 4 + 4 * 2) = 0.375
    project = labelled(requester, [["positive", "negative"], ["positive", "negative"],
                                   ["negative", "negative"]])

    assert project_agreement(project=project) == 0.375


def test_interval_alpha_for_ratings(requester):
    # Item A: 1 1 2, item B: 5 5 5. Observed: o_12 = o_21 = 1, d = 1 -> 2. Expected:
    # (2*1*1 + 2*3*16 + 1*3*9) * 2 / (6 - 1) = 50. alpha = 1 - 2 / 50 = 0.96
    project = labelled(requester, [[1, 5], [1, 5], [2, 5]], task_type="rating",
                       label_config={"min": 1, "max": 5})

    assert project_agreement(project=project) == 0.96


@pytest.mark.parametrize("task_type, label_config, votes", [
    ("pairwise", {"allow_tie": True},
     [[{"choice": "a", "rationale": "shorter"}, "tie"], ["a", {"choice": "tie"}]]),
    ("multi_choice", {"choices": ["red", "green", "blue"]},
     [[["red", "blue"], ["green"]], [["blue", "red"], ["green"]]]),
], ids=["pairwise", "multi_choice"])
def test_answers_are_compared_by_meaning(requester, task_type, label_config, votes):
    project = labelled(requester, votes, task_type=task_type, label_config=label_config)

    assert project_agreement(project=project) == 1.0


def test_gold_and_rejected_labels_are_left_out(requester):
    project = launched_project(requester, tasks=1, items_per_task=2, overlap=3,
                               gold_per_task=1, gold=[({"text": "gold"}, "neutral")])
    item_ids = list(Item.objects.filter(project=project, is_gold=False)
                    .order_by("pk").values_list("pk", flat=True))

    def votes(*values):
        # Gold (expected "neutral") is answered "positive": it would disagree if counted.
        by_item = dict(zip(item_ids, values))
        return lambda answer: "positive" if answer.is_gold else by_item[answer.item_id]

    label(eligible_worker("w1@workers.example"), project, votes("positive", "negative"))
    rejected = label(eligible_worker("w2@workers.example"), project,
                     votes("negative", "positive"))
    committed(decisions.reject, assignment_id=rejected.pk, actor=requester, reason="Careless.")
    label(eligible_worker("w3@workers.example"), project, votes("positive", "negative"))

    # Counting the rejected labels (or the gold answers) would make this less than 1.
    assert project_agreement(project=project) == 1.0


@pytest.mark.parametrize("votes, overrides", [
    ([["positive"], ["negative"]], {}),                              # one item only
    ([["positive", "positive"], ["positive", "positive"]], {}),      # one category
    ([["fine", "bad"], ["fine", "bad"]],
     {"task_type": "text", "label_config": {"max_length": 10}}),     # no measure for text
], ids=["one-item", "one-category", "text"])
def test_alpha_is_none_when_undefined(requester, votes, overrides):
    project = labelled(requester, votes, **overrides)

    assert project_agreement(project=project) is None


def test_a_project_without_labels_has_no_agreement(requester):
    project = launched_project(requester, tasks=1)

    assert project_agreement(project=project) is None


def test_agreement_is_cached_for_a_minute(requester):
    project = labelled(requester, [["positive", "negative"], ["positive", "negative"],
                                   ["negative", "negative"]], overlap=4)
    # Three of four slots labelled: nothing is final yet, the fourth comes later.
    assert project_agreement(project=project) == 0.375
    item_ids = list(Item.objects.filter(project=project).order_by("pk")
                    .values_list("pk", flat=True))
    label(eligible_worker("w9@workers.example"), project,
          dict(zip(item_ids, ["negative", "negative"])))

    assert project_agreement(project=project) == 0.375
    cache.clear()
    # Item A: p p n n, item B: n n n n. o_pn = o_np = 4/3; n_p = 2, n_n = 6, n = 8:
    # alpha = 1 - 7 * (8/3) / (2 * 6 * 2) = 0.2222
    assert project_agreement(project=project) == 0.2222
