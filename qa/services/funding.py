"""Money for dynamic overlap: one more assignment on a task must be covered by escrow."""
from marketplace.models import Project, Task


def reserve_extra_assignment(*, project: Project, task: Task) -> bool:
    """Reserve escrow for one more assignment of ``task``; False when funds are short
    (consensus then pauses the project until the requester tops up and resumes)."""
    from payments.services import assignment_cost_cents, escrow_reserve_more

    return escrow_reserve_more(project=project,
                               amount_cents=assignment_cost_cents(project=project))
