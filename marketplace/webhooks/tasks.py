"""Celery jobs of the webhooks: ids in, one service call, idempotent (every send starts
with a compare-and-swap claim, see delivery.py)."""
from celery import shared_task

from .delivery import webhook_deliveries_due, webhook_delivery_attempt


@shared_task(acks_late=True)
def deliver_webhook(delivery_id: int) -> str | None:
    return webhook_delivery_attempt(delivery_id=delivery_id)


@shared_task(acks_late=True)
def deliver_due_webhooks() -> int:
    """Beat, every 30 s: retries that came due, first attempts whose enqueue was lost, and
    attempts lost with their worker. A message enqueued twice is harmless: only one
    claim per attempt succeeds."""
    due = webhook_deliveries_due()
    for delivery_id in due:
        deliver_webhook.delay(delivery_id)
    return len(due)
