"""qa.aggregation.dawid_skene: the vectorised EM against the truth, against plain majority
vote, against crowd-kit (the reference implementation), and on degenerate input.

Pure numpy: no database.
"""
import importlib
import warnings

import numpy as np
import pandas as pd
import pytest
from crowdkit.aggregation import DawidSkene

from qa.aggregation import DawidSkeneResult, dawid_skene

# The package re-exports the function under the module's name: reach the module itself.
dawid_skene_module = importlib.import_module("qa.aggregation.dawid_skene_em")


ADVERSARIAL = {"diligent": 16, "spammer": 12, "biased": 8, "confuser": 4}
VETTED = {"diligent": 32, "spammer": 4, "biased": 2, "confuser": 2}


def synthetic_crowd(seed: int, *, n_items: int = 1500, n_classes: int = 3,
                    labels_per_item: int = 5, crowd: dict = ADVERSARIAL):
    """(item, worker, label, truth, kinds). Diligent workers have accuracy 0.7..0.9,
    spammers answer uniformly at random, biased workers always answer their favourite
    class, confusers swap classes 0 and 1 half the time. By default honest workers are a
    minority (``ADVERSARIAL``); ``VETTED`` is a crowd after vetting."""
    rng = np.random.default_rng(seed)
    kinds = [kind for kind, count in crowd.items() for _ in range(count)]
    confusions = np.empty((len(kinds), n_classes, n_classes))
    for w, kind in enumerate(kinds):
        if kind == "diligent":
            accuracy = rng.uniform(0.7, 0.9)
            confusions[w] = (1 - accuracy) / (n_classes - 1)
            np.fill_diagonal(confusions[w], accuracy)
        elif kind == "spammer":
            confusions[w] = 1.0 / n_classes
        elif kind == "biased":
            confusions[w] = 0.0
            confusions[w, :, w % n_classes] = 1.0
        else:
            confusions[w] = np.eye(n_classes) * 0.9 + 0.1 / n_classes
            confusions[w, :2, :2] = 0.5 * (0.9 + 0.2 / n_classes)
    truth = rng.integers(n_classes, size=n_items)
    workers = np.stack([rng.choice(len(kinds), size=labels_per_item, replace=False)
                        for _ in range(n_items)])
    item = np.repeat(np.arange(n_items), labels_per_item)
    worker = workers.ravel()
    cumulative = np.cumsum(confusions[worker, truth[item]], axis=1)
    label = (rng.random(item.size)[:, None] > cumulative[:, :-1]).sum(axis=1)
    return item, worker, label, truth, kinds


def majority_vote(item, label, n_items, n_classes):
    votes = np.bincount(item * n_classes + label, minlength=n_items * n_classes)
    return votes.reshape(n_items, n_classes).argmax(axis=1)


def fit(item, worker, label, **kwargs) -> DawidSkeneResult:
    return dawid_skene(item, worker, label, int(item.max()) + 1, int(worker.max()) + 1,
                       int(label.max()) + 1, **kwargs)


# --- against the truth ---------------------------------------------------------------


def test_beats_majority_vote_on_a_crowd_of_spammers_and_biased_workers():
    item, worker, label, truth, _ = synthetic_crowd(seed=7)

    result = fit(item, worker, label)

    ds_accuracy = np.mean(result.posteriors.argmax(axis=1) == truth)
    mv_accuracy = np.mean(majority_vote(item, label, truth.size, 3) == truth)
    assert ds_accuracy >= mv_accuracy + 0.05
    assert ds_accuracy >= 0.85


def test_learns_what_kind_of_worker_each_one_is():
    item, worker, label, truth, kinds = synthetic_crowd(seed=11)

    confusions = fit(item, worker, label).confusions

    diagonal = np.trace(confusions, axis1=1, axis2=2) / 3
    by_kind = {kind: diagonal[[w for w, k in enumerate(kinds) if k == kind]]
               for kind in set(kinds)}
    assert by_kind["diligent"].min() > 0.6
    assert by_kind["spammer"].max() < 0.5
    for w, kind in enumerate(kinds):
        if kind == "biased":  # whatever the truth, the favourite class
            assert confusions[w, :, w % 3].min() > 0.9


