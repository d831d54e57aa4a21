"""payments' reactions to assignment events (wired in settings.DOMAIN_EVENT_SUBSCRIBERS).

Called inside the transaction that approved the assignment, so the payment commits or
rolls back with the approval itself: an approval is never recorded without its payment.
"""
from .services import approval_pay


def on_assignment_approved(*, assignment, event) -> None:
    # Requester, reviewer, auto-approve and overturned disputes all end here.
    approval_pay(assignment=assignment, actor=event.actor)
