"""Requester corrections of item sensitivity (raise freely, lower with a reason, both
audited) and the access record of sensitive items, for requesters and admins."""
from marketplace.models import Item, Project
from privacy.models import PrivacyEvent

from .helpers import claim, cleared_worker, launched_project, submit


def url(project, item, what):
    return f"/api/v1/projects/{project.pk}/items/{item.pk}/{what}"


def test_raising_an_item_raises_its_project_and_is_audited(requester, requester_client):
    project = launched_project(requester, ["fine text"])
    item = Item.objects.get(project=project)

    response = requester_client.post(url(project, item, "sensitivity"),
                                     {"sensitivity": "phi"}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json() == {"id": item.pk, "external_id": "t1", "sensitivity": "phi",
                               "pii_types": []}
    assert Project.objects.get(pk=project.pk).sensitivity == "phi"
    assert list(PrivacyEvent.objects.order_by("id").values_list("kind", "item_id", "details")) == [
        ("item_sensitivity_raised", item.pk, {"from": "public", "to": "phi", "pii_types": {}}),
        ("project_sensitivity_raised", None, {"from": "public", "to": "phi"}),
    ]


def test_lowering_needs_a_reason_and_is_audited(requester, requester_client):
    project = launched_project(requester, ["write to ann@example.com"])
    item = Item.objects.get(project=project)
    assert item.sensitivity == "pii"
    events_before = PrivacyEvent.objects.count()

    refused = requester_client.post(url(project, item, "sensitivity"),
                                    {"sensitivity": "public", "reason": "  "}, format="json")

    assert refused.status_code == 400
    assert refused.json()["error"]["fields"] == {"reason": ["This field is required."]}
    item.refresh_from_db()
    assert item.sensitivity == "pii"
    assert PrivacyEvent.objects.count() == events_before

    lowered = requester_client.post(
        url(project, item, "sensitivity"),
        {"sensitivity": "public", "reason": "Shared support mailbox, not a person"},
        format="json")

    assert lowered.status_code == 200
    assert lowered.json()["sensitivity"] == "public"
    event = PrivacyEvent.objects.latest("id")
    assert (event.kind, event.item_id, event.reason, event.actor_id, event.details) == (
        "item_sensitivity_lowered", item.pk, "Shared support mailbox, not a person",
        requester.pk, {"from": "pii", "to": "public", "pii_types": {"EMAIL": 1}})
    # The project keeps its level: lowering one item never lowers routing.
    assert Project.objects.get(pk=project.pk).sensitivity == "pii"
    audit = requester_client.get(f"/api/v1/projects/{project.pk}/privacy-events").json()
    assert [row["kind"] for row in audit["results"]][:1] == ["item_sensitivity_lowered"]


def test_other_organizations_get_404_and_change_nothing(requester, other_requester_client):
    project = launched_project(requester, ["write to ann@example.com"])
    item = Item.objects.get(project=project)

    for path, body in (("sensitivity", {"sensitivity": "public", "reason": "x"}),
                       ("access", None)):
        response = (other_requester_client.post(url(project, item, path), body, format="json")
                    if body else other_requester_client.get(url(project, item, path)))
        assert response.status_code == 404
    item.refresh_from_db()
    assert item.sensitivity == "pii"


def test_the_access_record_names_who_was_served_a_sensitive_item(
        requester, requester_client, staff_client, django_capture_on_commit_callbacks):
    project = launched_project(requester, ["write to ann@example.com"], overlap=2,
                               max_overlap=2)
    item = Item.objects.get(project=project)
    dana, dana_client = cleared_worker("dana@workers.example")
    erin, erin_client = cleared_worker("erin@workers.example")
    first = claim(dana_client)
    with django_capture_on_commit_callbacks(execute=True):
        submit(dana_client, first, "positive")
    second = claim(erin_client)

    record = requester_client.get(url(project, item, "access")).json()

    assert (record["item_id"], record["sensitivity"], record["masked_for_workers"]) == (
        item.pk, "pii", False)
    assert [(row["assignment_id"], row["status"], row["instructions_version"],
             row["submitted_at"] is not None) for row in record["access"]] == [
        (first["assignment_id"], "submitted", 1, True),
        (second["assignment_id"], "assigned", 1, False)]
    pseudonyms = [row["worker_id"] for row in record["access"]]
    assert str(dana.pk) not in pseudonyms and len(set(pseudonyms)) == 2
    admin = staff_client.get(f"/api/v1/admin/items/{item.pk}/access").json()
    assert [row["worker_id"] for row in admin["access"]] == [str(dana.pk), str(erin.pk)]
    assert requester_client.get(f"/api/v1/admin/items/{item.pk}/access").status_code == 403


def test_public_items_have_no_access_record(requester, requester_client):
    project = launched_project(requester, ["nothing personal"])
    item = Item.objects.get(project=project)

    response = requester_client.get(url(project, item, "access"))

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_sensitive"


def test_the_project_cannot_drop_below_its_items(requester, requester_client):
    project = launched_project(requester, ["write to ann@example.com"])

    response = requester_client.patch(f"/api/v1/projects/{project.pk}",
                                      {"sensitivity": "public"}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "items_more_sensitive"
    assert Project.objects.get(pk=project.pk).sensitivity == "pii"
    item = Item.objects.get(project=project)
    requester_client.post(url(project, item, "sensitivity"),
                          {"sensitivity": "confidential", "reason": "Role mailbox"},
                          format="json")

    lowered = requester_client.patch(f"/api/v1/projects/{project.pk}",
                                     {"sensitivity": "confidential"}, format="json")

    assert lowered.status_code == 200, lowered.json()
    assert lowered.json()["sensitivity"] == "confidential"
