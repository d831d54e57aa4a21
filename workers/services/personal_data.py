"""Erasure: personal data goes; records others rely on (answers, ledger, audit) stay,
attached to the worker's pseudonym."""
from django.db import transaction
from django.utils import timezone
from knox.models import AuthToken

from accounts.models import User

from ..enums import AuditAction
from ..events import audit
from ..locks import worker_for_update
from ..models import WorkerApplication, WorkerProfile


@transaction.atomic
def worker_erase(*, worker: WorkerProfile, actor: User) -> WorkerProfile:
    worker = worker_for_update(worker_id=worker.pk)
    if worker.erased_at is not None:
        return worker
    user = worker.user
    placeholder = f"erased+{worker.pseudonym}@erased.invalid"
    user.email = user.username = placeholder
    user.first_name = user.last_name = ""
    user.is_active = False
    user.set_unusable_password()
    user.save(update_fields=["email", "username", "first_name", "last_name", "is_active",
                             "password"])
    AuthToken.objects.filter(user=user).delete()
    worker.full_name = worker.bio = worker.country = ""
    worker.languages = []
    worker.erased_at = timezone.now()
    worker.save(update_fields=["full_name", "bio", "country", "languages", "erased_at"])
    worker.domains.clear()
    WorkerApplication.objects.filter(worker=worker).update(statement="", credentials=[])
    audit(worker=worker, actor=actor, action=AuditAction.ERASED)
    return worker
