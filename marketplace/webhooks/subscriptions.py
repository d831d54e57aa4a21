"""Which events an organization listens to, cached between submits.

Every submit asks whether the organization listens to ``assignment.submitted`` before it
builds the payload; most listen to nothing, and endpoints change rarely. The answer (the
events of the organization's active endpoints) is kept in the Django cache (Redis in
production), tagged with the organization's version token read *before* the database
is. A change of an endpoint bumps the token when made and again after its transaction
commits, the guarantee of marketplace/routing_cache.py: no entry outlives a committed
change. Saves and deletes bump through signals; the two queryset updates of
``is_active`` (enable in services.py, the automatic disable in delivery.py) call
``webhook_subscriptions_changed`` themselves. WEBHOOK_SUBSCRIPTIONS_CACHE_SECONDS bounds an
entry's life in any case.

Only the yes/no of the hot path is cached: emitting reads the endpoints afresh, so a
stale "yes" costs one query and a stale "no" is what the bumps rule out.
"""
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from ..models import WebhookEndpoint

ENTRY_VERSION = 1


def _token_key(organization_id: int) -> str:
    return f"webhooks:v:{organization_id}"


def _entry_key(organization_id: int) -> str:
    return f"webhooks:e{ENTRY_VERSION}:{organization_id}"


def organization_listens_to(*, organization_id: int, event: str) -> bool:
    keys = [_token_key(organization_id), _entry_key(organization_id)]
    found = cache.get_many(keys)
    token = found.get(keys[0])
    if token is None:
        cache.add(keys[0], uuid.uuid4().hex, timeout=None)
        token = cache.get(keys[0])
    entry = found.get(keys[1])
    if entry is None or entry["token"] != token:
        events = set()
        for listened in WebhookEndpoint.objects.filter(
                organization_id=organization_id, is_active=True).values_list("events",
                                                                            flat=True):
            events.update(listened)
        entry = {"token": token, "events": sorted(events)}
        cache.set(keys[1], entry, timeout=settings.WEBHOOK_SUBSCRIPTIONS_CACHE_SECONDS)
    return event in entry["events"]


def _bump(organization_id: int) -> None:
    cache.set(_token_key(organization_id), uuid.uuid4().hex, timeout=None)


def webhook_subscriptions_changed(*, organization_id: int) -> None:
    _bump(organization_id)
    # robust: the change is committed whatever the cache does; the entry's expiry bounds
    # what a failed bump leaves behind.
    transaction.on_commit(lambda: _bump(organization_id), robust=True)


def _endpoint_changed(sender, instance, **_kwargs) -> None:
    webhook_subscriptions_changed(organization_id=instance.organization_id)


def connect_signals() -> None:
    """Called once from MarketplaceConfig.ready()."""
    post_save.connect(_endpoint_changed, sender=WebhookEndpoint,
                      dispatch_uid="webhook_subscriptions:save")
    post_delete.connect(_endpoint_changed, sender=WebhookEndpoint,
                        dispatch_uid="webhook_subscriptions:delete")
