"""Marketplace write actions. Views call these; other apps call these."""
from .assignments import (
    assignment_approve,
    assignment_heartbeat,
    assignment_overturn,
    assignment_reject,
    assignment_return,
    assignment_submit,
    assignments_auto_approve,
    assignments_expire_overdue,
)
from .imports import (
    ImportResult,
    imports_resume_stale,
    item_import_enqueue,
    item_import_run,
    items_import,
)
from .organizations import organization_create
from .pseudonyms import worker_pseudonym_for
from .routing import assignment_claim
from .projects import (
    project_cancel,
    project_complete,
    project_create,
    project_launch,
    project_pause,
    project_pause_for_funds,
    project_resume,
    project_update,
)

__all__ = [
    "assignment_approve",
    "assignment_claim",
    "assignment_heartbeat",
    "assignment_overturn",
    "assignment_reject",
    "assignment_return",
    "assignment_submit",
    "assignments_auto_approve",
    "assignments_expire_overdue",
    "ImportResult",
    "imports_resume_stale",
    "item_import_enqueue",
    "item_import_run",
    "items_import",
    "organization_create",
    "project_cancel",
    "project_complete",
    "project_create",
    "project_launch",
    "project_pause",
    "project_pause_for_funds",
    "project_resume",
    "project_update",
    "worker_pseudonym_for",
]
