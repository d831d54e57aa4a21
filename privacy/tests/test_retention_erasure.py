"""retention_days (a job: audited, idempotent, resumable) and erasure by external_id
(items, answers, webhook bodies, caches; a receipt)."""
import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from marketplace.models import Answer, Item, WebhookDelivery
from marketplace.services.sensitive_data import items_apply_retention
from marketplace.tasks import apply_retention
from marketplace.webhooks.services import webhook_endpoint_create
from privacy.models import ErasureReceipt, PrivacyEvent
from privacy.services import external_id_hash

from .helpers import claim, cleared_worker, launched_project, submit

TEXTS = ["ann@example.com hated it", "bob liked it", "call +44 20 7946 0958, great"]


def labelled_text_project(requester, capture, **overrides):
    """A free-text project whose three items are labelled and final."""
    project = launched_project(requester, TEXTS, task_type="text",
                               label_config={"max_length": 100}, **overrides)
    _, client = cleared_worker("dana@workers.example")
    for note in ("angry customer", "happy customer", "mentions a phone"):
        with capture(execute=True):
            assert submit(client, claim(client), note).status_code == 200
    assert Item.objects.filter(project=project, finalized_at__isnull=True).count() == 0
    return project


def age_items(project, days):
    Item.objects.filter(project=project).update(
        finalized_at=timezone.now() - timedelta(days=days))


def test_retention_erases_data_and_free_text_once_due(requester,
                                                      django_capture_on_commit_callbacks):
    project = labelled_text_project(requester, django_capture_on_commit_callbacks,
                                    retention_days=30)
    age_items(project, 29)

    assert items_apply_retention() == {}
    assert Item.objects.filter(project=project, erased_at__isnull=False).count() == 0

    age_items(project, 31)
    erased_count = apply_retention.delay().get()

    assert erased_count == 3
    rows = list(Item.objects.filter(project=project).order_by("pk").values_list(
        "external_id", "data", "result", "pii_spans"))
    assert rows == [("t1", {}, None, []), ("t2", {}, None, []), ("t3", {}, None, [])]
    assert list(Answer.objects.filter(item__project=project).values_list("value", flat=True)
                ) == [None, None, None]
    events = PrivacyEvent.objects.filter(project=project, kind="retention_applied")
    assert [(e.details["items"], e.details["answers"], e.details["results_kept"])
            for e in events] == [(3, 3, False)]
    # Idempotent: a second run finds nothing and writes nothing.
    assert items_apply_retention() == {}
    assert PrivacyEvent.objects.filter(kind="retention_applied").count() == 1


def test_retention_keeps_results_when_asked(requester, django_capture_on_commit_callbacks):
    project = labelled_text_project(requester, django_capture_on_commit_callbacks,
                                    retention_days=1, retention_keep_results=True)
    results = list(Item.objects.filter(project=project).order_by("pk")
                   .values_list("result", flat=True))
    age_items(project, 2)

    assert items_apply_retention() == {project.pk: 3}

    assert list(Item.objects.filter(project=project).order_by("pk")
                .values_list("data", "result")) == [({}, result) for result in results]


def test_retention_resumes_where_a_crashed_run_stopped(requester,
                                                       django_capture_on_commit_callbacks,
                                                       monkeypatch):
    project = labelled_text_project(requester, django_capture_on_commit_callbacks,
                                    retention_days=1)
    age_items(project, 2)
    from marketplace.services import sensitive_data

    real = sensitive_data._erase_items
    calls = []

    def crash_on_second_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("worker died")
        return real(*args, **kwargs)

    monkeypatch.setattr(sensitive_data, "_erase_items", crash_on_second_batch)
    with pytest.raises(RuntimeError):
        items_apply_retention(batch_size=1)
    assert Item.objects.filter(project=project, erased_at__isnull=False).count() == 1
    monkeypatch.setattr(sensitive_data, "_erase_items", real)

    assert items_apply_retention(batch_size=1) == {project.pk: 2}
    assert Item.objects.filter(project=project, erased_at__isnull=True).count() == 0
    assert sum(e.details["items"] for e in PrivacyEvent.objects.filter(
        kind="retention_applied")) == 3


