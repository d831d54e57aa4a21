"""The worker audit log: append-only rows, written in the transaction of the decision."""
from accounts.models import User

from .models import WorkerAuditEvent, WorkerProfile


def audit(*, worker: WorkerProfile, actor: User | None, action: str, reason: str = "",
          **details) -> WorkerAuditEvent:
    return WorkerAuditEvent.objects.create(worker=worker, actor=actor, action=action,
                                           reason=reason, details=details)
