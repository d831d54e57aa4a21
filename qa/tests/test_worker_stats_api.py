"""GET /api/v1/worker/stats: the worker's own accuracy per project and per skill, with
counts, and every quality action taken on them with its reason."""
import pytest

from qa.stats import wilson_lower_bound
from qa.tests.conftest import (
    give_back,
    gold_items,
    gold_right,
    gold_wrong,
    label,
    launched_project,
    worker_and_client,
)

WORKER_STATS = "/api/v1/worker/stats"


def test_a_worker_without_graded_work_has_empty_stats(worker_client):
    response = worker_client.get(WORKER_STATS)

    assert response.status_code == 200, response.json()
    assert response.json() == {"projects": [], "skills": []}


def test_stats_show_accuracy_per_project_and_skill_with_counts(requester):
    first = launched_project(requester, tasks=3, items_per_task=1, gold_per_task=2,
                             gold=gold_items(6), name="First")
    second = launched_project(requester, tasks=1, items_per_task=1, gold_per_task=1,
                              gold=gold_items(1), name="Second")
    worker, client = worker_and_client("dana@workers.example")
    label(worker, first, gold_right())
    label(worker, first, gold_wrong())
    give_back(worker, first)
    label(worker, second, gold_right())

    body = client.get(WORKER_STATS).json()

    # Overlap 1: each item labelled is final at once, compared with the worker's own label.
    common = {"items_disagreed": 0, "reviews_passed": 0, "reviews_failed": 0,
              "suspended": False, "quality_actions": []}
    assert body["projects"] == [
        {"project_id": first.pk, "project_name": "First", "gold_seen": 4, "gold_correct": 2,
         "accuracy": 0.5, "accuracy_lower_bound": wilson_lower_bound(2, 4),
         "submitted": 2, "returned": 1, "items_compared": 2, **common},
        {"project_id": second.pk, "project_name": "Second", "gold_seen": 1,
         "gold_correct": 1, "accuracy": 1.0, "accuracy_lower_bound": wilson_lower_bound(1, 1),
         "submitted": 1, "returned": 0, "items_compared": 1, **common},
    ]
    assert body["skills"] == [
        {"skill": "sentiment-en", "gold_seen": 5, "gold_correct": 3, "accuracy": 0.6,
         "accuracy_lower_bound": wilson_lower_bound(3, 5)}]


def test_a_project_without_gold_shows_no_accuracy(requester):
    project = launched_project(requester, tasks=1, items_per_task=1, name="No gold")
    worker, client = worker_and_client("dana@workers.example")
    label(worker, project, "positive")

    (row,) = client.get(WORKER_STATS).json()["projects"]

    assert (row["gold_seen"], row["accuracy"], row["accuracy_lower_bound"],
            row["submitted"]) == (0, None, None, 1)


def test_a_worker_sees_only_their_own_stats(requester):
    project = launched_project(requester, tasks=1, items_per_task=1, overlap=2,
                               gold_per_task=1, gold=gold_items(1))
    dana, _ = worker_and_client("dana@workers.example")
    label(dana, project, gold_right())
    _, erin_client = worker_and_client("erin@workers.example")

    assert erin_client.get(WORKER_STATS).json() == {"projects": [], "skills": []}


@pytest.mark.parametrize("who, status_code", [("requester_client", 403),
                                              ("staff_client", 403),
                                              ("api_client", 401)])
def test_only_workers_have_stats(request, who, status_code):
    response = request.getfixturevalue(who).get(WORKER_STATS)

    assert response.status_code == status_code, response.content
