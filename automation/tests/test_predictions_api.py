"""POST /projects/{id}/predictions: validated per task type exactly like worker answers,
score in 0..1, all or nothing, replacing an item's earlier prediction; scoped to the
requester's organization."""
import pytest

from automation.models import Prediction
from conftest import client_for
from marketplace.services import items_import, project_create
from marketplace.uploads import UploadRow
from workers.tests.factories import project_fields

pytestmark = pytest.mark.django_db

CONFIGS = {
    "single_choice": {"choices": ["positive", "negative", "neutral"]},
    "multi_choice": {"choices": ["red", "green", "blue"]},
    "rating": {"min": 1, "max": 5},
    "text": {"max_length": 10},
    "spans": {"labels": ["PER", "ORG"]},
    "bbox": {"labels": ["cat", "dog"]},
    "pairwise": {"allow_tie": False},
    "ranking": {"size": 3},
}
DATA = {"text": "Ada works at IBM", "a": "x", "b": "y", "options": ["p", "q", "r"],
        "image_url": "https://example.com/a.png"}


def draft(requester, task_type="single_choice", items=2):
    project = project_create(organization=requester.membership.organization, actor=requester,
                             fields=project_fields(task_type=task_type,
                                                   label_config=CONFIGS[task_type]))
    items_import(project=project, actor=requester, is_gold=False, rows=[
        UploadRow(row=i + 1, external_id=f"e{i}", data=DATA, answer=None, has_answer=False)
        for i in range(items)])
    items_import(project=project, actor=requester, is_gold=True, rows=[
        UploadRow(row=1, external_id="g0", data=DATA,
                  answer={"single_choice": "positive", "multi_choice": ["red"], "rating": 3,
                          "text": "x", "spans": [], "bbox": [], "pairwise": "a",
                          "ranking": [0, 1, 2]}[task_type], has_answer=True)])
    return project


def post(requester, project, predictions):
    return client_for(requester).post(f"/api/v1/projects/{project.pk}/predictions",
                                      {"predictions": predictions}, format="json")


def test_stores_and_replaces_predictions(requester):
    project = draft(requester)
    first = post(requester, project, [
        {"external_id": "e0", "value": "positive", "score": 0.9, "model_version": "v1"},
        {"external_id": "e1", "value": "negative", "score": 0, "model_version": "v1"}])
    again = post(requester, project, [
        {"external_id": "e1", "value": "neutral", "score": 1, "model_version": "v2"}])

    assert first.status_code == 200 and first.json() == {"updated": 2}
    assert again.status_code == 200 and again.json() == {"updated": 1}
    assert sorted(Prediction.objects.values_list("item__external_id", "value", "score",
                                                 "model_version")) == [
        ("e0", "positive", 0.9, "v1"), ("e1", "neutral", 1.0, "v2")]


VALID = {
    "single_choice": "negative", "multi_choice": ["red", "blue"], "rating": 5,
    "text": "short", "spans": [{"start": 0, "end": 3, "label": "PER"}],
    "bbox": [{"x": 0.1, "y": 0.2, "w": 0.3, "h": 0.4, "label": "cat"}],
    "pairwise": "b", "ranking": [2, 0, 1],
}
INVALID = {
    "single_choice": ("maybe", "Must be one of: positive, negative, neutral."),
    "multi_choice": (["red", "red"], "Choices must be distinct."),
    "rating": (6, "Must be an integer from 1 to 5."),
    "text": ("far too long", "At most 10 characters."),
    "spans": ([{"start": 0, "end": 99, "label": "PER"}], None),
    "bbox": ([{"x": 0.1, "y": 0.2, "w": 0.3, "h": 0.4, "label": "cow"}], None),
    "pairwise": ("tie", "Must be one of: a, b."),
    "ranking": ([0, 0, 1], "Must be a permutation of 0..2."),
}


@pytest.mark.parametrize("task_type", sorted(CONFIGS))
def test_a_prediction_is_validated_like_a_worker_answer(requester, task_type):
    project = draft(requester, task_type)
    bad_value, message = INVALID[task_type]

    good = post(requester, project, [{"external_id": "e0", "value": VALID[task_type],
                                      "score": 0.5, "model_version": "m"}])
    refused = post(requester, project, [
        {"external_id": "e1", "value": VALID[task_type], "score": 0.5, "model_version": "m"},
        {"external_id": "e0", "value": bad_value, "score": 0.5, "model_version": "m2"}])

    assert good.status_code == 200, good.content
    assert refused.status_code == 400
    fields = refused.json()["error"]["fields"]
    assert list(fields) == ["predictions.1.value"]
    if message is not None:
        assert fields["predictions.1.value"] == [message]
    # Nothing of the refused request was stored: e1 has none, e0 keeps the first one.
    assert list(Prediction.objects.values_list("item__external_id", "model_version")) == [
        ("e0", "m")]


@pytest.mark.parametrize("entry, field, message", [
    ({"external_id": "e0", "value": "positive", "score": 1.5, "model_version": "v"},
     "predictions.0.score", "Must be a number from 0 to 1."),
    ({"external_id": "e0", "value": "positive", "score": True, "model_version": "v"},
     "predictions.0.score", "Must be a number from 0 to 1."),
    ({"external_id": "e0", "value": "positive", "score": "0.5", "model_version": "v"},
     "predictions.0.score", "Must be a number from 0 to 1."),
    ({"external_id": "e0", "value": "positive", "score": 0.5, "model_version": " "},
     "predictions.0.model_version",
     "Must be a non-empty string of at most 100 characters."),
    ({"external_id": "g0", "value": "positive", "score": 0.5, "model_version": "v"},
     "predictions.0.external_id", "No item of this project (gold excluded) has it."),
    ({"external_id": "nope", "value": "positive", "score": 0.5, "model_version": "v"},
     "predictions.0.external_id", "No item of this project (gold excluded) has it."),
    ({"external_id": "e0", "value": "positive", "score": 0.5, "model_version": "v",
      "extra": 1}, "predictions.0", "Unknown field(s): extra."),
])
def test_refuses_bad_scores_versions_and_items(requester, entry, field, message):
    project = draft(requester)

    response = post(requester, project, [entry])

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {field: [message]}
    assert not Prediction.objects.exists()


def test_the_same_item_twice_is_refused(requester):
    project = draft(requester)
    entry = {"external_id": "e0", "value": "positive", "score": 0.5, "model_version": "v"}

    response = post(requester, project, [entry, entry])

    assert response.json()["error"]["fields"] == {
        "predictions.1.external_id": ["Given twice in this request."]}
    assert not Prediction.objects.exists()


def test_scoped_to_the_requesters_organization(requester, other_requester, worker):
    project = draft(requester)
    entry = [{"external_id": "e0", "value": "positive", "score": 0.5, "model_version": "v"}]

    assert post(other_requester, project, entry).status_code == 404
    assert client_for(worker).post(f"/api/v1/projects/{project.pk}/predictions",
                                   {"predictions": entry}, format="json").status_code == 403
    assert client_for(other_requester).get(
        f"/api/v1/projects/{project.pk}/automation").status_code == 404
    assert not Prediction.objects.exists()
