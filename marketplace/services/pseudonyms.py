import hashlib
import hmac

from django.conf import settings
from django.db import IntegrityError, transaction

from ..models import Project, WorkerPseudonym


def pseudonym_value(project_id: int, worker_id: int) -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), f"pseudonym:{project_id}:{worker_id}".encode(),
                      hashlib.sha256).hexdigest()
    return f"w_{digest[:16]}"


def worker_pseudonym_for(*, project: Project, worker) -> str:
    """The stable per-project name requesters see for a worker (created on first use)."""
    existing = WorkerPseudonym.objects.filter(project=project, worker=worker).values_list(
        "pseudonym", flat=True).first()
    if existing:
        return existing
    pseudonym = pseudonym_value(project.pk, worker.pk)
    try:
        with transaction.atomic():
            WorkerPseudonym.objects.create(project=project, worker=worker, pseudonym=pseudonym)
    except IntegrityError:
        pass  # created concurrently: same derivation, same value
    return pseudonym
