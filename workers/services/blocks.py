from django.db import IntegrityError, transaction

from accounts.models import User
from config.errors import Conflict, InvalidInput, required_text
from marketplace.models import Project
from marketplace.selectors import worker_by_pseudonym

from ..enums import AuditAction
from ..events import audit
from ..models import WorkerBlock


@transaction.atomic
def worker_block(*, project: Project, pseudonym: str, actor: User, reason: str) -> WorkerBlock:
    """Block a worker, known to the requester by a project pseudonym, from the whole
    organization. Routing honours it on every project of that organization."""
    reason = required_text(reason)
    worker = worker_by_pseudonym(project=project, pseudonym=pseudonym)
    if worker is None:
        raise InvalidInput("No worker with this id worked on this project.",
                           code="unknown_worker", fields={"worker_id": ["Unknown worker."]})
    try:
        with transaction.atomic():
            block = WorkerBlock.objects.create(organization_id=project.organization_id,
                                               worker=worker, project=project,
                                               pseudonym=pseudonym, reason=reason, created_by=actor)
    except IntegrityError:
        raise Conflict("This worker is already blocked by your organization.",
                       code="already_blocked")
    audit(worker=worker, actor=actor, action=AuditAction.BLOCKED, reason=reason,
          organization_id=project.organization_id, project_id=project.pk)
    return block


@transaction.atomic
def worker_unblock(*, project: Project, pseudonym: str, actor: User) -> None:
    worker = worker_by_pseudonym(project=project, pseudonym=pseudonym)
    deleted = 0
    if worker is not None:
        deleted, _ = WorkerBlock.objects.filter(organization_id=project.organization_id,
                                                worker=worker).delete()
    if not deleted:
        raise InvalidInput("This worker is not blocked.", code="not_blocked",
                           fields={"worker_id": ["Not blocked."]})
    audit(worker=worker, actor=actor, action=AuditAction.UNBLOCKED,
          organization_id=project.organization_id, project_id=project.pk)
