"""Assignment domain events: an append-only row plus explicit subscribers.

Other apps react to assignment decisions through functions listed in
``settings.DOMAIN_EVENT_SUBSCRIBERS`` ({event kind: [dotted path, ...]}), called inside the
transaction that made the decision. A subscriber that must do slow work enqueues a
Celery job with ``transaction.on_commit``; one that moves money posts to the ledger with
an idempotency key derived from the assignment. Explicit and greppable, unlike signals.
"""
from functools import lru_cache

from django.conf import settings
from django.utils.module_loading import import_string

from .models import Assignment, AssignmentEvent

SUBMITTED = "assignment.submitted"
APPROVED = "assignment.approved"
REJECTED = "assignment.rejected"
EXPIRED = "assignment.expired"
RETURNED = "assignment.returned"


@lru_cache(maxsize=None)
def _subscribers(kind: str) -> tuple:
    return tuple(import_string(path)
                 for path in settings.DOMAIN_EVENT_SUBSCRIBERS.get(kind, ()))


def emit(kind: str, *, assignment: Assignment, actor=None, **details) -> AssignmentEvent:
    event = AssignmentEvent.objects.create(assignment=assignment, kind=kind, actor=actor,
                                           details=details)
    for subscriber in _subscribers(kind):
        subscriber(assignment=assignment, event=event)
    return event
