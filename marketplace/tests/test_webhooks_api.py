"""Requester webhook API: subscribe, list, inspect, delete, rotate, re-enable, delivery
log; URL validation and the SSRF guard; organization isolation and roles. Every refused
request also checks that nothing was written."""
import socket

import pytest
from django.db import transaction
from django.test import override_settings

from accounts.models import IdempotencyRecord
from marketplace.models import WebhookDelivery, WebhookEndpoint
from marketplace.webhooks import destinations
from marketplace.webhooks.services import webhook_emit
from marketplace.webhooks.signing import derive_secret

WEBHOOKS = "/api/v1/webhooks"
PUBLIC_URL = "https://hooks.acme.example/quorum"
# Names the tests resolve without touching real DNS (see the fake_dns fixture).
FAKE_DNS = {
    "hooks.acme.example": ["93.184.216.34"],
    "both.acme.example": ["93.184.216.34", "10.0.0.7"],
    "internal.acme.example": ["10.0.0.5"],
    "metadata.acme.example": ["169.254.169.254"],
}


@pytest.fixture
def fake_dns(monkeypatch):
    real_resolve = destinations.resolve

    def resolve(host, port):
        if host in FAKE_DNS:
            return FAKE_DNS[host]
        if host.endswith(".example"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real_resolve(host, port)  # IP literals and localhost

    monkeypatch.setattr(destinations, "resolve", resolve)


def _create(client, url=PUBLIC_URL, events=("assignment.submitted",), **headers):
    return client.post(WEBHOOKS, {"url": url, "events": list(events)}, format="json",
                       **headers)


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code, body
    return body["error"]


def _endpoint_of(client) -> dict:
    response = _create(client)
    assert response.status_code == 201, response.json()
    return response.json()


# --- create, and the secret shown once ----------------------------------------------------


def test_create_answers_201_with_the_secret(requester_client, requester, fake_dns):
    response = _create(requester_client, events=["item.finalized", "assignment.submitted",
                                                 "item.finalized"])

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "url", "events", "is_active", "failing_since", "disabled_at",
                         "disabled_reason", "created_at", "secret"}
    assert body["url"] == PUBLIC_URL
    assert body["events"] == ["assignment.submitted", "item.finalized"]
    assert body["is_active"] is True
    assert body["disabled_reason"] == ""
    endpoint = WebhookEndpoint.objects.get(pk=body["id"])
    assert endpoint.organization == requester.membership.organization
    assert endpoint.created_by == requester
    assert body["secret"] == derive_secret(endpoint.secret_nonce)
    assert body["secret"].startswith("whsec_") and len(body["secret"]) == 6 + 64


def test_secret_is_never_shown_again_nor_stored(requester_client, fake_dns):
    created = _endpoint_of(requester_client)
    secret = created["secret"]

    listed = requester_client.get(WEBHOOKS)
    detail = requester_client.get(f"{WEBHOOKS}/{created['id']}")

    assert listed.status_code == 200 and detail.status_code == 200
    assert listed.json()["count"] == 1
    assert "secret" not in listed.json()["results"][0]
    assert "secret" not in detail.json()
    assert secret not in listed.content.decode() + detail.content.decode()
    stored = WebhookEndpoint.objects.filter(pk=created["id"]).values().get()
    assert secret not in repr(stored)
    assert secret[len("whsec_"):] not in repr(stored)


def test_idempotent_create_replays_without_the_secret_and_stores_none(requester_client,
                                                                     fake_dns):
    first = _create(requester_client, HTTP_IDEMPOTENCY_KEY="hook-1")
    replay = _create(requester_client, HTTP_IDEMPOTENCY_KEY="hook-1")

    assert first.status_code == 201 and replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert WebhookEndpoint.objects.count() == 1
    assert replay.json()["id"] == first.json()["id"]
    assert "secret" in first.json()
    assert "secret" not in replay.json()
    record = IdempotencyRecord.objects.get(key="hook-1")
    assert first.json()["secret"] not in repr(record.response_body)


