"""``Idempotency-Key`` on create endpoints (config/idempotency.py), through POST
/api/v1/projects: same key + same body replays the first answer and creates nothing new."""
import threading
import time

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import IdempotencyRecord
from conftest import PASSWORD, make_requester, project_payload, requires_postgresql
from marketplace import services as marketplace_services
from marketplace.models import Project

PROJECTS = "/api/v1/projects"


def test_same_key_and_body_replays_the_first_response_and_creates_one_project(
        requester_client, requester):
    first = requester_client.post(PROJECTS, project_payload(), HTTP_IDEMPOTENCY_KEY="create-1")

    second = requester_client.post(PROJECTS, project_payload(), HTTP_IDEMPOTENCY_KEY="create-1")

    assert first.status_code == 201
    assert second.status_code == 201
    assert second.json() == first.json()
    assert first.json()["status"] == "draft"
    assert first.has_header("Idempotent-Replayed") is False
    assert second["Idempotent-Replayed"] == "true"
    assert list(Project.objects.values_list("pk", flat=True)) == [first.json()["id"]]
    record = IdempotencyRecord.objects.get()
    assert (record.user_id, record.key, record.method, record.path, record.response_status) == (
        requester.pk, "create-1", "POST", PROJECTS, 201)
    assert record.response_body == first.json()


def test_replay_returns_the_first_response_even_after_the_project_changed(requester_client):
    first = requester_client.post(PROJECTS, project_payload(), HTTP_IDEMPOTENCY_KEY="create-1")
    project_id = first.json()["id"]
    renamed = requester_client.patch(f"{PROJECTS}/{project_id}", {"name": "Renamed"})
    assert renamed.status_code == 200

    replay = requester_client.post(PROJECTS, project_payload(), HTTP_IDEMPOTENCY_KEY="create-1")

    assert replay.status_code == 201
    assert replay.json() == first.json()
    assert replay.json()["name"] == "Sentiment"
    assert Project.objects.count() == 1


def test_without_a_key_every_post_creates_a_project(requester_client):
    first = requester_client.post(PROJECTS, project_payload())
    second = requester_client.post(PROJECTS, project_payload())

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]
    assert Project.objects.count() == 2
    assert IdempotencyRecord.objects.count() == 0


def test_same_key_with_a_different_body_is_a_409_and_creates_nothing(requester_client):
    first = requester_client.post(PROJECTS, project_payload(), HTTP_IDEMPOTENCY_KEY="create-1")

    reused = requester_client.post(PROJECTS, project_payload(name="Another"),
                                   HTTP_IDEMPOTENCY_KEY="create-1")

    assert first.status_code == 201
    assert reused.status_code == 409
    assert reused.json() == {"error": {
        "code": "idempotency_key_reused",
        "message": "This Idempotency-Key was used with a different request.", "fields": {}}}
    assert reused.has_header("Idempotent-Replayed") is False
    assert list(Project.objects.values_list("name", flat=True)) == ["Sentiment"]
    assert IdempotencyRecord.objects.count() == 1


def test_same_key_on_another_endpoint_is_a_409_and_stores_nothing(requester_client):
    created = requester_client.post(PROJECTS, project_payload(), HTTP_IDEMPOTENCY_KEY="k-1")
    project_id = created.json()["id"]

    reused = requester_client.post(f"{PROJECTS}/{project_id}/items",
                                   {"items": [{"data": {"text": "hello"}}]},
                                   HTTP_IDEMPOTENCY_KEY="k-1")

    assert reused.status_code == 409
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    project = Project.objects.get()
    assert project.items.count() == 0
    assert IdempotencyRecord.objects.count() == 1


def test_failed_request_is_not_remembered_and_a_corrected_retry_succeeds(requester_client):
    failed = requester_client.post(PROJECTS, project_payload(reward_cents=None),
                                   HTTP_IDEMPOTENCY_KEY="create-1")
    assert failed.status_code == 400
    assert failed.json() == {"error": {
        "code": "validation_error",
        "message": "Invalid input: reward_cents: Required when pay_model is per_task.",
        "fields": {"reward_cents": ["Required when pay_model is per_task."]}}}
    assert Project.objects.count() == 0
    assert IdempotencyRecord.objects.count() == 0

    corrected = requester_client.post(PROJECTS, project_payload(),
                                      HTTP_IDEMPOTENCY_KEY="create-1")
    replay = requester_client.post(PROJECTS, project_payload(), HTTP_IDEMPOTENCY_KEY="create-1")
    stale_retry = requester_client.post(PROJECTS, project_payload(reward_cents=None),
                                        HTTP_IDEMPOTENCY_KEY="create-1")

    assert corrected.status_code == 201
    assert corrected.has_header("Idempotent-Replayed") is False
    assert replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == corrected.json()
    assert stale_retry.status_code == 409
    assert stale_retry.json()["error"]["code"] == "idempotency_key_reused"
    assert list(Project.objects.values_list("pk", flat=True)) == [corrected.json()["id"]]
    assert IdempotencyRecord.objects.count() == 1


