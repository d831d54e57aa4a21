"""Vetting and standing: apply -> approve | reject; suspend, reinstate, ban; clearance.

Each action locks the worker row, checks the source status against WORKER_TRANSITIONS,
saves with update_fields and writes an audit row, all in one transaction.
"""
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from config.errors import Conflict, InvalidInput, required_text

from ..enums import (
    WORKER_TRANSITIONS,
    ApplicationStatus,
    AuditAction,
    Clearance,
    SkillSource,
    WorkerStatus,
)
from ..events import audit
from ..locks import application_for_update, worker_for_update
from ..models import Skill, WorkerApplication, WorkerProfile
from .profiles import worker_skill_set_verified


def _move(worker: WorkerProfile, target: str, *, action: str, reason: str = "") -> None:
    if target not in WORKER_TRANSITIONS[worker.status]:
        raise Conflict(f"Cannot {action} a worker who is {worker.status}.",
                       code="illegal_transition")
    worker.status = target
    worker.status_reason = reason
    worker.save(update_fields=["status", "status_reason"])


def worker_status_set(*, worker: WorkerProfile, status: str) -> WorkerProfile:
    """Bootstrap only (seed data): sets a status without the vetting flow."""
    worker.status = status
    worker.save(update_fields=["status"])
    return worker


@transaction.atomic
def application_submit(*, worker: WorkerProfile, statement: str,
                       credentials: list) -> WorkerApplication:
    worker = worker_for_update(worker_id=worker.pk)
    if worker.status != WorkerStatus.APPLICANT:
        raise Conflict(f"Only applicants can apply; this worker is {worker.status}.",
                       code="illegal_transition")
    try:
        with transaction.atomic():
            application = WorkerApplication.objects.create(
                worker=worker, statement=statement, credentials=credentials)
    except IntegrityError:
        raise Conflict("An application is already pending.", code="application_pending")
    _move(worker, WorkerStatus.VETTING, action="apply for")
    audit(worker=worker, actor=worker.user, action=AuditAction.APPLIED,
          application_id=application.pk)
    return application


def _pending_application(application_id: int) -> tuple[WorkerApplication, WorkerProfile]:
    # Lock order: worker before application (workers/locks.py).
    worker_id = WorkerApplication.objects.values_list("worker_id", flat=True).get(
        pk=application_id)
    worker = worker_for_update(worker_id=worker_id)
    application = application_for_update(application_id=application_id)
    if application.status != ApplicationStatus.PENDING:
        raise Conflict(f"This application is already {application.status}.",
                       code="application_decided")
    return application, worker


@transaction.atomic
def application_approve(*, application: WorkerApplication, actor: User,
                        skills: list[tuple[Skill, int]], clearance: str | None = None,
                        note: str = "") -> WorkerApplication:
    application, worker = _pending_application(application.pk)
    _move(worker, WorkerStatus.ACTIVE, action="approve")
    application.status = ApplicationStatus.APPROVED
    application.reason = note
    application.decided_by, application.decided_at = actor, timezone.now()
    application.save(update_fields=["status", "reason", "decided_by", "decided_at"])
    audit(worker=worker, actor=actor, action=AuditAction.APPROVED, reason=note,
          application_id=application.pk)
    for skill, level in skills:
        worker_skill_set_verified(worker=worker, skill=skill, level=level,
                                  source=SkillSource.ADMIN, actor=actor,
                                  reason="Set at vetting", application_id=application.pk)
    if clearance is not None and clearance != worker.clearance:
        _grant_clearance(worker, actor=actor, clearance=clearance, reason="Granted at vetting")
    application.worker = worker
    return application


@transaction.atomic
def application_reject(*, application: WorkerApplication, actor: User,
                       reason: str) -> WorkerApplication:
    reason = required_text(reason)
    application, worker = _pending_application(application.pk)
    # Back to applicant: the worker may improve the application and apply again.
    _move(worker, WorkerStatus.APPLICANT, action="reject", reason=reason)
    application.status = ApplicationStatus.REJECTED
    application.reason = reason
    application.decided_by, application.decided_at = actor, timezone.now()
    application.save(update_fields=["status", "reason", "decided_by", "decided_at"])
    audit(worker=worker, actor=actor, action=AuditAction.REJECTED, reason=reason,
          application_id=application.pk)
    application.worker = worker
    return application


