"""Label aggregation: many workers' answers to an item -> one result with a confidence.

Pure functions over plain values (no models, no database), so ``qa.services`` loads the
answers and worker gold records, calls ``aggregate`` and saves what comes back.

Worker reliability everywhere is the smoothed gold accuracy of ``base.smoothed_accuracy``
(Beta prior: 0.7 with the weight of four gold answers); a worker missing from ``workers``
is treated as having no gold yet. A worker's repeated answer to the same item replaces the
earlier one. Every confidence is in [0, 1], and results are deterministic: ties are broken
by label-config order or worker key, never by chance or input order.

Per task type (the module doing it has the details):

- single_choice, pairwise (``categorical``): Dawid–Skene on enough data, else naive Bayes
  with gold-estimated confusions; confidence = posterior probability of the result.
  Pairwise results are the plain choice string; rationales are not aggregated.
- multi_choice (``categorical``): a weighted yes/no vote per choice.
- rating (``rating``): weighted median; confidence = weighted share of ratings near it.
- bbox (``bbox``): clusters of same-label boxes with IoU >= 0.5 kept when most workers
  drew them; confidence = mean support.
- spans (``spans``): per-character weighted majority; confidence = agreement over the
  characters anyone labelled.
- text, ranking (``reference``): the most reliable worker's answer; confidence = how
  similar the others are to it.
"""
from marketplace import task_types

from .base import Annotation, ItemResult, WorkerQuality
from .bbox import aggregate_bbox
from .categorical import aggregate_multi_choice, aggregate_single_class
from .dawid_skene_em import DawidSkeneResult, dawid_skene
from .rating import aggregate_rating
from .reference import aggregate_reference
from .spans import aggregate_spans

__all__ = ["Annotation", "WorkerQuality", "ItemResult", "aggregate",
           "DawidSkeneResult", "dawid_skene"]


def aggregate(task_type: str, label_config: dict, annotations: list[Annotation],
              workers: dict[int, WorkerQuality], item_data: dict[int, dict] | None = None
              ) -> dict[int, ItemResult]:
    """One result per item_key present in annotations.

    Items are aggregated together in one call because Dawid–Skene learns each worker from
    all the items they labelled; the other task types treat items independently.
    ``item_data`` ({item_key: item.data}) is read by spans only.
    """
    aggregator = task_types.rules_for(task_type).aggregator  # ValueError when unknown
    if not annotations:
        return {}
    if aggregator == "single_class":
        return aggregate_single_class(task_type, label_config, annotations, workers)
    if aggregator == "multi_choice":
        return aggregate_multi_choice(label_config, annotations, workers)
    if aggregator == "rating":
        return aggregate_rating(label_config, annotations, workers)
    if aggregator == "bbox":
        return aggregate_bbox(annotations, workers)
    if aggregator == "spans":
        return aggregate_spans(label_config, annotations, workers, item_data)
    return aggregate_reference(task_type, annotations, workers)
