"""Imports scan items for personal data: raise (default), refuse, or off; what the
requester sees (pii_raised, sensitivity, pii_types) and what is audited."""
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from conftest import project_payload
from marketplace.models import Item, ItemImport, Project, Task
from privacy.models import PrivacyEvent

ROWS = [
    {"external_id": "r1", "data": {"text": "Great blender, works fine."}},
    {"external_id": "r2", "data": {"text": "Broke after a week, mail me at ann@example.com"}},
    {"external_id": "r3", "data": {"text": "Call +44 20 7946 0958 or ann@example.com or "
                                           "bob@example.org"}},
]


def make_project(client, **overrides) -> dict:
    response = client.post("/api/v1/projects", project_payload(**overrides), format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def upload(client, project_id, rows=ROWS):
    return client.post(f"/api/v1/projects/{project_id}/items", {"items": rows}, format="json")


def items_listed(client, project_id) -> list[dict]:
    response = client.get(f"/api/v1/projects/{project_id}/items")
    assert response.status_code == 200
    return response.json()["results"]


def test_detected_items_are_raised_and_reported_without_values(requester_client):
    project = make_project(requester_client)
    assert project["pii_detection"] == "raise"

    response = upload(requester_client, project["id"])

    assert response.status_code == 201, response.json()
    assert response.json() == {"created": 3, "tasks_created": 2, "pii_raised": 2}
    listed = items_listed(requester_client, project["id"])
    assert [(row["external_id"], row["sensitivity"], row["pii_types"], row["pii_counts"])
            for row in listed] == [
        ("r1", "public", [], {}),
        ("r2", "pii", ["EMAIL"], {"EMAIL": 1}),
        ("r3", "pii", ["EMAIL", "PHONE"], {"EMAIL": 2, "PHONE": 1}),
    ]
    body = json.dumps(listed)
    assert "pii_spans" not in body  # offsets stay server-side; values were never stored apart
    assert Project.objects.get(pk=project["id"]).sensitivity == "pii"
    events = list(PrivacyEvent.objects.filter(project_id=project["id"]).order_by("id")
                  .values_list("kind", "details"))
    assert events == [
        ("import_pii_raised", {"items_raised": 2, "pii_types": {"EMAIL": 3, "PHONE": 1}}),
        ("project_sensitivity_raised", {"from": "public", "to": "pii"}),
    ]


def test_a_phi_project_keeps_its_level_and_raises_nothing(requester_client):
    project = make_project(requester_client, sensitivity="phi")

    response = upload(requester_client, project["id"])

    assert response.json()["pii_raised"] == 0
    listed = items_listed(requester_client, project["id"])
    assert [row["sensitivity"] for row in listed] == ["phi", "phi", "phi"]
    assert [row["pii_types"] for row in listed] == [[], ["EMAIL"], ["EMAIL", "PHONE"]]
    assert PrivacyEvent.objects.count() == 0


def test_refuse_mode_answers_400_naming_the_rows_and_stores_nothing(requester_client):
    project = make_project(requester_client, pii_detection="refuse")

    response = upload(requester_client, project["id"])

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "personal_data_refused"
    assert error["fields"] == {"rows.2.data": ["Personal data found: EMAIL x1."],
                               "rows.3.data": ["Personal data found: EMAIL x2, PHONE x1."]}
    assert Item.objects.filter(project_id=project["id"]).count() == 0
    assert Task.objects.filter(project_id=project["id"]).count() == 0
    assert PrivacyEvent.objects.count() == 0
    assert Project.objects.get(pk=project["id"]).sensitivity == "public"


def test_off_mode_does_not_scan(requester_client):
    project = make_project(requester_client, pii_detection="off")

    response = upload(requester_client, project["id"])

    assert response.json() == {"created": 3, "tasks_created": 2, "pii_raised": 0}
    assert list(Item.objects.filter(project_id=project["id"]).values_list(
        "pii_types", "sensitivity")) == [({}, "public")] * 3


def test_gold_is_scanned_too(requester_client):
    project = make_project(requester_client)

    response = requester_client.post(
        f"/api/v1/projects/{project['id']}/gold",
        {"items": [{"data": {"text": "ann@example.com"}, "answer": "neutral"}]},
        format="json")

    assert response.status_code == 201, response.json()
    assert response.json() == {"created": 1, "pii_raised": 1}
    assert Item.objects.get(project_id=project["id"]).pii_types == {"EMAIL": 1}


@override_settings(IMPORT_SYNC_MAX_ROWS=2)
def test_background_import_reports_pii_raised(requester_client,
                                              django_capture_on_commit_callbacks):
    project = make_project(requester_client)
    content = "".join(json.dumps(row) + "\n" for row in ROWS).encode()

    with django_capture_on_commit_callbacks(execute=True):
        response = requester_client.post(
            f"/api/v1/projects/{project['id']}/items",
            {"file": SimpleUploadedFile("items.jsonl", content)}, format="multipart")

    assert response.status_code == 202, response.json()
    body = requester_client.get(f"/api/v1/imports/{response.json()['import_id']}").json()
    assert (body["status"], body["items_created"], body["pii_raised"]) == ("succeeded", 3, 2)
    assert ItemImport.objects.get().pii_raised == 2


@pytest.mark.parametrize("mode", ["raise", "refuse", "off"])
def test_the_setting_can_be_changed_and_unknown_values_are_refused(requester_client, mode):
    project = make_project(requester_client)

    ok = requester_client.patch(f"/api/v1/projects/{project['id']}",
                                {"pii_detection": mode}, format="json")
    bad = requester_client.patch(f"/api/v1/projects/{project['id']}",
                                 {"pii_detection": "maybe"}, format="json")

    assert ok.status_code == 200 and ok.json()["pii_detection"] == mode
    assert bad.status_code == 400 and "pii_detection" in bad.json()["error"]["fields"]
    assert Project.objects.get(pk=project["id"]).pii_detection == mode
