"""Bounding boxes: cluster the boxes of different workers that mark the same object, keep
the objects most of the crowd saw, and average each one's coordinates.

Clustering is greedy and deterministic. Workers are taken most reliable first (then by
worker key); each worker's boxes are matched one-to-one against the clusters so far —
same label, IoU with the cluster's current weighted-mean box at least ``MIN_IOU``, at most
one box per worker per cluster — best IoU first, as ``qa.grading.boxes_match`` pairs
boxes. Unmatched boxes start new clusters. Starting from the reliable workers means the
first boxes a cluster forms around are the likeliest to be real objects.

A cluster's support is the accuracy-weighted share of the item's workers — including those
who drew nothing — with a box in it. Clusters supported by more than half are kept, and the
result box is the weighted mean of their boxes (a convex combination of valid boxes, so it
stays inside the image). Confidence is the mean, over every cluster, of the agreement with
the decision taken on it: support for a kept cluster, 1 - support for a dropped one. With
only kept clusters that is their mean support; a stray box one worker drew lowers it a
little; an item where everyone drew nothing has no clusters and gets 1.0.
"""
import math

from qa.grading import box_iou

from .base import (
    Annotation,
    ItemResult,
    WorkerQuality,
    annotations_by_item,
    clamp_unit,
    weights_for,
)

MIN_IOU = 0.5
_COORDINATES = ("x", "y", "w", "h")
# A millionth of the image is below a pixel on any camera; rounding to it keeps exports
# free of 0.10999999999999999.
_DECIMALS = 6


class _Cluster:
    def __init__(self, label: str):
        self.label = label
        self.members: list[tuple[float, dict]] = []   # (worker weight, box)
        self.workers: set[int] = set()
        self.mean: dict = {}

    def add(self, worker_key: int, weight: float, box: dict) -> None:
        self.members.append((weight, box))
        self.workers.add(worker_key)
        total = math.fsum(member_weight for member_weight, _ in self.members)
        self.mean = {coordinate: math.fsum(member_weight * member[coordinate]
                                           for member_weight, member in self.members) / total
                     for coordinate in _COORDINATES}
        self.mean["label"] = self.label


def cluster_boxes(answers: dict[int, list[dict]], weights: dict[int, float]) -> list[_Cluster]:
    clusters: list[_Cluster] = []
    for worker_key in sorted(answers, key=lambda key: (-weights[key], key)):
        boxes = answers[worker_key]
        pairs = sorted(((box_iou(box, cluster.mean), -box_index, -cluster_index)
                        for box_index, box in enumerate(boxes)
                        for cluster_index, cluster in enumerate(clusters)
                        if cluster.label == box["label"]
                        and worker_key not in cluster.workers), reverse=True)
        used_boxes, used_clusters = set(), set()
        for iou, negative_box, negative_cluster in pairs:
            if iou < MIN_IOU:
                break
            box_index, cluster_index = -negative_box, -negative_cluster
            if box_index in used_boxes or cluster_index in used_clusters:
                continue
            used_boxes.add(box_index)
            used_clusters.add(cluster_index)
            clusters[cluster_index].add(worker_key, weights[worker_key], boxes[box_index])
        for box_index, box in enumerate(boxes):
            if box_index not in used_boxes:
                cluster = _Cluster(box["label"])
                cluster.add(worker_key, weights[worker_key], box)
                clusters.append(cluster)
    return clusters


def _rounded(box: dict) -> dict:
    """Rounded without leaving the image or collapsing: the width and height give way."""
    x, y = round(box["x"], _DECIMALS), round(box["y"], _DECIMALS)
    w = min(round(box["w"], _DECIMALS), 1.0 - x)
    h = min(round(box["h"], _DECIMALS), 1.0 - y)
    return {"x": x, "y": y, "w": w if w > 0 else box["w"], "h": h if h > 0 else box["h"],
            "label": box["label"]}


def aggregate_bbox(annotations: list[Annotation],
                   workers: dict[int, WorkerQuality]) -> dict[int, ItemResult]:
    results = {}
    for item_key, answers in annotations_by_item(annotations).items():
        weights = weights_for(workers, answers)
        total = math.fsum(weights.values())
        kept, agreement = [], []
        for cluster in cluster_boxes(answers, weights):
            support = math.fsum(weights[key] for key in cluster.workers) / total
            if support > 0.5:
                kept.append(_rounded(cluster.mean))
                agreement.append(support)
            else:
                agreement.append(1.0 - support)
        confidence = math.fsum(agreement) / len(agreement) if agreement else 1.0
        results[item_key] = ItemResult(result=kept, confidence=clamp_unit(confidence))
    return results
