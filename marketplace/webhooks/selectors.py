"""Webhook reads. Every lookup is scoped to an organization: another organization's
endpoint is a 404, never a hint that it exists."""
from django.db.models import Prefetch, QuerySet
from django.http import Http404

from ..models import Organization, WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint


def webhook_endpoint_list(*, organization: Organization) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(organization=organization).order_by("-created_at",
                                                                              "-id")


def webhook_endpoint_get(*, organization: Organization, endpoint_id) -> WebhookEndpoint:
    try:
        return webhook_endpoint_list(organization=organization).get(pk=int(endpoint_id))
    except (WebhookEndpoint.DoesNotExist, ValueError, TypeError):
        raise Http404


def webhook_endpoints_subscribed(*, organization_id: int, event: str) -> list[WebhookEndpoint]:
    """Active endpoints of the organization that want ``event``. Filtered in Python: an
    organization has a handful of endpoints, and JSON containment is not portable to the
    SQLite of the zero-setup mode."""
    endpoints = WebhookEndpoint.objects.filter(organization_id=organization_id,
                                               is_active=True).order_by("id")
    return [endpoint for endpoint in endpoints if event in endpoint.events]


def webhook_delivery_list(*, endpoint: WebhookEndpoint,
                          status: str | None = None) -> QuerySet[WebhookDelivery]:
    deliveries = (WebhookDelivery.objects.filter(endpoint=endpoint)
                  .defer("body")
                  .prefetch_related(Prefetch("attempt_log",
                                             queryset=WebhookDeliveryAttempt.objects
                                             .order_by("number")))
                  .order_by("-created_at", "-id"))
    if status is not None:
        deliveries = deliveries.filter(status=status)
    return deliveries
