"""Erasure: personal data goes; records others rely on (answers, ledger, audit) stay,
attached to the worker's pseudonym."""
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import user_anonymize

from ..enums import AuditAction
from ..events import audit
from ..locks import worker_for_update
from ..models import WorkerApplication, WorkerProfile


@transaction.atomic
def worker_erase(*, worker: WorkerProfile, actor: User) -> WorkerProfile:
    worker = worker_for_update(worker_id=worker.pk)
    if worker.erased_at is not None:
        return worker
    user_anonymize(user=worker.user,
                   placeholder_email=f"erased+{worker.pseudonym}@erased.invalid")
    worker.full_name = worker.bio = worker.country = ""
    worker.languages = []
    worker.erased_at = timezone.now()
    worker.save(update_fields=["full_name", "bio", "country", "languages", "erased_at"])
    worker.domains.clear()
    WorkerApplication.objects.filter(worker=worker).update(statement="", credentials=[])
    audit(worker=worker, actor=actor, action=AuditAction.ERASED)
    return worker