def test_serializer_failure_is_not_remembered_either(requester_client):
    failed = requester_client.post(PROJECTS, project_payload(name=""),
                                   HTTP_IDEMPOTENCY_KEY="create-1")

    corrected = requester_client.post(PROJECTS, project_payload(),
                                      HTTP_IDEMPOTENCY_KEY="create-1")

    assert failed.status_code == 400
    assert failed.json()["error"]["fields"] == {"name": ["This field may not be blank."]}
    assert corrected.status_code == 201
    assert Project.objects.count() == 1


def test_keys_are_per_user(requester_client, other_requester_client, requester,
                           other_requester):
    mine = requester_client.post(PROJECTS, project_payload(), HTTP_IDEMPOTENCY_KEY="shared-key")

    theirs = other_requester_client.post(PROJECTS, project_payload(),
                                         HTTP_IDEMPOTENCY_KEY="shared-key")

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert theirs.has_header("Idempotent-Replayed") is False
    assert mine.json()["id"] != theirs.json()["id"]
    assert Project.objects.get(pk=mine.json()["id"]).organization_id == (
        requester.membership.organization_id)
    assert Project.objects.get(pk=theirs.json()["id"]).organization_id == (
        other_requester.membership.organization_id)
    assert sorted(IdempotencyRecord.objects.values_list("user_id", flat=True)) == sorted(
        [requester.pk, other_requester.pk])


def test_another_user_cannot_replay_my_response_with_my_key(requester_client,
                                                            other_requester_client):
    mine = requester_client.post(PROJECTS, project_payload(), HTTP_IDEMPOTENCY_KEY="shared-key")

    theirs = other_requester_client.post(PROJECTS, project_payload(name="Globex project"),
                                         HTTP_IDEMPOTENCY_KEY="shared-key")

    assert theirs.status_code == 201
    assert theirs.json()["id"] != mine.json()["id"]
    assert theirs.json()["name"] == "Globex project"


@requires_postgresql
@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_duplicates_create_one_project_and_all_get_its_response(monkeypatch):
    # The unique (user, key) index makes each twin wait for the first request's commit,
    # then replay it; no twin sees the key "in progress" on PostgreSQL (READ COMMITTED).
    # serialized_rollback: the skill taxonomy comes from a data migration, and an earlier
    # transactional test's flush may have wiped it.
    requester = make_requester("alice@acme.example", "Acme AI")
    create_project = marketplace_services.project_create

    def slow_project_create(**kwargs):
        time.sleep(0.3)  # hold the first request open so its twins arrive mid-flight
        return create_project(**kwargs)

    monkeypatch.setattr(marketplace_services, "project_create", slow_project_create)
    token_client = APIClient()
    token = token_client.post("/api/v1/auth/token", {"email": "alice@acme.example",
                                                     "password": PASSWORD}).json()["token"]
    threads_count = 8
    barrier = threading.Barrier(threads_count)
    responses = [None] * threads_count
    failures = []

    def post(index):
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
            barrier.wait(timeout=10)
            responses[index] = client.post(PROJECTS, project_payload(),
                                           HTTP_IDEMPOTENCY_KEY="race-1")
        except Exception as exc:  # surfaced by the assertion below, not lost in the thread
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(index,)) for index in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    assert [response.status_code for response in responses] == [201] * threads_count
    bodies = [response.json() for response in responses]
    assert all(body == bodies[0] for body in bodies)
    replayed = [response.get("Idempotent-Replayed") for response in responses]
    assert sorted(replayed, key=str) == [None] + ["true"] * (threads_count - 1)
    assert list(Project.objects.filter(organization=requester.membership.organization)
                .values_list("pk", flat=True)) == [bodies[0]["id"]]
    assert IdempotencyRecord.objects.filter(user=requester).count() == 1
