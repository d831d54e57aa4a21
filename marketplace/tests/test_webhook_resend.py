"""POST /api/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}/resend: a finished
delivery goes out again with the very same body (same envelope id), once; refused while
the endpoint is disabled or the same event is still on its way; another organization's
endpoint or delivery is a 404. Refusals write nothing."""
import uuid
from unittest import mock

import pytest

from marketplace.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


def endpoint_of(user, **fields) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        organization=user.membership.organization, url="https://hooks.acme.example/q",
        events=["item.finalized"], secret_nonce="nonce", **fields)


def delivery_to(endpoint, *, status="failed", body='{"id":"e1","event":"item.finalized"}'):
    return WebhookDelivery.objects.create(public_id=uuid.uuid4(), endpoint=endpoint,
                                          event="item.finalized", body=body, status=status,
                                          attempts=3, last_error="timeout")


def resend_path(endpoint, delivery) -> str:
    return f"/api/v1/webhooks/{endpoint.pk}/deliveries/{delivery.public_id}/resend"


def test_resend_queues_a_new_delivery_with_the_same_body(requester, requester_client,
                                                         django_capture_on_commit_callbacks):
    endpoint = endpoint_of(requester)
    original = delivery_to(endpoint)
    with mock.patch("marketplace.webhooks.tasks.deliver_webhook.delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            response = requester_client.post(resend_path(endpoint, original))
    assert response.status_code == 202
    body = response.json()
    resent = WebhookDelivery.objects.get(public_id=body["id"])
    assert (body["status"], body["attempts"], body["event"]) == ("pending", 0,
                                                                 "item.finalized")
    assert resent.body == original.body and resent.pk != original.pk
    delay.assert_called_once_with(resent.pk)


def test_a_second_resend_while_the_first_is_pending_is_refused(requester, requester_client):
    endpoint = endpoint_of(requester)
    original = delivery_to(endpoint, status="succeeded")
    with mock.patch("marketplace.webhooks.tasks.deliver_webhook.delay"):
        assert requester_client.post(resend_path(endpoint, original)).status_code == 202
        second = requester_client.post(resend_path(endpoint, original))
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "delivery_in_progress"
    assert WebhookDelivery.objects.count() == 2


def test_resend_to_a_disabled_endpoint_is_refused(requester, requester_client):
    endpoint = endpoint_of(requester, is_active=False)
    original = delivery_to(endpoint)
    response = requester_client.post(resend_path(endpoint, original))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "endpoint_disabled"
    assert WebhookDelivery.objects.count() == 1


def test_another_organizations_delivery_is_not_found(requester, other_requester,
                                                     other_requester_client,
                                                     requester_client):
    endpoint = endpoint_of(requester)
    original = delivery_to(endpoint)
    assert other_requester_client.post(resend_path(endpoint, original)).status_code == 404
    # A delivery of another endpoint under one's own endpoint id: 404 too.
    mine = endpoint_of(other_requester)
    response = other_requester_client.post(
        f"/api/v1/webhooks/{mine.pk}/deliveries/{original.public_id}/resend")
    assert response.status_code == 404
    assert WebhookDelivery.objects.count() == 1


def test_worker_is_forbidden(worker_client, requester):
    endpoint = endpoint_of(requester)
    original = delivery_to(endpoint)
    assert worker_client.post(resend_path(endpoint, original)).status_code == 403


def test_resend_is_in_the_openapi_schema(api_client):
    schema = api_client.get("/api/schema/?format=json").json()
    path = "/api/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}/resend"
    assert "post" in schema["paths"][path]
    assert "202" in schema["paths"][path]["post"]["responses"]
