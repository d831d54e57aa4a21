"""Marketplace write actions. Views call these; other apps call these."""
from .imports import (
    ImportResult,
    item_import_enqueue,
    item_import_run,
    items_import,
)
from .organizations import organization_create
from .pseudonyms import worker_pseudonym_for
from .projects import (
    project_cancel,
    project_create,
    project_launch,
    project_pause,
    project_resume,
    project_update,
)

__all__ = [
    "ImportResult",
    "item_import_enqueue",
    "item_import_run",
    "items_import",
    "organization_create",
    "project_cancel",
    "project_create",
    "project_launch",
    "project_pause",
    "project_resume",
    "project_update",
    "worker_pseudonym_for",
]
