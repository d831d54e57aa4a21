"""Worker write actions: profiles, vetting, clearance, exams, blocks, personal data."""
from .blocks import worker_block, worker_unblock
from .exams import exam_attempt_start, exam_attempt_submit, exam_create, exam_require
from .personal_data import worker_erase
from .profiles import (
    worker_profile_create,
    worker_profile_update,
    worker_skill_set,
    worker_skill_set_verified,
)
from .vetting import (
    application_approve,
    application_reject,
    application_submit,
    worker_ban,
    worker_clearance_grant,
    worker_reinstate,
    worker_status_set,
    worker_suspend,
    worker_terms_accept,
)

__all__ = [
    "application_approve", "application_reject", "application_submit",
    "exam_attempt_start", "exam_attempt_submit", "exam_create", "exam_require",
    "worker_ban", "worker_block", "worker_clearance_grant", "worker_erase",
    "worker_profile_create", "worker_profile_update", "worker_reinstate",
    "worker_skill_set", "worker_skill_set_verified", "worker_status_set", "worker_suspend",
    "worker_terms_accept", "worker_unblock",
]