def test_secret_derives_from_the_nonce_and_the_secret_key():
    with override_settings(SECRET_KEY="first-key"):
        first = derive_secret("nonce-a")
        assert derive_secret("nonce-a") == first
        assert derive_secret("nonce-b") != first
    with override_settings(SECRET_KEY="rotated-key"):
        assert derive_secret("nonce-a") != first


def test_rotate_secret_shows_a_new_secret_once(requester_client, fake_dns):
    created = _endpoint_of(requester_client)

    rotated = requester_client.post(f"{WEBHOOKS}/{created['id']}/rotate-secret")

    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert new_secret.startswith("whsec_") and new_secret != created["secret"]
    endpoint = WebhookEndpoint.objects.get(pk=created["id"])
    assert derive_secret(endpoint.secret_nonce) == new_secret
    assert "secret" not in requester_client.get(f"{WEBHOOKS}/{created['id']}").json()


# --- validation -------------------------------------------------------------------------


@pytest.mark.parametrize("body, field", [
    ({"events": ["assignment.submitted"]}, "url"),
    ({"url": PUBLIC_URL}, "events"),
    ({"url": PUBLIC_URL, "events": []}, "events"),
    ({"url": PUBLIC_URL, "events": "assignment.submitted"}, "events"),
    ({"url": PUBLIC_URL, "events": ["assignment.approved"]}, "events.0"),
    ({"url": "ftp://hooks.acme.example/q", "events": ["item.finalized"]}, "url"),
    ({"url": "hooks.acme.example/q", "events": ["item.finalized"]}, "url"),
    ({"url": "https://user:pw@hooks.acme.example/q", "events": ["item.finalized"]}, "url"),
    ({"url": "https://" + "a" * 2000 + ".example/", "events": ["item.finalized"]}, "url"),
    ({"url": "https://unknown-host.example/q", "events": ["item.finalized"]}, "url"),
])
def test_rejects_invalid_subscriptions(requester_client, fake_dns, body, field):
    response = requester_client.post(WEBHOOKS, body, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] in ("validation_error", "unsafe_url")
    assert field in error["fields"], error
    assert WebhookEndpoint.objects.count() == 0


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8000/hook",
    "http://localhost:9000/hook",
    "http://10.1.2.3/hook",
    "http://192.168.1.20/hook",
    "http://172.16.0.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/hook",
    "http://0.0.0.0/hook",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "https://internal.acme.example/hook",
    "https://metadata.acme.example/hook",
    "https://both.acme.example/hook",  # one private address among public ones is enough
])
def test_refuses_urls_that_reach_private_addresses(requester_client, fake_dns, url):
    response = _create(requester_client, url=url)

    error = _error(response, 400, "unsafe_url")
    assert list(error["fields"]) == ["url"]
    assert "public" in error["message"]
    assert WebhookEndpoint.objects.count() == 0


def test_loopback_refusal_says_how_to_allow_it_locally(requester_client):
    response = _create(requester_client, url="http://127.0.0.1:8000/hook")

    error = _error(response, 400, "unsafe_url")
    assert error["message"] == (
        "The host '127.0.0.1' resolves to 127.0.0.1, a loopback, private, link-local or "
        "reserved address; webhooks may only call public addresses. For local development, "
        "set WEBHOOK_ALLOW_PRIVATE_URLS=true on the server.")
    assert WebhookEndpoint.objects.count() == 0


@override_settings(WEBHOOK_ALLOW_PRIVATE_URLS=True)
def test_private_urls_are_allowed_when_the_setting_is_on(requester_client):
    response = _create(requester_client, url="http://127.0.0.1:8000/hook")

    assert response.status_code == 201, response.json()
    assert WebhookEndpoint.objects.get().url == "http://127.0.0.1:8000/hook"


# --- who may do what ----------------------------------------------------------------------


