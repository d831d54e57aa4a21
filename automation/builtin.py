"""Quorum's built-in model for single and multi-choice text projects: TF-IDF features and
a logistic regression (one-vs-rest per label for multi-choice), trained on the project's
own crowd-finalised results. Pure functions over lists: the flow reads and stores."""
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MultiLabelBinarizer

MIN_TRAINING_ITEMS = 10
HOLDOUT_SHARE = 0.2
SEED = 0


@dataclass(frozen=True)
class Predicted:
    value: Any
    score: float


def _pipeline(multi: bool):
    classifier = LogisticRegression(max_iter=1000)
    return make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
                         OneVsRestClassifier(classifier) if multi else classifier)


def _fit_predict(texts: list[str], labels: list[Any], targets: list[str], *, multi: bool
                 ) -> list[Predicted]:
    if multi:
        binarizer = MultiLabelBinarizer()
        matrix = binarizer.fit_transform(labels)
        model = _pipeline(True).fit(texts, matrix)
        probabilities = model.predict_proba(targets)
        predicted = []
        for row in probabilities:
            chosen = [str(c) for c, p in zip(binarizer.classes_, row) if p >= 0.5]
            # The chance every per-label decision is right, labels taken as independent.
            score = float(np.prod(np.where(row >= 0.5, row, 1 - row)))
            predicted.append(Predicted(chosen, round(score, 6)))
        return predicted
    model = _pipeline(False).fit(texts, labels)
    probabilities = model.predict_proba(targets)
    classes = model.classes_
    return [Predicted(str(classes[int(np.argmax(row))]), round(float(np.max(row)), 6))
            for row in probabilities]


def trainable(labels: list[Any], *, multi: bool) -> bool:
    if len(labels) < MIN_TRAINING_ITEMS:
        return False
    if multi:
        return len({label for value in labels for label in value}) >= 1
    return len(set(labels)) >= 2


def holdout_accuracy(texts: list[str], labels: list[Any], *, multi: bool) -> float | None:
    """Accuracy on a held-out fifth (exact match; the whole label set for multi-choice)."""
    stratify = labels if not multi and min(labels.count(v) for v in set(labels)) >= 2 \
        else None
    try:
        train_x, test_x, train_y, test_y = train_test_split(
            texts, labels, test_size=HOLDOUT_SHARE, random_state=SEED, stratify=stratify)
    except ValueError:
        return None
    if not trainable(train_y, multi=multi):
        return None
    predicted = _fit_predict(train_x, train_y, test_x, multi=multi)
    hits = sum((sorted(p.value) == sorted(y)) if multi else p.value == y
               for p, y in zip(predicted, test_y))
    return round(hits / len(test_y), 4)


def train_and_predict(texts: list[str], labels: list[Any], targets: list[str], *,
                      multi: bool) -> list[Predicted]:
    """Fit on every labelled text, predict each target text."""
    if not targets:
        return []
    return _fit_predict(texts, labels, targets, multi=multi)
