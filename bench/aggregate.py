"""Benchmark: our vectorised Dawid–Skene against crowd-kit's, on 1,000,000 labels.

Run with ``.venv/bin/python bench/aggregate.py`` (no database needed). The crowd, seeded:
200,000 items, 4 classes (true class frequencies 40/30/20/10%), 2,000 workers with known
confusion matrices, 5 distinct workers per item:

- 60% diligent: accuracy drawn from 0.60..0.95, their errors spread unevenly;
- 15% spammers: uniform random answers;
- 15% biased: answer one favourite class 90% of the time, whatever the truth;
- 10% confusers: accurate (0.9) except that they swap two particular classes half the time.

Each method runs in its own subprocess, twice: once timed (best of ``--repeats`` runs,
nothing else measuring), once under ``tracemalloc`` for the peak of its own allocations
(numpy and pandas buffers are traced too). Input preparation is outside both
measurements: our arrays, crowd-kit's DataFrame. Prints one JSON line per method and a
comparison line: ``speedup`` = crowd-kit seconds / ours, ``memory_ratio`` = our peak /
crowd-kit's peak, ``accuracy_delta`` = our accuracy - crowd-kit's (against the known
truth), ``same_labels`` = share of items where both pick the same class.
"""
import argparse
import json
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

N_ITEMS = 200_000
LABELS_PER_ITEM = 5
N_CLASSES = 4
N_WORKERS = 2_000
CLASS_FREQUENCIES = [0.4, 0.3, 0.2, 0.1]
SEED = 20240611


def worker_confusions(rng: np.random.Generator) -> np.ndarray:
    """(workers, true, given) row-stochastic matrices for the four kinds of worker."""
    k = N_CLASSES
    kinds = rng.choice(4, size=N_WORKERS, p=[0.6, 0.15, 0.15, 0.1])
    confusions = np.empty((N_WORKERS, k, k))
    for w, kind in enumerate(kinds):
        if kind == 0:
            accuracy = rng.uniform(0.6, 0.95)
            errors = rng.dirichlet(np.ones(k - 1), size=k) * (1 - accuracy)
            for t in range(k):
                confusions[w, t] = np.insert(errors[t], t, accuracy)
        elif kind == 1:
            confusions[w] = 1.0 / k
        elif kind == 2:
            favourite = rng.integers(k)
            confusions[w] = 0.1 / (k - 1)
            confusions[w, :, favourite] = 0.9
        else:
            a, b = rng.choice(k, size=2, replace=False)
            confusions[w] = 0.1 / (k - 1)
            np.fill_diagonal(confusions[w], 0.9)
            confusions[w, a] = confusions[w, b] = 0.0
            confusions[w, a, [a, b]] = 0.5
            confusions[w, b, [a, b]] = 0.5
    return confusions


def generate_crowd(seed: int = SEED):
    """(item, worker, label, truth) arrays; labels item-major as a labeling export is."""
    rng = np.random.default_rng(seed)
    confusions = worker_confusions(rng)
    truth = rng.choice(N_CLASSES, size=N_ITEMS, p=CLASS_FREQUENCIES)
    workers = rng.integers(N_WORKERS, size=(N_ITEMS, LABELS_PER_ITEM))
    while True:  # one item is never labelled twice by the same worker
        ordered = np.sort(workers, axis=1)
        clash = np.flatnonzero((ordered[:, 1:] == ordered[:, :-1]).any(axis=1))
        if clash.size == 0:
            break
        workers[clash] = rng.integers(N_WORKERS, size=(clash.size, LABELS_PER_ITEM))
    item = np.repeat(np.arange(N_ITEMS), LABELS_PER_ITEM)
    worker = workers.ravel()
    cumulative = np.cumsum(confusions[worker, truth[item]], axis=1)
    label = (rng.random(item.size)[:, None] > cumulative[:, :-1]).sum(axis=1)
    return item, worker, label, truth


def run_ours(item, worker, label):
    from qa.aggregation import dawid_skene

    result = dawid_skene(item, worker, label, N_ITEMS, N_WORKERS, N_CLASSES)
    return result.posteriors.argmax(axis=1), result.iterations


def prepare_crowdkit(item, worker, label):
    import pandas as pd

    return pd.DataFrame({"task": item, "worker": worker, "label": label})


def run_crowdkit(frame):
    from crowdkit.aggregation import DawidSkene

    model = DawidSkene(n_iter=100, tol=1e-5)
    predicted = model.fit_predict(frame)
    predicted = predicted.reindex(np.arange(N_ITEMS)).to_numpy(dtype=np.int64)
    return predicted, len(model.loss_history_)


def measure(method: str, mode: str, repeats: int) -> dict:
    """Run one method in this process: mode 'time' (best of ``repeats`` runs: the machine
    is shared, and the fastest run is the one least disturbed) or 'memory' (one run)."""
    item, worker, label, truth = generate_crowd()
    # Imported before measuring: module import is start-up cost, not the algorithm's.
    if method == "ours":
        import qa.aggregation  # noqa: F401
        call, args = run_ours, (item, worker, label)
    else:
        import crowdkit.aggregation  # noqa: F401
        call, args = run_crowdkit, (prepare_crowdkit(item, worker, label),)
    if mode == "memory":
        tracemalloc.start()
        call(*args)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return {"peak_mb": round(peak / 2**20, 1)}
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        predicted, iterations = call(*args)
        runs.append(time.perf_counter() - started)
    return {"seconds": round(min(runs), 3), "runs": [round(run, 3) for run in runs],
            "iterations": iterations,
            "accuracy": round(float(np.mean(predicted == truth)), 5),
            "predicted": predicted.tolist()}


def in_subprocess(method: str, mode: str, repeats: int) -> dict:
    completed = subprocess.run(
        [sys.executable, __file__, "--child", method, mode, "--repeats", str(repeats)],
        check=True, capture_output=True, text=True)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def majority_vote_accuracy(item, label, truth) -> float:
    votes = np.bincount(item * N_CLASSES + label, minlength=N_ITEMS * N_CLASSES)
    return float(np.mean(votes.reshape(N_ITEMS, N_CLASSES).argmax(axis=1) == truth))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "MODE"))
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per method")
    arguments = parser.parse_args()
    if arguments.child:
        print(json.dumps(measure(*arguments.child, arguments.repeats)))
        return

    item, worker, label, truth = generate_crowd()
    results, predicted = {}, {}
    for method in ("ours", "crowdkit"):
        timed = in_subprocess(method, "time", arguments.repeats)
        memory = in_subprocess(method, "memory", arguments.repeats)
        predicted[method] = np.asarray(timed.pop("predicted"))
        results[method] = {"method": method, "labels": int(item.size), **timed, **memory}
        print(json.dumps(results[method]), flush=True)
    ours, theirs = results["ours"], results["crowdkit"]
    print(json.dumps({
        "speedup": round(theirs["seconds"] / ours["seconds"], 2),
        "memory_ratio": round(ours["peak_mb"] / theirs["peak_mb"], 3),
        "accuracy_delta": round(ours["accuracy"] - theirs["accuracy"], 5),
        "same_labels": round(float(np.mean(predicted["ours"] == predicted["crowdkit"])), 5),
        "majority_vote_accuracy": round(majority_vote_accuracy(item, label, truth), 5),
    }))


if __name__ == "__main__":
    main()