def _standing_change(worker: WorkerProfile, *, actor: User, reason: str, target: str,
                     action: str, audit_action: str,
                     only_from: str | None = None) -> WorkerProfile:
    reason = required_text(reason)
    with transaction.atomic():
        worker = worker_for_update(worker_id=worker.pk)
        if only_from is not None and worker.status != only_from:
            raise Conflict(f"Cannot {action} a worker who is {worker.status}.",
                           code="illegal_transition")
        _move(worker, target, action=action, reason=reason)
        audit(worker=worker, actor=actor, action=audit_action, reason=reason)
    return worker


def worker_suspend(*, worker: WorkerProfile, actor: User, reason: str) -> WorkerProfile:
    return _standing_change(worker, actor=actor, reason=reason, target=WorkerStatus.SUSPENDED,
                            action="suspend", audit_action=AuditAction.SUSPENDED,
                            only_from=WorkerStatus.ACTIVE)


def worker_reinstate(*, worker: WorkerProfile, actor: User, reason: str) -> WorkerProfile:
    # Only from suspended: vetting -> active is approval, which has its own service.
    return _standing_change(worker, actor=actor, reason=reason, target=WorkerStatus.ACTIVE,
                            action="reinstate", audit_action=AuditAction.REINSTATED,
                            only_from=WorkerStatus.SUSPENDED)


def worker_ban(*, worker: WorkerProfile, actor: User, reason: str) -> WorkerProfile:
    with transaction.atomic():
        worker = _standing_change(worker, actor=actor, reason=reason,
                                  target=WorkerStatus.BANNED, action="ban",
                                  audit_action=AuditAction.BANNED)
        # A pending application would otherwise sit in the vetting queue forever.
        WorkerApplication.objects.filter(worker=worker, status=ApplicationStatus.PENDING).update(
            status=ApplicationStatus.REJECTED, reason=f"Worker banned: {reason}",
            decided_by=actor, decided_at=timezone.now())
    return worker


def _grant_clearance(worker: WorkerProfile, *, actor: User, clearance: str,
                     reason: str) -> None:
    if clearance not in Clearance.values:
        raise InvalidInput("Unknown clearance.", fields={"clearance": [
            f"Must be one of: {', '.join(Clearance.values)}."]})
    previous = worker.clearance
    worker.clearance = clearance
    worker.save(update_fields=["clearance"])
    audit(worker=worker, actor=actor, action=AuditAction.CLEARANCE_GRANTED, reason=reason,
          clearance=clearance, previous=previous)


@transaction.atomic
def worker_clearance_grant(*, worker: WorkerProfile, actor: User, clearance: str,
                           reason: str) -> WorkerProfile:
    reason = required_text(reason)
    worker = worker_for_update(worker_id=worker.pk)
    if worker.status == WorkerStatus.BANNED:
        raise Conflict("A banned worker cannot be cleared.", code="illegal_transition")
    _grant_clearance(worker, actor=actor, clearance=clearance, reason=reason)
    return worker


@transaction.atomic
def worker_terms_accept(*, worker: WorkerProfile, version: str) -> WorkerProfile:
    current = settings.CONFIDENTIALITY_TERMS_VERSION
    if version != current:
        raise InvalidInput(f"The current terms are version {current}.",
                           code="terms_version_mismatch",
                           fields={"version": [f"Must be {current!r}."]})
    worker = worker_for_update(worker_id=worker.pk)
    worker.terms_version_accepted = version
    worker.terms_accepted_at = timezone.now()
    worker.save(update_fields=["terms_version_accepted", "terms_accepted_at"])
    audit(worker=worker, actor=worker.user, action=AuditAction.TERMS_ACCEPTED,
          version=version)
    return worker
