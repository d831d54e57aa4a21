"""Dawid–Skene EM for categorical labels, vectorised with numpy.

Every step is a gather (``np.take``) followed by a segmented sum over contiguous runs
(``np.add.reduceat``): the labels are sorted once by item (for the E-step) and once by
(worker, given label) (for the M-step), so no Python loop ever runs over items, workers or
labels, and each iteration touches the label arrays a constant number of times.

Orientation: ``confusions[w, t, g]`` is P(worker w answers g | the true class is t), the
same [true][given] order as ``WorkerQuality.confusion``; each (w, t) row sums to 1.

Smoothing (why both): maximum-likelihood confusions are 0 wherever a worker never gave
some answer, and log(0) would veto a class forever on one label. Every (w, t) row gets
``PRIOR_STRENGTH`` Dirichlet pseudo-counts, ``PRIOR_ACCURACY`` of them on the diagonal.
Beyond avoiding zeros, the diagonal lean is what keeps EM on small data from drifting into
the mirror solution where every worker is "consistently wrong" (label switching). Class
priors get one Laplace pseudo-count per class. On a worker with hundreds of labels the
pseudo-counts move probabilities by about a percent; on a worker with three labels they
dominate, which is the point.
"""
from dataclasses import dataclass

import numpy as np

from .base import PRIOR_ACCURACY, PRIOR_STRENGTH

# Past this many labels the per-label gathers dominate an iteration and float32 halves
# their memory traffic; 7 significant digits are plenty to pick a winner and to stop EM
# at tol=1e-5 per label. Below it float64 costs nothing and keeps small results exact.
FLOAT32_FROM_LABELS = 100_000
# A prolific worker's expected counts sum millions of labels, where a float32 running sum
# stops registering one more label; they are summed in float32 chunks of this many labels,
# then in float64 (``_chunked``), so the float32 error stays ~1e-5 whatever the worker.
_CHUNK = 256
_CLASS_PRIOR_PSEUDOCOUNT = 1.0


@dataclass(frozen=True)
class DawidSkeneResult:
    posteriors: np.ndarray   # (n_items, n_classes) float64, rows sum to 1
    confusions: np.ndarray   # (n_workers, n_classes, n_classes) float64, [worker, true, given]
    priors: np.ndarray       # (n_classes,) float64
    iterations: int          # E-steps run (0 when there are no labels)


def confusion_prior(n_classes: int) -> np.ndarray:
    """(true, given) Dirichlet pseudo-counts shared by every worker."""
    if n_classes == 1:
        return np.full((1, 1), PRIOR_STRENGTH)
    off_diagonal = PRIOR_STRENGTH * (1.0 - PRIOR_ACCURACY) / (n_classes - 1)
    prior = np.full((n_classes, n_classes), off_diagonal)
    np.fill_diagonal(prior, PRIOR_STRENGTH * PRIOR_ACCURACY)
    return prior


