"""Marketplace write actions. Views and flows call these; they write marketplace rows only."""
from .assignments import (
    SWEEP_BATCH,
    LeaseExpired,
    Submitted,
    assignment_announce_submitted,
    assignment_approve,
    assignment_expire,
    assignment_heartbeat,
    assignment_overturn,
    assignment_reject,
    assignment_return,
    assignment_submit,
    assignments_due_for_auto_approval,
    assignments_expire_overdue,
)
from .gold import gold_answer_update, gold_item_retire
from .imports import (
    ImportResult,
    imports_resume_stale,
    item_import_enqueue,
    item_import_run,
    items_import,
    planner_statistics_refresh,
)
from .organizations import organization_create
from .projects import (
    project_cancel,
    project_complete,
    project_complete_if_active,
    project_create,
    project_launch,
    project_pause,
    project_pause_for_funds,
    project_resume,
    project_update,
)
from .automation_results import (
    items_reopen,
    project_items_unfinished_in_task,
    task_lock_pending_items,
)
from .pseudonyms import worker_pseudonym_for
from .results import (
    Graded,
    TaskWork,
    assignment_record_grades,
    items_record_results,
    project_items_revise,
    project_items_unfinished,
    project_labels,
    task_lock_finalized,
    tasks_by_project,
    tasks_lock_for_aggregation,
    tasks_record_results,
    task_raise_overlap,
    task_reopen_for_replacement,
)
from .rejections import (
    assignment_lock_submitted,
    assignment_reject_check,
    missed_gold,
    rejection_ceiling_reached,
    submitted_assignments_of_item,
)
from .routing import assignment_claim, tasks_set_routing_scores

__all__ = [
    "SWEEP_BATCH", "LeaseExpired", "Submitted", "assignment_announce_submitted", "assignment_approve",
    "assignment_claim", "tasks_set_routing_scores", "assignment_expire", "assignment_heartbeat", "assignment_overturn",
    "assignment_reject", "assignment_return", "assignment_submit",
    "assignments_due_for_auto_approval", "assignments_expire_overdue", "ImportResult",
    "gold_answer_update", "gold_item_retire", "imports_resume_stale", "item_import_enqueue",
    "item_import_run", "items_import", "planner_statistics_refresh",
    "organization_create", "project_cancel", "project_complete",
    "project_complete_if_active", "project_create", "project_launch", "project_pause",
    "project_pause_for_funds", "project_resume", "project_update", "worker_pseudonym_for",
    "Graded", "TaskWork", "assignment_record_grades", "items_record_results",
    "project_items_revise", "project_items_unfinished", "project_labels",
    "task_lock_finalized", "tasks_by_project", "tasks_lock_for_aggregation",
    "tasks_record_results", "task_raise_overlap",
    "task_reopen_for_replacement", "assignment_reject_check", "missed_gold",
    "assignment_lock_submitted", "submitted_assignments_of_item",
    "rejection_ceiling_reached",
    "task_reopen_for_replacement", "items_reopen", "task_lock_pending_items",
    "project_items_unfinished_in_task",
]