def test_erasure_by_external_id_reaches_answers_webhook_bodies_and_caches(
        requester, requester_client, settings, django_capture_on_commit_callbacks):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    webhook_endpoint_create(organization=requester.membership.organization, actor=requester,
                            url="http://127.0.0.1:9/hook", events=["item.finalized"])
    project = labelled_text_project(requester, django_capture_on_commit_callbacks)
    finalized = [json.loads(body) for body in WebhookDelivery.objects.filter(
        event="item.finalized").values_list("body", flat=True)]
    announced = [entry for body in finalized for entry in body["data"]["items"]]
    assert sorted((e["external_id"], e["instructions_version"]) for e in announced) == [
        ("t1", 1), ("t2", 1), ("t3", 1)]
    cache.set(f"qa:agreement:{project.pk}", {"alpha": 0.5})
    erased = Item.objects.get(project=project, external_id="t1")

    with django_capture_on_commit_callbacks(execute=True):
        response = requester_client.post(
            f"/api/v1/projects/{project.pk}/erasures",
            {"external_ids": ["t1", "nobody"], "reason": "Data subject request #12"},
            format="json")

    assert response.status_code == 201, response.json()
    receipt = response.json()
    assert receipt["counts"] == {"external_ids_requested": 2, "items_found": 1, "items": 1,
                                 "answers": 1, "webhook_deliveries": 1, "cache_keys": 1,
                                 "exports": 0}
    assert receipt["external_id_hashes"] == [external_id_hash("nobody"),
                                             external_id_hash("t1")]
    assert "t1" not in json.dumps(receipt)
    erased.refresh_from_db()
    assert (erased.external_id, erased.data, erased.result, erased.erased_at is not None) == (
        None, {}, None, True)
    assert list(Answer.objects.filter(item=erased).values_list("value", flat=True)) == [None]
    bodies = [json.loads(body)["data"]["items"] for body in WebhookDelivery.objects.filter(
        event="item.finalized").values_list("body", flat=True)]
    entries = [entry for items in bodies for entry in items]
    assert {"item_id": erased.pk, "erased": True} in entries
    assert "t1" not in json.dumps(entries) and "angry customer" not in json.dumps(entries)
    assert sorted(e["external_id"] for e in entries if "external_id" in e) == ["t2", "t3"]
    assert cache.get(f"qa:agreement:{project.pk}") is None
    # The other items are untouched.
    assert Item.objects.get(project=project, external_id="t2").data == {"text": TEXTS[1]}
    # The receipt can be read again; the request is audited.
    again = requester_client.get(f"/api/v1/projects/{project.pk}/erasures/{receipt['id']}")
    assert again.json() == receipt
    assert PrivacyEvent.objects.get(kind="erasure").reason == "Data subject request #12"


def test_a_repeated_erasure_finds_nothing_left(requester, requester_client,
                                               django_capture_on_commit_callbacks):
    project = labelled_text_project(requester, django_capture_on_commit_callbacks)
    url = f"/api/v1/projects/{project.pk}/erasures"
    requester_client.post(url, {"external_ids": ["t2"]}, format="json")

    second = requester_client.post(url, {"external_ids": ["t2"]}, format="json")

    assert second.status_code == 201
    assert (second.json()["counts"]["items_found"], second.json()["counts"]["items"]) == (0, 0)


@pytest.mark.parametrize("body", [{}, {"external_ids": []}, {"external_ids": [None]},
                                  {"external_ids": [" "]}, {"external_ids": "t1"}])
def test_bad_erasure_requests_are_400_and_erase_nothing(requester, requester_client, body,
                                                        django_capture_on_commit_callbacks):
    project = labelled_text_project(requester, django_capture_on_commit_callbacks)

    response = requester_client.post(f"/api/v1/projects/{project.pk}/erasures", body,
                                     format="json")

    assert response.status_code == 400
    assert set(response.json()["error"]) == {"code", "message", "fields"}
    assert ErasureReceipt.objects.count() == 0
    assert Item.objects.filter(erased_at__isnull=False).count() == 0


def test_another_organization_cannot_erase(requester, other_requester_client,
                                           django_capture_on_commit_callbacks):
    project = labelled_text_project(requester, django_capture_on_commit_callbacks)

    response = other_requester_client.post(f"/api/v1/projects/{project.pk}/erasures",
                                           {"external_ids": ["t1"]}, format="json")

    assert response.status_code == 404
    assert Item.objects.get(project=project, external_id="t1").data == {"text": TEXTS[0]}


def test_an_erasure_replayed_with_its_idempotency_key_answers_the_same_receipt(
        requester, requester_client, django_capture_on_commit_callbacks):
    project = labelled_text_project(requester, django_capture_on_commit_callbacks)
    url = f"/api/v1/projects/{project.pk}/erasures"

    first = requester_client.post(url, {"external_ids": ["t3"]}, format="json",
                                  HTTP_IDEMPOTENCY_KEY="erase-t3")
    second = requester_client.post(url, {"external_ids": ["t3"]}, format="json",
                                   HTTP_IDEMPOTENCY_KEY="erase-t3")

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert first.json()["counts"]["items"] == 1
    assert ErasureReceipt.objects.count() == 1