def _segments(sorted_keys: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    """(keys that occur, start offset of each one's run) for keys sorted ascending.

    ``reduceat`` cannot express an empty run (it returns the next element instead of 0),
    so absent keys are left out and filled in by the caller.
    """
    counts = np.bincount(sorted_keys, minlength=n_keys)
    present = np.flatnonzero(counts)
    starts = (np.cumsum(counts) - counts)[present]
    return present, starts


def _chunked(starts: np.ndarray, total: int) -> tuple[np.ndarray, np.ndarray]:
    """Split runs longer than ``_CHUNK`` into chunks: (chunk starts, first chunk of each
    run), for a two-level ``reduceat``."""
    lengths = np.diff(np.append(starts, total))
    chunks = -(-lengths // _CHUNK)
    first_chunk = np.cumsum(chunks) - chunks
    within = np.arange(int(chunks.sum())) - np.repeat(first_chunk, chunks)
    return np.repeat(starts, chunks) + _CHUNK * within, first_chunk


class _Labels:
    """The label arrays laid out once for the E-step and once for the M-step."""

    def __init__(self, item_index, worker_index, label_index,
                 n_items: int, n_workers: int, n_classes: int):
        item = np.asarray(item_index).ravel()
        worker = np.asarray(worker_index).ravel()
        label = np.asarray(label_index).ravel()
        if not (item.shape == worker.shape == label.shape):
            raise ValueError("item_index, worker_index and label_index differ in length.")
        if n_items < 0 or n_workers < 0 or n_classes < 1:
            raise ValueError("n_items and n_workers must be >= 0 and n_classes >= 1.")
        for name, values, bound in (("item_index", item, n_items),
                                    ("worker_index", worker, n_workers),
                                    ("label_index", label, n_classes)):
            if values.size and not np.issubdtype(values.dtype, np.integer):
                raise ValueError(f"{name} must hold integers.")
            if values.size and (values.min() < 0 or values.max() >= bound):
                raise ValueError(f"{name} has values outside 0..{bound - 1}.")
        self.n_items, self.n_workers, self.n_classes = n_items, n_workers, n_classes
        self.size = item.size
        self.dtype = np.float32 if self.size >= FLOAT32_FROM_LABELS else np.float64

        # Nothing here keeps the caller's arrays or an int64 copy of them: the layout below
        # (two int32 index arrays) is all EM needs, and it is most of EM's memory.
        n_cells = n_workers * n_classes
        index_dtype = np.int32 if max(n_cells, n_items) < 2**31 else np.int64
        # A "cell" is one (worker, given label) pair: the column of the log-confusion
        # table the E-step gathers, and the row of expected counts the M-step fills.
        cell = worker.astype(index_dtype)
        cell *= n_classes
        cell += label.astype(index_dtype, copy=False)
        item_small = item.astype(index_dtype)

        # Only segment membership matters, not order inside a segment, so the fast
        # unstable sort does; it is still deterministic for a given input.
        if item_small.size and np.any(item_small[1:] < item_small[:-1]):
            order = np.argsort(item_small)
            item_sorted, self.cell_by_item = item_small[order], cell[order]
            del order
        else:
            item_sorted, self.cell_by_item = item_small, cell
        self.items_present, self.item_starts = _segments(item_sorted, n_items)
        del item_sorted

        order = np.argsort(cell)
        self.item_by_cell = item_small[order]
        del item_small
        self.cells_present, cell_starts = _segments(cell[order], n_cells)
        self.chunk_starts, self.chunks_of_cell = _chunked(cell_starts, self.size)


def _cell_sums(labels: _Labels, table: np.ndarray) -> np.ndarray:
    """(classes, items present): for each item, the sum of ``table[:, cell]`` over its
    labels."""
    gathered = np.take(table, labels.cell_by_item, axis=1)
    return np.add.reduceat(gathered, labels.item_starts, axis=1)


def _log_joint(labels: _Labels, log_table: np.ndarray, log_priors: np.ndarray) -> np.ndarray:
    """(classes, items present): log prior + sum of the log-likelihoods of the labels."""
    joint = _cell_sums(labels, log_table)
    joint += log_priors.astype(joint.dtype)[:, None]
    return joint


def _normalise_log(joint: np.ndarray) -> tuple[np.ndarray, float]:
    """Posteriors from log joints, in place, and the total log evidence (log-sum-exp)."""
    peak = joint.max(axis=0)
    joint -= peak
    np.exp(joint, out=joint)
    total = joint.sum(axis=0)
    joint /= total
    log_evidence = float(np.sum(np.log(total, dtype=np.float64) + peak, dtype=np.float64))
    return joint, log_evidence


def _take_rows(table: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``table[index]`` for a C-contiguous 2-D table, one memcpy per row: viewing each row
    as a single opaque element makes the random gather touch a cache line per label
    instead of one per (label, class)."""
    width = table.shape[1]
    rows = table.view(np.dtype((np.void, width * table.itemsize))).ravel()
    return np.take(rows, index).view(table.dtype).reshape(-1, width)


def _expected_counts(labels: _Labels, posteriors: np.ndarray) -> np.ndarray:
    """(workers, true, given): posterior mass each worker's answers put on each class.

    ``posteriors`` is (n_items, classes).
    """
    n_classes = labels.n_classes
    gathered = _take_rows(posteriors, labels.item_by_cell)
    chunk_sums = np.add.reduceat(gathered, labels.chunk_starts, axis=0)
    del gathered
    sums = np.add.reduceat(chunk_sums.astype(np.float64), labels.chunks_of_cell, axis=0)
    counts = np.zeros((labels.n_workers * n_classes, n_classes))
    counts[labels.cells_present] = sums
    return counts.reshape(labels.n_workers, n_classes, n_classes).transpose(0, 2, 1)


def _log_table(confusions: np.ndarray, dtype) -> np.ndarray:
    """log confusions as (true class, cell) for the E-step gather."""
    n_workers, n_classes, _ = confusions.shape
    table = np.log(confusions).transpose(1, 0, 2).reshape(n_classes, n_workers * n_classes)
    return np.ascontiguousarray(table, dtype=dtype)


def _normalise_rows(counts: np.ndarray) -> np.ndarray:
    return counts / counts.sum(axis=-1, keepdims=True)


def _full_posteriors(labels: _Labels, present: np.ndarray, priors: np.ndarray) -> np.ndarray:
    """(n_items, classes) from (classes, items present): items nobody labelled keep the
    class priors."""
    full = np.empty((labels.n_items, labels.n_classes), dtype=present.dtype)
    full[:] = priors.astype(present.dtype)
    full[labels.items_present] = present.T
    return full


def _estimate_priors(labels: _Labels, present: np.ndarray) -> np.ndarray:
    mass = present.sum(axis=1, dtype=np.float64) + _CLASS_PRIOR_PSEUDOCOUNT
    return mass / mass.sum()


def _validated_initial_confusion(initial_confusion, n_workers: int, n_classes: int):
    if initial_confusion is None:
        return np.zeros((n_workers, n_classes, n_classes))
    counts = np.asarray(initial_confusion, dtype=np.float64)
    if counts.shape != (n_workers, n_classes, n_classes):
        raise ValueError(f"initial_confusion must have shape "
                         f"({n_workers}, {n_classes}, {n_classes}).")
    if not np.all(np.isfinite(counts)) or np.any(counts < 0):
        raise ValueError("initial_confusion must hold finite non-negative counts.")
    return counts


def _majority_vote(labels: _Labels, gold_counts: np.ndarray) -> np.ndarray:
    """(classes, items present) vote shares, each vote weighted by the worker's smoothed
    gold accuracy (all equal without gold), as the starting point of EM."""
    n_classes = labels.n_classes
    seen = gold_counts.sum(axis=(1, 2))
    correct = np.trace(gold_counts, axis1=1, axis2=2)
    weight = (correct + PRIOR_ACCURACY * PRIOR_STRENGTH) / (seen + PRIOR_STRENGTH)
    # The vote table in the E-step's layout: a label in cell (w, g) adds weight[w] to g.
    table = np.zeros((n_classes, labels.n_workers, n_classes), dtype=labels.dtype)
    classes = np.arange(n_classes)
    table[classes, :, classes] = weight
    votes = _cell_sums(labels, table.reshape(n_classes, -1))
    votes /= votes.sum(axis=0)
    return votes


def posteriors_given_confusions(item_index, worker_index, label_index, n_items: int,
                                confusions: np.ndarray, priors: np.ndarray) -> np.ndarray:
    """One E-step with fixed confusions and priors: the naive-Bayes posterior (n_items x
    n_classes). Items without labels get the priors."""
    n_workers, n_classes, _ = confusions.shape
    labels = _Labels(item_index, worker_index, label_index, n_items, n_workers, n_classes)
    joint = _log_joint(labels, _log_table(confusions, labels.dtype), np.log(priors))
    present, _ = _normalise_log(joint)
    return _full_posteriors(labels, present, priors).astype(np.float64)


def dawid_skene(item_index: np.ndarray, worker_index: np.ndarray, label_index: np.ndarray,
                n_items: int, n_workers: int, n_classes: int, *, max_iter: int = 100,
                tol: float = 1e-5, initial_confusion: np.ndarray | None = None
                ) -> DawidSkeneResult:
    """Fit Dawid–Skene by EM on labels given as three parallel integer arrays.

    ``initial_confusion`` (optional, (n_workers, n_classes, n_classes), [true, given]) holds
    counts from graded gold. Gold answers are observations of the very confusion matrix
    being estimated, so they are added to the expected counts in every M-step rather than
    only the first, and they weight the majority vote that starts EM.

    EM stops when the log-likelihood per label changes by less than ``tol`` (the scale of
    crowd-kit's own criterion) or after ``max_iter`` E-steps.
    """
    if max_iter < 1:
        raise ValueError("max_iter must be at least 1.")
    labels = _Labels(item_index, worker_index, label_index, n_items, n_workers, n_classes)
    gold_counts = _validated_initial_confusion(initial_confusion, n_workers, n_classes)
    pseudo_counts = gold_counts + confusion_prior(n_classes)

    if labels.size == 0:
        priors = np.full(n_classes, 1.0 / n_classes)
        return DawidSkeneResult(
            posteriors=np.tile(priors, (n_items, 1)),
            confusions=_normalise_rows(pseudo_counts),
            priors=priors, iterations=0)

    present = _majority_vote(labels, gold_counts)
    priors = _estimate_priors(labels, present)
    confusions = _normalise_rows(
        _expected_counts(labels, _full_posteriors(labels, present, priors)) + pseudo_counts)

    iterations = 0
    previous = -np.inf
    for _ in range(max_iter):
        iterations += 1
        joint = _log_joint(labels, _log_table(confusions, labels.dtype), np.log(priors))
        present, log_evidence = _normalise_log(joint)
        priors = _estimate_priors(labels, present)
        confusions = _normalise_rows(
            _expected_counts(labels, _full_posteriors(labels, present, priors))
            + pseudo_counts)
        per_label = log_evidence / labels.size
        if abs(per_label - previous) < tol:
            break
        previous = per_label

    posteriors = _full_posteriors(labels, present, priors).astype(np.float64)
    # float32 exp/normalise leaves rows a few ulps off 1; callers compare to thresholds.
    posteriors /= posteriors.sum(axis=1, keepdims=True)
    return DawidSkeneResult(posteriors=posteriors, confusions=confusions,
                            priors=priors, iterations=iterations)
