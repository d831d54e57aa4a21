"""Append-only audit rows for people acting on money (credits, payout runs, settlements)."""
from .models import PaymentAuditEvent


def audit(kind: str, *, actor=None, organization=None, payout=None,
          **details) -> PaymentAuditEvent:
    return PaymentAuditEvent.objects.create(kind=kind, actor=actor, organization=organization,
                                            payout=payout, details=details)
