"""prelabel: workers see the prediction in the task payload; gold items carry decoys
(wrong on purpose), so a worker who keeps every pre-label misses gold and the usual gold
rule suspends them; the report counts kept and changed pre-labels."""
import pytest

from conftest import client_for
from qa.enums import QualityActionKind, QualityRule
from qa.models import QualityAction
from qa.tests.conftest import (
    committed,
    gold_items,
    launched_project,
    worker_and_client,
)

from .helpers import configure, external_ids, predict

pytestmark = pytest.mark.django_db
NEXT = "/api/v1/worker/tasks/next"


def prelabel_project(requester):
    project = launched_project(requester, tasks=2, items_per_task=1, gold_per_task=3,
                               external_ids=external_ids(2), gold=gold_items(6, "positive"),
                               min_gold_accuracy=0.8,
                               quality={"min_gold_before_suspension": 3})
    predict(project, [("e0", "negative", 0.7), ("e1", "negative", 0.6)])
    configure(project, mode="prelabel")
    return project


def work_through_api(client, choose):
    served = client.post(NEXT, {}, format="json").json()
    answers = [{"item_id": item["id"], "value": choose(item)} for item in served["items"]]
    response = committed(client.post,
                         f"/api/v1/worker/assignments/{served['assignment_id']}/submit",
                         {"answers": answers}, format="json")
    assert response.status_code == 200, response.content
    return served


def test_payload_carries_predictions_and_decoys_on_gold(requester):
    project = prelabel_project(requester)
    _, client = worker_and_client("dana@workers.example")

    served = client.post(NEXT, {}, format="json").json()

    shown = [item["prediction"]["value"] for item in served["items"]]
    # One real item predicted "negative"; the three gold items (answer "positive") each
    # carry a decoy: never the gold answer.
    assert len(shown) == 4 and "positive" not in shown
    assert all(set(item) == {"id", "data", "prediction"} for item in served["items"])
    assert all(set(item["prediction"]) == {"value"} for item in served["items"])


def test_no_prediction_shown_when_the_mode_is_off(requester):
    project = prelabel_project(requester)
    configure(project, mode="off")
    _, client = worker_and_client("dana@workers.example")

    served = client.post(NEXT, {}, format="json").json()

    assert all("prediction" not in item for item in served["items"])


def test_decoys_catch_a_rubber_stamping_worker(requester):
    project = prelabel_project(requester)
    stamper, stamper_client = worker_and_client("stamp@workers.example")
    careful, careful_client = worker_and_client("care@workers.example")

    # The rubber stamper keeps every pre-label; the careful worker reads the texts
    # ("gold i" texts are positive) and corrects them.
    work_through_api(stamper_client, lambda item: item["prediction"]["value"])
    work_through_api(careful_client, lambda item: "positive")

    assert list(QualityAction.objects.filter(project=project).values_list(
        "worker", "rule", "kind")) == [
        (stamper.pk, QualityRule.LOW_ACCURACY, QualityActionKind.SUSPENDED)]
    report = client_for(requester).get(f"/api/v1/projects/{project.pk}/automation").json()
    assert report["prelabel"] == {"labels_on_predicted_items": 2, "kept": 1, "changed": 1,
                                  "change_rate": 0.5, "gold_answered": 6,
                                  "decoys_kept": 3}
    assert careful.pk != stamper.pk
