from django.apps import AppConfig


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"

    def ready(self) -> None:
        from . import identity_cache
        from . import schema  # noqa: F401  registers the OpenAPI bearer scheme

        identity_cache.connect_signals()
