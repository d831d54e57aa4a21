from celery import shared_task
from django.utils import timezone
from knox.models import AuthToken


@shared_task(acks_late=True)
def purge_expired_tokens() -> int:
    """Authentication ignores expired tokens; this only keeps the table small."""
    deleted, _ = AuthToken.objects.filter(expiry__lt=timezone.now()).delete()
    return deleted
