from django.apps import AppConfig


class MarketplaceConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "marketplace"

    def ready(self):
        # Cache invalidation only (no business rule): a worker's routable projects are
        # cached between claims and must be dropped when their inputs change.
        # So are the events each organization listens to (the submit's webhook check).
        from .routing_cache import connect_signals
        from .webhooks import subscriptions

        connect_signals()
        subscriptions.connect_signals()
