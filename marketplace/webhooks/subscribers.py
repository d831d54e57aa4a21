"""Webhooks' reactions to assignment events (wired in settings.DOMAIN_EVENT_SUBSCRIBERS).
Called inside the transaction that submitted the assignment: the delivery row commits
with it, and the HTTP call happens after commit (services.webhook_emit)."""
from .enums import WebhookEvent
from .selectors import webhook_endpoints_subscribed
from .services import webhook_emit


def on_assignment_submitted(*, assignment, event) -> None:
    from ..services import worker_pseudonym_for

    project = assignment.project
    # Most organizations listen to nothing: skip building the payload (and creating a
    # pseudonym row) on the submit hot path then.
    if not webhook_endpoints_subscribed(organization_id=project.organization_id,
                                        event=WebhookEvent.ASSIGNMENT_SUBMITTED):
        return
    webhook_emit(organization_id=project.organization_id,
                 event=WebhookEvent.ASSIGNMENT_SUBMITTED, payload={
                     "assignment_id": assignment.pk,
                     "project_id": project.pk,
                     "task_id": assignment.task_id,
                     # Requesters never see worker ids, only the per-project pseudonym.
                     "worker_id": worker_pseudonym_for(project=project,
                                                       worker=assignment.worker),
                     "submitted_at": assignment.submitted_at,
                 })
