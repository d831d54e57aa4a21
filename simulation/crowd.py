"""Simulated workers: who they are and how they answer (no database here).

Each worker has, Dawid–Skene style, a confusion matrix drawn around the requested accuracy
(a diagonal ``a_w ~ N(mean, sd)`` clipped to [0, 0.999], the rest of each row spread by a
Dirichlet draw), a log-normal time per task, and may be a spammer (``random``: any valid
answer; ``constant``: always the same one). Free text, spans, boxes, ratings and rankings
get noise of their own kind: a wrong answer there is a near miss, not a random value.

Determinism: every draw comes from a generator seeded by (seed, what is drawn, who, which
item), never from a shared stream, so the order in which the real services serve items
(gold at random positions) cannot change what a worker answers.
"""
import math
import string
import zlib
from dataclasses import dataclass

import numpy as np

from marketplace.enums import TaskType

CATEGORICAL = {TaskType.SINGLE_CHOICE, TaskType.PAIRWISE}
# Spammers rush: their time per task is this share of an honest worker's.
SPAMMER_SPEED = 0.25
_WORDS = ["label", "quick", "data", "model", "review", "city", "river", "green", "price",
          "order", "signal", "north", "paper", "water", "light", "stone"]


def _key(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def rng_for(seed: int, *parts) -> np.random.Generator:
    return np.random.default_rng([seed & 0xFFFFFFFF] + [
        part if isinstance(part, int) else _key(str(part)) for part in parts])


@dataclass(frozen=True)
class CrowdSpec:
    workers: int
    accuracy_mean: float
    accuracy_sd: float
    spammer_share: float
    spammer_kind: str
    seconds_mean: float
    seconds_sd: float
    seed: int


@dataclass(frozen=True)
class SimulatedWorker:
    index: int
    accuracy: float
    spammer: bool
    # Log-normal parameters of seconds per task.
    log_mu: float
    log_sigma: float

    def seconds_for(self, seed: int, claim_number: int) -> int:
        draw = rng_for(seed, "seconds", self.index, claim_number).lognormal(
            self.log_mu, self.log_sigma)
        return max(1, int(round(draw * (SPAMMER_SPEED if self.spammer else 1.0))))


def lognormal_params(mean: float, sd: float) -> tuple[float, float]:
    """mu, sigma of the log-normal whose mean and standard deviation are given."""
    sigma2 = math.log(1 + (sd / mean) ** 2)
    return math.log(mean) - sigma2 / 2, math.sqrt(sigma2)


def draw_crowd(spec: CrowdSpec) -> list[SimulatedWorker]:
    rng = rng_for(spec.seed, "crowd")
    spammers = int(round(spec.workers * spec.spammer_share))
    # Which workers spam is drawn too, so spammers do not all start first or last.
    spammer_indexes = set(rng.permutation(spec.workers)[:spammers].tolist())
    mu, sigma = lognormal_params(spec.seconds_mean, spec.seconds_sd)
    crowd = []
    for index in range(spec.workers):
        accuracy = float(np.clip(rng.normal(spec.accuracy_mean, spec.accuracy_sd),
                                 0.0, 0.999))
        crowd.append(SimulatedWorker(index=index, accuracy=accuracy,
                                     spammer=index in spammer_indexes,
                                     log_mu=mu, log_sigma=sigma))
    return crowd


# --- truth: what the answer really is, per task type --------------------------------------

def _choices(task_type: str, config: dict) -> list:
    if task_type == TaskType.PAIRWISE:
        return ["a", "b", "tie"] if config["allow_tie"] else ["a", "b"]
    return list(config["choices"])


def _text_of(data: dict) -> str:
    text = data.get("text") if isinstance(data, dict) else None
    return text if isinstance(text, str) else ""


def random_answer(task_type: str, config: dict, data: dict, rng: np.random.Generator):
    """A valid answer drawn uniformly: the generating truth of items without gold, and
    what a random spammer gives."""
    if task_type in CATEGORICAL:
        choices = _choices(task_type, config)
        return choices[int(rng.integers(len(choices)))]
    if task_type == TaskType.MULTI_CHOICE:
        choices = config["choices"]
        picked = [c for c in choices if rng.random() < 0.5]
        return picked or [choices[int(rng.integers(len(choices)))]]
    if task_type == TaskType.RATING:
        return int(rng.integers(config["min"], config["max"] + 1))
    if task_type == TaskType.TEXT:
        words = [_WORDS[int(rng.integers(len(_WORDS)))] for _ in range(int(rng.integers(2, 6)))]
        return " ".join(words)[:config["max_length"]]
    if task_type == TaskType.SPANS:
        text = _text_of(data)
        if len(text) < 2:
            return []
        start = int(rng.integers(0, len(text) - 1))
        end = int(rng.integers(start + 1, min(len(text), start + 20) + 1))
        return [{"start": start, "end": end,
                 "label": config["labels"][int(rng.integers(len(config["labels"])))]}]
    if task_type == TaskType.BBOX:
        w, h = (float(round(v, 4)) for v in rng.uniform(0.1, 0.4, size=2))
        x = float(round(rng.uniform(0, 1 - w), 4))
        y = float(round(rng.uniform(0, 1 - h), 4))
        return [{"x": x, "y": y, "w": w, "h": h,
                 "label": config["labels"][int(rng.integers(len(config["labels"])))]}]
    if task_type == TaskType.RANKING:
        return [int(v) for v in rng.permutation(config["size"])]
    raise ValueError(f"Unknown task type {task_type!r}")


def constant_answer(task_type: str, config: dict, data: dict):
    """What a constant spammer always gives: the first valid answer of its kind."""
    if task_type in CATEGORICAL:
        return _choices(task_type, config)[0]
    if task_type == TaskType.MULTI_CHOICE:
        return [config["choices"][0]]
    if task_type == TaskType.RATING:
        return config["min"]
    if task_type == TaskType.TEXT:
        return "ok"[:config["max_length"]]
    if task_type == TaskType.RANKING:
        return list(range(config["size"]))
    return []  # spans, boxes: nothing marked


# --- honest answers: the truth, or a type-appropriate mistake ------------------------------

def _confusion_row(worker: SimulatedWorker, seed: int, choices: list, truth) -> np.ndarray:
    """The worker's confusion-matrix row for this true class (drawn once per class)."""
    k = len(choices)
    row = np.zeros(k)
    truth_index = choices.index(truth)
    row[truth_index] = worker.accuracy if k > 1 else 1.0
    if k > 1:
        spread = rng_for(seed, "confusion", worker.index, str(truth)).dirichlet(np.ones(k - 1))
        row[[i for i in range(k) if i != truth_index]] = (1 - worker.accuracy) * spread
    return row


def _mistake(task_type: str, config: dict, data: dict, truth, rng: np.random.Generator):
    if task_type == TaskType.MULTI_CHOICE:
        flip = config["choices"][int(rng.integers(len(config["choices"])))]
        wrong = [c for c in truth if c != flip] if flip in truth else truth + [flip]
        return wrong or [c for c in config["choices"] if c != flip][:1]
    if task_type == TaskType.RATING:
        low, high = config["min"], config["max"]
        step = int(rng.choice([-2, -1, 1, 2]))
        value = truth + step
        return value if low <= value <= high else truth - step if low <= truth - step <= high \
            else (low if truth != low else high)
    if task_type == TaskType.TEXT:
        chars = list(truth) or ["x"]
        for _ in range(max(1, len(chars) // 3)):
            position = int(rng.integers(len(chars)))
            chars[position] = string.ascii_lowercase[int(rng.integers(26))]
        return "".join(chars)[:config["max_length"]]
    if task_type == TaskType.SPANS:
        if not truth or rng.random() < 0.3:
            return []  # missed the span
        text_length = len(_text_of(data))
        shifted = []
        for span in truth:
            start = max(0, span["start"] - int(rng.integers(3, 8)))
            end = min(text_length, span["end"] + int(rng.integers(3, 8)))
            shifted.append({"start": start, "end": max(end, start + 1), "label": span["label"]})
        return shifted
    if task_type == TaskType.BBOX:
        wrong = []
        for box in truth:
            dx = box["w"] * 0.6 * (1 if rng.random() < 0.5 else -1)
            x = float(round(min(max(box["x"] + dx, 0.0), 1 - box["w"]), 4))
            wrong.append({**box, "x": x})
        return wrong
    if task_type == TaskType.RANKING:
        wrong = list(truth)
        for _ in range(max(2, len(wrong) // 2)):
            i = int(rng.integers(len(wrong) - 1))
            wrong[i], wrong[i + 1] = wrong[i + 1], wrong[i]
        return wrong if wrong != truth else list(reversed(truth))
    raise ValueError(task_type)


def _near(task_type: str, truth, rng: np.random.Generator):
    """A correct answer as a person gives it: boxes are never pixel-exact."""
    if task_type == TaskType.BBOX:
        return [{**box, "x": float(round(min(max(box["x"] + rng.normal(0, 0.005), 0.0),
                                             1 - box["w"]), 4))} for box in truth]
    return truth


def answer(worker: SimulatedWorker, *, seed: int, spammer_kind: str, task_type: str,
           config: dict, data: dict, truth, item_key: str):
    rng = rng_for(seed, "answer", worker.index, item_key)
    if worker.spammer:
        if spammer_kind == "constant":
            return constant_answer(task_type, config, data)
        return random_answer(task_type, config, data, rng)
    if task_type in CATEGORICAL:
        choices = _choices(task_type, config)
        row = _confusion_row(worker, seed, choices, truth)
        return choices[int(rng.choice(len(choices), p=row / row.sum()))]
    if rng.random() < worker.accuracy:
        return _near(task_type, truth, rng)
    return _mistake(task_type, config, data, truth, rng)


def truth_for(task_type: str, config: dict, data: dict, *, seed: int, item_key: str):
    return random_answer(task_type, config, data, rng_for(seed, "truth", item_key))
