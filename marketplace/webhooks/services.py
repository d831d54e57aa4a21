"""Webhook writes: subscriptions (create, delete, rotate secret, re-enable) and emission.

Emission runs in the caller's transaction: the delivery rows commit or roll back with the
decision they announce (no webhook about something that was rolled back), and the first
attempt is enqueued only after commit, so no HTTP call ever runs inside a transaction.
The row is the source of truth: if the enqueue is lost, the beat job
(``deliver_due_webhooks``) finds the delivery due and sends it.
"""
import datetime
import json
import uuid

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from config.errors import InvalidInput

from ..models import Organization, Project, WebhookDelivery, WebhookEndpoint
from .destinations import UnsafeDestination, check_url
from .enums import DeliveryStatus, WebhookEvent
from .selectors import webhook_endpoints_subscribed
from .signing import derive_secret, new_secret_nonce
from .subscriptions import organization_listens_to, webhook_subscriptions_changed

URL_MAX_LENGTH = 2000
# item.finalized is batched; one delivery carries at most this many items, so a big
# aggregation run becomes a few requests of bounded size instead of one huge one.
MAX_ITEMS_PER_DELIVERY = 500


def validated_url(url) -> str:
    """A URL Quorum may call (webhooks, prediction endpoints): http(s), public host."""
    url = (url or "").strip() if isinstance(url, str) else ""
    if not url:
        raise InvalidInput("A webhook needs a URL.", fields={"url": ["This field is required."]})
    if len(url) > URL_MAX_LENGTH:
        raise InvalidInput("The URL is too long.",
                           fields={"url": [f"At most {URL_MAX_LENGTH} characters."]})
    try:
        URLValidator(schemes=["http", "https"])(url)
        check_url(url)
    except ValidationError:
        raise InvalidInput("Not a valid http(s) URL.", fields={"url": ["Enter a valid URL."]})
    except UnsafeDestination as exc:
        raise InvalidInput(str(exc), code="unsafe_url", fields={"url": [str(exc)]})
    return url


def _validated_events(events) -> list[str]:
    if not isinstance(events, (list, tuple)) or not events:
        raise InvalidInput("Subscribe to at least one event.",
                           fields={"events": ["A non-empty list is required."]})
    unknown = [str(event) for event in events if event not in WebhookEvent.values]
    if unknown:
        raise InvalidInput(f"Unknown events: {', '.join(unknown)}.", fields={"events": [
            f"Unknown event {event!r}; choose from {', '.join(WebhookEvent.values)}."
            for event in unknown]})
    return sorted(set(events))


def webhook_secret(endpoint: WebhookEndpoint) -> str:
    """The endpoint's current signing secret (derived, never stored)."""
    return derive_secret(endpoint.secret_nonce)


@transaction.atomic
def webhook_endpoint_create(*, organization: Organization, actor: User | None, url: str,
                            events: list[str]) -> tuple[WebhookEndpoint, str]:
    """Subscribe ``url`` to ``events``. Returns the endpoint and its secret, which the
    caller shows once: it is not stored and no read path returns it."""
    endpoint = WebhookEndpoint.objects.create(
        organization=organization, created_by=actor, url=validated_url(url),
        events=_validated_events(events), secret_nonce=new_secret_nonce())
    return endpoint, webhook_secret(endpoint)


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint, actor: User | None) -> None:
    # The delivery log goes with it. An attempt already in flight finishes and finds its
    # row gone (delivery.py records nothing then).
    WebhookEndpoint.objects.filter(pk=endpoint.pk).delete()


@transaction.atomic
def webhook_endpoint_rotate_secret(*, endpoint: WebhookEndpoint,
                                   actor: User | None) -> tuple[WebhookEndpoint, str]:
    """Draw a new nonce: the old secret stops working at once (attempts sent from now on
    are signed with the new one). Locked so the secret returned is the one stored even
    when two rotations race."""
    endpoint = WebhookEndpoint.objects.select_for_update(no_key=True).get(pk=endpoint.pk)
    endpoint.secret_nonce = new_secret_nonce()
    endpoint.save(update_fields=["secret_nonce"])
    return endpoint, webhook_secret(endpoint)


