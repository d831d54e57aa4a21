"""Predictions on import: JSON/JSONL rows carry ``prediction: {value, score,
model_version}``, CSV the columns prediction / prediction_score / prediction_model_version.
Checked by the rule of the bulk predictions endpoint (the value like a worker's answer,
score 0..1); a bad one refuses the upload naming its row; inline, file and background
imports alike. In auto-accept mode the imported predictions are auto-accepted."""
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from automation.models import Prediction
from automation.tests.helpers import configure
from conftest import fund_organization, project_payload
from marketplace.models import Item, ItemImport

pytestmark = pytest.mark.django_db


def items_url(project_id) -> str:
    return f"/api/v1/projects/{project_id}/items"


def make_project(client, **overrides) -> dict:
    response = client.post("/api/v1/projects", project_payload(**overrides), format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def post_file(client, project_id, name, content: str):
    return client.post(items_url(project_id),
                       {"file": SimpleUploadedFile(name, content.encode())}, format="multipart")


def stored(project_id) -> list[tuple]:
    return sorted(Prediction.objects.filter(project_id=project_id).values_list(
        "item__external_id", "value", "score", "model_version"))


def assert_refused(response, project_id, fields: dict) -> None:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid_rows"
    assert error["fields"] == fields
    assert Item.objects.filter(project_id=project_id).count() == 0
    assert Prediction.objects.count() == 0


def test_inline_rows_store_their_predictions(requester_client, project):
    response = requester_client.post(items_url(project["id"]), {"items": [
        {"external_id": "a", "data": {"text": "good"},
         "prediction": {"value": "positive", "score": 0.93, "model_version": "m1"}},
        {"external_id": "b", "data": {"text": "meh"}},
        {"external_id": "c", "data": {"text": "bad"},
         "prediction": {"value": "negative", "score": 0, "model_version": "m1"}},
    ]}, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["created"] == 3
    assert stored(project["id"]) == [("a", "positive", 0.93, "m1"),
                                     ("c", "negative", 0.0, "m1")]
    listed = requester_client.get(items_url(project["id"])).json()["results"]
    assert [item["prediction"] for item in listed] == [
        {"value": "positive", "score": 0.93, "model_version": "m1"}, None,
        {"value": "negative", "score": 0.0, "model_version": "m1"}]


def test_rows_without_external_id_get_their_own_prediction(requester_client, project):
    rows = [{"data": {"text": f"t{i}"},
             "prediction": {"value": ["positive", "negative"][i % 2], "score": i / 10,
                            "model_version": "m1"}} for i in range(5)]

    response = requester_client.post(items_url(project["id"]), {"items": rows}, format="json")

    assert response.status_code == 201, response.json()
    assert sorted(Prediction.objects.values_list("item__data__text", "value", "score")) == [
        ("t0", "positive", 0.0), ("t1", "negative", 0.1), ("t2", "positive", 0.2),
        ("t3", "negative", 0.3), ("t4", "positive", 0.4)]


def test_jsonl_file_with_predictions(requester_client, project):
    content = "".join(json.dumps(row) + "\n" for row in [
        {"external_id": "a", "data": {"text": "x"},
         "prediction": {"value": "neutral", "score": 0.5, "model_version": "m2"}},
        {"external_id": "b", "data": {"text": "y"}, "prediction": None}])

    response = post_file(requester_client, project["id"], "rows.jsonl", content)

    assert response.status_code == 201, response.json()
    assert stored(project["id"]) == [("a", "neutral", 0.5, "m2")]


def test_csv_prediction_columns_bare_label_and_json(requester_client):
    single = make_project(requester_client)
    multi = make_project(requester_client, task_type="multi_choice",
                         label_config={"choices": ["red", "green", "1"]})

    single_csv = ("external_id,text,prediction,prediction_score,prediction_model_version\n"
                  "a,nice,positive,0.8,m1\n"
                  'b,awful,"""negative""",1,m1\n'
                  "c,nothing,,,\n")
    multi_csv = ("external_id,text,prediction,prediction_score,prediction_model_version\n"
                 'a,x,"[""red"", ""1""]",0.25,m3\n'
                 "b,y,1,0.5,m3\n")

    assert post_file(requester_client, single["id"], "s.csv", single_csv).status_code == 201
    assert post_file(requester_client, multi["id"], "m.csv", multi_csv).status_code == 400
    multi_ok = multi_csv.replace("b,y,1,0.5,m3", 'b,y,"[""green""]",0.5,m3')
    assert post_file(requester_client, multi["id"], "m.csv", multi_ok).status_code == 201

    assert stored(single["id"]) == [("a", "positive", 0.8, "m1"), ("b", "negative", 1.0, "m1")]
    # The prediction columns are not data columns.
    assert sorted(Item.objects.filter(project_id=single["id"]).values_list("data", flat=True),
                  key=str) == [{"text": "awful"}, {"text": "nice"}, {"text": "nothing"}]
    assert stored(multi["id"]) == [("a", ["red", "1"], 0.25, "m3"), ("b", ["green"], 0.5, "m3")]


def test_csv_choice_that_reads_as_a_number_stays_the_choice(requester_client):
    project = make_project(requester_client, label_config={"choices": ["1", "2", "3"]})
    content = ("text,prediction,prediction_score,prediction_model_version\n"
               "x,2,0.9,m1\n")

    response = post_file(requester_client, project["id"], "r.csv", content)

    assert response.status_code == 201, response.json()
    assert Prediction.objects.get().value == "2"


def test_bad_prediction_value_refuses_the_upload_naming_the_row(requester_client, project):
    response = requester_client.post(items_url(project["id"]), {"items": [
        {"data": {"text": "x"},
         "prediction": {"value": "positive", "score": 0.5, "model_version": "m1"}},
        {"data": {"text": "y"},
         "prediction": {"value": "maybe", "score": 0.5, "model_version": "m1"}},
    ]}, format="json")

    assert_refused(response, project["id"], {
        "rows.2.prediction.value": ["Must be one of: positive, negative, neutral."]})


@pytest.mark.parametrize("prediction, fields", [
    ({"value": "positive", "score": 1.5, "model_version": "m1"},
     {"rows.1.prediction.score": ["Must be a number from 0 to 1."]}),
    ({"value": "positive", "score": "high", "model_version": "m1"},
     {"rows.1.prediction.score": ["Must be a number from 0 to 1."]}),
    ({"value": "positive", "score": 0.5},
     {"rows.1.prediction.model_version": [
         "Must be a non-empty string of at most 100 characters."]}),
    ({"value": "positive", "score": 0.5, "model_version": "m1", "extra": 1},
     {"rows.1.prediction": ["unknown key(s): extra."]}),
    ("positive", {"rows.1.prediction": ["must be an object {value, score, model_version}."]}),
])
def test_bad_prediction_fields_are_named(requester_client, project, prediction, fields):
    response = requester_client.post(items_url(project["id"]), {"items": [
        {"data": {"text": "x"}, "prediction": prediction}]}, format="json")

    assert_refused(response, project["id"], fields)


def test_csv_bad_score_names_the_line(requester_client, project):
    content = ("text,prediction,prediction_score,prediction_model_version\n"
               "x,positive,0.5,m1\n"
               "y,positive,-0.1,m1\n")

    response = post_file(requester_client, project["id"], "r.csv", content)

    assert_refused(response, project["id"],
                   {"rows.3.prediction.score": ["Must be a number from 0 to 1."]})


def test_gold_rows_carry_no_prediction(requester_client, project):
    response = requester_client.post(f"/api/v1/projects/{project['id']}/gold", {"items": [
        {"data": {"text": "x"}, "answer": "positive",
         "prediction": {"value": "positive", "score": 0.5, "model_version": "m1"}}]},
        format="json")

    assert_refused(response, project["id"], {"rows.1.prediction": [
        "gold items carry no prediction (in prelabel mode Quorum shows decoys)."]})


@override_settings(IMPORT_SYNC_MAX_ROWS=2)
def test_background_import_stores_predictions(requester_client, project,
                                              django_capture_on_commit_callbacks):
    content = "".join(json.dumps({
        "external_id": f"e{i}", "data": {"text": f"t{i}"},
        "prediction": {"value": "neutral", "score": 0.5, "model_version": "bg"}}) + "\n"
        for i in range(4))

    with django_capture_on_commit_callbacks(execute=True):
        response = post_file(requester_client, project["id"], "big.jsonl", content)

    assert response.status_code == 202, response.json()
    assert ItemImport.objects.get().status == "succeeded"
    assert stored(project["id"]) == [(f"e{i}", "neutral", 0.5, "bg") for i in range(4)]


@override_settings(IMPORT_SYNC_MAX_ROWS=2)
def test_background_import_with_a_bad_prediction_fails_naming_the_row(
        requester_client, project, django_capture_on_commit_callbacks):
    rows = [{"data": {"text": f"t{i}"},
             "prediction": {"value": "neutral", "score": 0.5, "model_version": "bg"}}
            for i in range(3)]
    rows[2]["prediction"]["value"] = "wrong"
    content = "".join(json.dumps(row) + "\n" for row in rows)

    with django_capture_on_commit_callbacks(execute=True):
        response = post_file(requester_client, project["id"], "big.jsonl", content)

    assert response.status_code == 202
    item_import = ItemImport.objects.get()
    assert item_import.status == "failed"
    assert item_import.errors == [{"row": 3, "field": "prediction.value",
                                   "message": "Must be one of: positive, negative, neutral."}]
    assert Item.objects.count() == 0 and Prediction.objects.count() == 0


def test_imported_predictions_are_auto_accepted_in_auto_accept_mode(
        requester, requester_client, project, django_capture_on_commit_callbacks):
    fund_organization(requester)
    from marketplace.models import Project
    model = Project.objects.get(pk=project["id"])
    # No random sample; the version's first confident prediction is still checked.
    configure(model, mode="auto_accept", auto_accept_threshold=0.9, spot_check_rate=0,
              min_spot_checks=1)
    with django_capture_on_commit_callbacks(execute=True):
        requester_client.post(items_url(project["id"]), {"items": [{"data": {"text": "z"}}]},
                              format="json")
        launched = requester_client.post(f"/api/v1/projects/{project['id']}/launch")
        assert launched.status_code == 200, launched.json()
        # A launched project may take more items (their escrow is reserved at upload).
        response = requester_client.post(items_url(project["id"]), {"items": [
            {"external_id": "check", "data": {"text": "w"},
             "prediction": {"value": "positive", "score": 0.95, "model_version": "m1"}},
            {"external_id": "sure", "data": {"text": "x"},
             "prediction": {"value": "positive", "score": 0.95, "model_version": "m1"}},
            {"external_id": "unsure", "data": {"text": "y"},
             "prediction": {"value": "negative", "score": 0.4, "model_version": "m1"}},
        ]}, format="json")

    assert response.status_code == 201, response.json()
    assert dict(Prediction.objects.values_list("item__external_id", "state")) == {
        "check": "spot_check", "sure": "auto_accepted", "unsure": "none"}
    assert Item.objects.get(external_id="sure").result == "positive"
    assert Item.objects.get(external_id="unsure").result is None