def test_results_are_distributions():
    item, worker, label, _, _ = synthetic_crowd(seed=3, n_items=400)

    result = fit(item, worker, label)

    assert result.posteriors.shape == (400, 3)
    assert result.confusions.shape == (40, 3, 3)
    assert result.priors.shape == (3,)
    assert np.all((result.posteriors >= 0) & (result.posteriors <= 1))
    np.testing.assert_allclose(result.posteriors.sum(axis=1), 1.0, atol=1e-9)
    np.testing.assert_allclose(result.confusions.sum(axis=2), 1.0, atol=1e-9)
    assert result.priors.sum() == pytest.approx(1.0)
    assert 1 <= result.iterations <= 100


# --- against crowd-kit ---------------------------------------------------------------


def crowdkit_labels(item, worker, label, n_items):
    frame = pd.DataFrame({"task": item, "worker": worker, "label": label})
    with warnings.catch_warnings():  # crowd-kit 1.4 uses pandas keywords pandas 3 deprecates
        warnings.simplefilter("ignore", DeprecationWarning)
        predicted = DawidSkene(n_iter=100, tol=1e-5).fit_predict(frame)
    return predicted.reindex(np.arange(n_items)).to_numpy(dtype=np.int64)


def test_agrees_with_crowdkit_dawid_skene():
    item, worker, label, truth, _ = synthetic_crowd(seed=2024, n_items=2000, crowd=VETTED)

    theirs = crowdkit_labels(item, worker, label, truth.size)
    ours = fit(item, worker, label).posteriors.argmax(axis=1)

    assert np.mean(ours == theirs) >= 0.99
    assert abs(np.mean(ours == truth) - np.mean(theirs == truth)) <= 0.005


def test_matches_crowdkit_accuracy_when_honest_workers_are_a_minority():
    # Here many items end near-uniform (top posterior ~0.35 of 3 classes), where our
    # smoothing and crowd-kit's lack of it break the tie differently: fewer same labels,
    # the same accuracy.
    item, worker, label, truth, _ = synthetic_crowd(seed=2024, n_items=2000)

    theirs = crowdkit_labels(item, worker, label, truth.size)
    ours = fit(item, worker, label).posteriors.argmax(axis=1)

    assert np.mean(ours == theirs) >= 0.95
    assert abs(np.mean(ours == truth) - np.mean(theirs == truth)) <= 0.005


# --- gold seeding --------------------------------------------------------------------


def test_gold_confusions_tell_the_honest_worker_from_the_contrarian():
    # Two workers who always disagree: the labels alone cannot say which one is right.
    rng = np.random.default_rng(5)
    truth = rng.integers(2, size=60)
    item = np.repeat(np.arange(60), 2)
    worker = np.tile([0, 1], 60)
    label = np.stack([truth, 1 - truth], axis=1).ravel()
    gold = np.array([[[5, 0], [0, 5]],     # worker 0 was right on ten gold items
                     [[0, 5], [5, 0]]])    # worker 1 was wrong on all ten

    result = dawid_skene(item, worker, label, 60, 2, 2, initial_confusion=gold)

    assert np.array_equal(result.posteriors.argmax(axis=1), truth)
    assert result.confusions[1, 0, 1] > 0.9 and result.confusions[1, 1, 0] > 0.9


def test_rejects_initial_confusion_of_the_wrong_shape():
    with pytest.raises(ValueError, match="shape"):
        dawid_skene(np.array([0]), np.array([0]), np.array([0]), 1, 1, 2,
                    initial_confusion=np.ones((1, 3, 3)))


def test_rejects_negative_initial_confusion():
    with pytest.raises(ValueError, match="non-negative"):
        dawid_skene(np.array([0]), np.array([0]), np.array([0]), 1, 1, 2,
                    initial_confusion=-np.ones((1, 2, 2)))


# --- degenerate input ----------------------------------------------------------------


