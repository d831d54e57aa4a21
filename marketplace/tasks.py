"""Celery jobs of the marketplace: thin, idempotent wrappers around services."""
from celery import shared_task

from .services import (
    assignments_expire_overdue,
    item_import_run,
    planner_statistics_refresh,
)
from .services.sensitive_data import items_apply_retention
from .webhooks.tasks import deliver_due_webhooks, deliver_webhook  # noqa: F401 (registers them)


@shared_task(acks_late=True)
def run_item_import(import_id: int) -> None:
    """The bare import. Uploads enqueue flows.imports.import_job, which runs this and
    then what follows an import (auto-accept, the prediction endpoint)."""
    item_import_run(import_id=import_id)


@shared_task(acks_late=True)
def refresh_planner_statistics() -> None:
    planner_statistics_refresh()


@shared_task(acks_late=True)
def expire_leases() -> int:
    return assignments_expire_overdue()


@shared_task(acks_late=True)
def apply_retention() -> int:
    """Delete item data past each project's retention_days (idempotent, resumable)."""
    return sum(items_apply_retention().values())
