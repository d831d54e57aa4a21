"""The contract lists `automation`, `auto_accept_threshold` and `spot_check_rate` among a
project's fields: set on create and PATCH, shown on every project body, stored in the
automation app's settings row (the same one /projects/{id}/automation edits)."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from automation.models import AutomationSettings
from conftest import project_payload

pytestmark = pytest.mark.django_db


def test_a_new_project_shows_the_defaults(requester_client):
    body = requester_client.post("/api/v1/projects", project_payload(), format="json").json()

    assert (body["automation"], body["auto_accept_threshold"], body["spot_check_rate"]) == (
        "off", 0.9, 0.1)
    assert not AutomationSettings.objects.exists()


def test_create_and_patch_set_them_and_the_automation_endpoint_agrees(requester_client):
    response = requester_client.post("/api/v1/projects", project_payload(
        automation="auto_accept", auto_accept_threshold=0.8, spot_check_rate=0.25),
        format="json")
    assert response.status_code == 201, response.json()
    project_id = response.json()["id"]
    assert (response.json()["automation"], response.json()["auto_accept_threshold"],
            response.json()["spot_check_rate"]) == ("auto_accept", 0.8, 0.25)

    patched = requester_client.patch(f"/api/v1/projects/{project_id}",
                                     {"automation": "active", "name": "Renamed"},
                                     format="json").json()

    assert (patched["automation"], patched["name"], patched["spot_check_rate"]) == (
        "active", "Renamed", 0.25)
    shown = requester_client.get(f"/api/v1/projects/{project_id}/automation").json()
    assert (shown["automation"], shown["auto_accept_threshold"]) == ("active", 0.8)
    listed = requester_client.get("/api/v1/projects").json()["results"]
    assert [(p["id"], p["automation"]) for p in listed] == [(project_id, "active")]


@pytest.mark.parametrize("field, value", [("automation", "sometimes"),
                                          ("auto_accept_threshold", 1.5),
                                          ("spot_check_rate", -0.1)])
def test_bad_values_are_refused_and_nothing_is_created(requester_client, field, value):
    response = requester_client.post("/api/v1/projects", project_payload(**{field: value}),
                                     format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert requester_client.get("/api/v1/projects").json()["count"] == 0


def test_the_project_list_reads_them_without_a_query_per_project(requester_client):
    for name in ("a", "b"):
        requester_client.post("/api/v1/projects", project_payload(name=name,
                                                                  automation="prelabel"),
                              format="json")
    with CaptureQueriesContext(connection) as two:
        requester_client.get("/api/v1/projects")
    for name in ("c", "d", "e"):
        requester_client.post("/api/v1/projects", project_payload(name=name), format="json")
    with CaptureQueriesContext(connection) as five:
        requester_client.get("/api/v1/projects")

    assert len(five) == len(two)