def test_a_single_worker_is_followed():
    label = np.array([0, 2, 1, 1, 0, 2])
    item = np.arange(6)
    worker = np.zeros(6, dtype=int)

    result = dawid_skene(item, worker, label, 6, 1, 3)

    assert np.array_equal(result.posteriors.argmax(axis=1), label)
    assert np.all(np.isfinite(result.posteriors))
    assert result.iterations < 100


def test_only_one_class_ever_used():
    item = np.repeat(np.arange(20), 3)
    worker = np.tile([0, 1, 2], 20)
    label = np.zeros(60, dtype=int)

    result = dawid_skene(item, worker, label, 20, 3, 4)

    assert np.all(result.posteriors.argmax(axis=1) == 0)
    assert np.all(result.posteriors[:, 0] > 0.99)
    assert np.all(np.isfinite(result.confusions)) and np.all(result.confusions > 0)
    assert result.iterations < 100


def test_items_with_a_single_label_each():
    item = np.arange(10)
    worker = np.arange(10) % 4
    label = np.arange(10) % 2

    result = dawid_skene(item, worker, label, 10, 4, 2)

    assert np.array_equal(result.posteriors.argmax(axis=1), label)
    assert np.all(np.isfinite(result.posteriors))


def test_items_nobody_labelled_get_the_class_priors():
    result = dawid_skene(np.array([0, 0, 2]), np.array([0, 1, 0]), np.array([1, 1, 1]),
                         4, 2, 2)

    np.testing.assert_allclose(result.posteriors[1], result.priors)
    np.testing.assert_allclose(result.posteriors[3], result.priors)
    assert result.posteriors[0].argmax() == 1


def test_no_labels_at_all():
    empty = np.array([], dtype=np.int64)

    result = dawid_skene(empty, empty, empty, 3, 2, 2)

    assert result.iterations == 0
    np.testing.assert_allclose(result.posteriors, 0.5)
    assert result.confusions.shape == (2, 2, 2)


def test_stops_at_max_iter():
    item, worker, label, _, _ = synthetic_crowd(seed=1, n_items=200)

    assert fit(item, worker, label, max_iter=1).iterations == 1
    assert fit(item, worker, label, max_iter=3).iterations <= 3


@pytest.mark.parametrize("arrays, message", [
    ((np.array([0, 1]), np.array([0]), np.array([0, 1])), "differ in length"),
    ((np.array([0]), np.array([0]), np.array([2])), "label_index"),
    ((np.array([5]), np.array([0]), np.array([0])), "item_index"),
    ((np.array([0]), np.array([-1]), np.array([0])), "worker_index"),
    ((np.array([0.5]), np.array([0]), np.array([0])), "integers"),
])
def test_rejects_malformed_label_arrays(arrays, message):
    with pytest.raises(ValueError, match=message):
        dawid_skene(*arrays, 2, 1, 2)


# --- determinism and precision -------------------------------------------------------


def test_is_deterministic_and_independent_of_label_order():
    item, worker, label, _, _ = synthetic_crowd(seed=9, n_items=500)
    shuffle = np.random.default_rng(0).permutation(item.size)

    first = fit(item, worker, label)
    again = fit(item, worker, label)
    shuffled = fit(item[shuffle], worker[shuffle], label[shuffle])

    assert np.array_equal(first.posteriors, again.posteriors)
    assert first.iterations == again.iterations
    np.testing.assert_allclose(shuffled.posteriors, first.posteriors, atol=1e-9)


def test_float32_path_picks_the_same_labels_as_float64(monkeypatch):
    item, worker, label, _, _ = synthetic_crowd(seed=4, n_items=1000)
    precise = fit(item, worker, label)

    monkeypatch.setattr(dawid_skene_module, "FLOAT32_FROM_LABELS", 0)
    fast = fit(item, worker, label)

    assert np.array_equal(fast.posteriors.argmax(axis=1), precise.posteriors.argmax(axis=1))
    np.testing.assert_allclose(fast.posteriors, precise.posteriors, atol=1e-4)