def webhook_endpoint_enable(*, endpoint: WebhookEndpoint, actor: User | None) -> WebhookEndpoint:
    """Re-enable an endpoint that was disabled for failing; a fresh failure streak starts.
    Deliveries dropped while it was disabled are not resent."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk, is_active=False).update(
        is_active=True, disabled_at=None, disabled_reason="", failing_since=None)
    # A queryset update sends no signal: the cached "who listens" must learn it here.
    webhook_subscriptions_changed(organization_id=endpoint.organization_id)
    endpoint.refresh_from_db()
    return endpoint


class _PayloadEncoder(DjangoJSONEncoder):
    """Times as the API writes them (ISO 8601 UTC, microseconds kept, ``Z``); Django's
    encoder would cut them to milliseconds."""

    def default(self, o):
        if isinstance(o, datetime.datetime) and o.tzinfo is not None:
            return o.astimezone(datetime.timezone.utc).isoformat().replace("+00:00", "Z")
        return super().default(o)


def _body(*, public_id: uuid.UUID, event: str, payload: dict, created_at) -> str:
    envelope = {"id": str(public_id), "event": event, "created_at": created_at,
                "data": payload}
    return json.dumps(envelope, cls=_PayloadEncoder, separators=(",", ":"),
                      ensure_ascii=False)


def _emit(*, organization_id: int, event: str, payloads: list[dict]) -> int:
    event = str(event)
    if event not in WebhookEvent.values:
        raise ValueError(f"Unknown webhook event {event!r}")
    endpoints = webhook_endpoints_subscribed(organization_id=organization_id, event=event)
    if not endpoints or not payloads:
        return 0
    now = timezone.now()
    deliveries = []
    for payload in payloads:
        for endpoint in endpoints:
            public_id = uuid.uuid4()
            deliveries.append(WebhookDelivery(
                public_id=public_id, endpoint=endpoint, event=event,
                body=_body(public_id=public_id, event=event, payload=payload, created_at=now),
                status=DeliveryStatus.PENDING, next_attempt_at=now))
    WebhookDelivery.objects.bulk_create(deliveries)
    _deliver_after_commit([delivery.pk for delivery in deliveries])
    return len(deliveries)


def _deliver_after_commit(delivery_ids: list[int]) -> None:
    def enqueue() -> None:
        from .tasks import deliver_webhook

        for delivery_id in delivery_ids:
            deliver_webhook.delay(delivery_id)

    # robust: a broker hiccup after commit must not fail the caller's request; the beat
    # job sends what was not enqueued.
    transaction.on_commit(enqueue, robust=True)


def webhook_emit(*, organization_id: int, event: str, payload: dict) -> int:
    """Queue ``event`` for every active endpoint of the organization subscribed to it.

    Call inside the transaction that made the decision. Returns the number of deliveries
    created (0 when nobody listens). ``payload`` becomes the ``data`` of the envelope
    ``{id, event, created_at, data}``; it must be JSON-serialisable (dates allowed).
    """
    return _emit(organization_id=organization_id, event=event, payloads=[payload])


def _with_instructions_version(items: list[dict]) -> list[dict]:
    """Each finalized item names the newest instructions version its labels were given
    under, so a receiver can tell results collected under changed instructions apart."""
    from django.db.models import Max

    from ..enums import AssignmentStatus
    from ..models import Answer

    ids = [item["item_id"] for item in items if "instructions_version" not in item]
    versions = dict(Answer.objects.filter(item_id__in=ids, is_gold=False,
                                          assignment__status__in=[AssignmentStatus.SUBMITTED,
                                                                  AssignmentStatus.APPROVED])
                    .order_by().values("item_id")
                    .annotate(version=Max("assignment__instructions_version"))
                    .values_list("item_id", "version")) if ids else {}
    return [item if "instructions_version" in item
            else {**item, "instructions_version": versions.get(item["item_id"])}
            for item in items]


def webhook_emit_items_finalized(*, project: Project, groups: list[list[dict]]) -> int:
    """``item.finalized`` for batches of items decided together (the tasks of one
    aggregation job): each batch in deliveries of its own, as if emitted one at a time,
    one per endpoint per chunk of at most MAX_ITEMS_PER_DELIVERY items, each
    ``{"project_id", "items": [...]}``; one read of the endpoints and one insert."""
    groups = [group for group in groups if group]
    # The cached "who listens" (a stale "no" is ruled out by its bumps) spares the
    # aggregation of an organization without item.finalized endpoints every query here.
    if not groups or not organization_listens_to(organization_id=project.organization_id,
                                                 event=WebhookEvent.ITEM_FINALIZED):
        return 0
    versioned = iter(_with_instructions_version([item for group in groups
                                                 for item in group]))
    groups = [[next(versioned) for _ in group] for group in groups]
    chunks = [group[start:start + MAX_ITEMS_PER_DELIVERY] for group in groups
              for start in range(0, len(group), MAX_ITEMS_PER_DELIVERY)]
    return _emit(organization_id=project.organization_id, event=WebhookEvent.ITEM_FINALIZED,
                 payloads=[{"project_id": project.pk, "items": chunk} for chunk in chunks])


def webhook_delivery_resend(*, endpoint: WebhookEndpoint, delivery_id, actor: User | None
                            ) -> WebhookDelivery:
    """Send a finished delivery (succeeded or failed) again: a new delivery row with the
    very same body, so the envelope ``id`` is unchanged and a receiver that already
    processed the event can tell it is a repeat. Refused (409) while the endpoint is
    disabled or while the same event is still on its way to it - two clicks on "resend"
    queue one delivery, not two. ``delivery_id`` is the public id (the API's delivery
    ``id``, sent as Quorum-Delivery)."""
    from django.http import Http404

    from config.errors import Conflict

    with transaction.atomic():
        # The endpoint row serialises resends of its deliveries.
        endpoint = WebhookEndpoint.objects.select_for_update(no_key=True).get(pk=endpoint.pk)
        try:
            original = WebhookDelivery.objects.get(public_id=uuid.UUID(str(delivery_id)),
                                                   endpoint=endpoint)
        except (WebhookDelivery.DoesNotExist, ValueError, TypeError):
            raise Http404
        if not endpoint.is_active:
            raise Conflict("This endpoint is disabled; enable it before resending.",
                           code="endpoint_disabled")
        in_flight = WebhookDelivery.objects.filter(
            endpoint=endpoint, body=original.body,
            status__in=[DeliveryStatus.PENDING, DeliveryStatus.DELIVERING])
        if in_flight.exists():
            raise Conflict("This event is already on its way to the endpoint.",
                           code="delivery_in_progress")
        resent = WebhookDelivery.objects.create(
            public_id=uuid.uuid4(), endpoint=endpoint, event=original.event,
            body=original.body, status=DeliveryStatus.PENDING, next_attempt_at=timezone.now())
        _deliver_after_commit([resent.pk])
    return resent
