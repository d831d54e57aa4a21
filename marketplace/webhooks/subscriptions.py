"""Which events an organization listens to, cached between submits.

Every submit asks whether the organization listens to ``assignment.submitted`` before it
builds the payload; most listen to nothing, and endpoints change rarely. The answer (the
events of the organization's active endpoints) is kept in the Django cache (Redis in
production), tagged with the organization's version token, which a change of an endpoint
bumps: no entry outlives a committed change (config/versioned_cache.py). Saves and deletes bump through signals; the two queryset updates of
``is_active`` (enable in services.py, the automatic disable in delivery.py) call
``webhook_subscriptions_changed`` themselves. WEBHOOK_SUBSCRIPTIONS_CACHE_SECONDS bounds an
entry's life in any case.

Only the yes/no of the hot path is cached: emitting reads the endpoints afresh, so a
stale "yes" costs one query and a stale "no" is what the bumps rule out.
"""
from django.conf import settings
from django.db.models.signals import post_delete, post_save

from config.versioned_cache import bump_now_and_after_commit, cached

from ..models import WebhookEndpoint

ENTRY_VERSION = 2


def _token_key(organization_id: int) -> str:
    return f"webhooks:v:{organization_id}"


def _entry_key(organization_id: int) -> str:
    return f"webhooks:e{ENTRY_VERSION}:{organization_id}"


def cache_keys(organization_id: int) -> list[str]:
    """The keys ``organization_listens_to`` reads, for a request to fetch ahead."""
    return [_token_key(organization_id), _entry_key(organization_id)]


def organization_listens_to(*, organization_id: int, event: str) -> bool:
    def compute() -> list[str]:
        events = set()
        for listened in WebhookEndpoint.objects.filter(
                organization_id=organization_id, is_active=True).values_list("events",
                                                                            flat=True):
            events.update(listened)
        return sorted(events)

    token, entry = cache_keys(organization_id)
    return event in cached(tokens=[token], entry=entry, compute=compute,
                           timeout=settings.WEBHOOK_SUBSCRIPTIONS_CACHE_SECONDS)


def webhook_subscriptions_changed(*, organization_id: int) -> None:
    bump_now_and_after_commit(_token_key(organization_id))


def _endpoint_changed(sender, instance, **_kwargs) -> None:
    webhook_subscriptions_changed(organization_id=instance.organization_id)


def connect_signals() -> None:
    """Called once from MarketplaceConfig.ready()."""
    post_save.connect(_endpoint_changed, sender=WebhookEndpoint,
                      dispatch_uid="webhook_subscriptions:save")
    post_delete.connect(_endpoint_changed, sender=WebhookEndpoint,
                        dispatch_uid="webhook_subscriptions:delete")