def test_other_organization_gets_404_everywhere(requester_client, other_requester_client,
                                                fake_dns):
    created = _endpoint_of(requester_client)
    base = f"{WEBHOOKS}/{created['id']}"

    assert other_requester_client.get(WEBHOOKS).json()["count"] == 0
    for response in (other_requester_client.get(base),
                     other_requester_client.delete(base),
                     other_requester_client.get(f"{base}/deliveries"),
                     other_requester_client.post(f"{base}/rotate-secret"),
                     other_requester_client.post(f"{base}/enable")):
        _error(response, 404, "not_found")
    endpoint = WebhookEndpoint.objects.get(pk=created["id"])
    assert derive_secret(endpoint.secret_nonce) == created["secret"]  # not rotated


def test_workers_get_403_and_anonymous_401(worker_client, api_client, requester_client,
                                           fake_dns):
    created = _endpoint_of(requester_client)

    _error(worker_client.get(WEBHOOKS), 403, "permission_denied")
    _error(_create(worker_client), 403, "permission_denied")
    _error(worker_client.delete(f"{WEBHOOKS}/{created['id']}"), 403, "permission_denied")
    _error(worker_client.get(f"{WEBHOOKS}/{created['id']}/deliveries"), 403,
           "permission_denied")
    _error(api_client.get(WEBHOOKS), 401, "not_authenticated")
    assert WebhookEndpoint.objects.count() == 1


# --- delete, re-enable, delivery log ------------------------------------------------------


def test_delete_answers_204_and_removes_the_log(requester_client, requester, fake_dns):
    created = _endpoint_of(requester_client)
    webhook_emit(organization_id=requester.membership.organization.pk,
                 event="assignment.submitted", payload={"assignment_id": 1})

    response = requester_client.delete(f"{WEBHOOKS}/{created['id']}")

    assert response.status_code == 204
    _error(requester_client.get(f"{WEBHOOKS}/{created['id']}"), 404, "not_found")
    assert WebhookDelivery.objects.count() == 0


def test_disabled_endpoint_shows_why_and_can_be_re_enabled(requester_client, fake_dns):
    created = _endpoint_of(requester_client)
    WebhookEndpoint.objects.filter(pk=created["id"]).update(
        is_active=False, disabled_reason="Disabled automatically: every delivery attempt "
        "failed", failing_since="2026-01-01T00:00:00Z", disabled_at="2026-01-02T00:00:00Z")

    shown = requester_client.get(f"{WEBHOOKS}/{created['id']}").json()
    enabled = requester_client.post(f"{WEBHOOKS}/{created['id']}/enable")

    assert shown["is_active"] is False
    assert shown["disabled_reason"].startswith("Disabled automatically")
    assert shown["disabled_at"] == "2026-01-02T00:00:00Z"
    assert enabled.status_code == 200
    assert enabled.json()["is_active"] is True
    assert enabled.json()["disabled_reason"] == ""
    assert enabled.json()["failing_since"] is None


def test_delivery_log_is_paginated_newest_first(requester_client, requester, fake_dns,
                                                django_capture_on_commit_callbacks):
    created = _endpoint_of(requester_client)
    organization_id = requester.membership.organization.pk
    # Commit callbacks captured and not run: the deliveries stay pending, nothing is sent.
    with django_capture_on_commit_callbacks(execute=False), transaction.atomic():
        for assignment_id in (1, 2, 3):
            webhook_emit(organization_id=organization_id, event="assignment.submitted",
                         payload={"assignment_id": assignment_id})
    newest = WebhookDelivery.objects.order_by("-id").first()

    page = requester_client.get(f"{WEBHOOKS}/{created['id']}/deliveries?page_size=2")

    assert page.status_code == 200
    body = page.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 3 and body["next"] is not None
    first = body["results"][0]
    assert first["id"] == str(newest.public_id)
    assert first["event"] == "assignment.submitted"
    assert first["status"] == "pending"
    assert first["attempts"] == 0
    assert first["attempt_log"] == []
    assert requester_client.get(
        f"{WEBHOOKS}/{created['id']}/deliveries?status=succeeded").json()["count"] == 0
    _error(requester_client.get(f"{WEBHOOKS}/{created['id']}/deliveries?status=bogus"),
           400, "validation_error")
