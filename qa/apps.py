from django.apps import AppConfig


class QaConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "qa"

    def ready(self) -> None:
        from .settings_cache import connect_signals
        connect_signals()
