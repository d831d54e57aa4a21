"""Writes of the privacy app: its audit rows and erasure receipts. The data itself
(items, answers, webhook bodies) belongs to marketplace, whose services call these."""
import hashlib

from .models import ErasureReceipt, PrivacyEvent


def privacy_event_record(*, project, kind: str, actor=None, item_id: int | None = None,
                         reason: str = "", details: dict | None = None) -> PrivacyEvent:
    return PrivacyEvent.objects.create(
        organization_id=project.organization_id, project=project, item_id=item_id,
        kind=kind, actor=actor if actor is not None and actor.is_authenticated else None,
        reason=reason, details=details or {})


def external_id_hash(external_id: str) -> str:
    return hashlib.sha256(external_id.encode()).hexdigest()


def erasure_receipt_create(*, project, actor, external_ids: list[str], reason: str,
                           counts: dict) -> ErasureReceipt:
    return ErasureReceipt.objects.create(
        organization_id=project.organization_id, project=project, requested_by=actor,
        reason=reason, external_id_hashes=[external_id_hash(value) for value in external_ids],
        counts=counts)
