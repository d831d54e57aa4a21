"""A worker's side of the loop: submit and return (a claim and a heartbeat are the
marketplace's alone: marketplace.services.assignment_claim / assignment_heartbeat).

    submit   marketplace validates and records the answers (Assignment, Answer rows and
             the ``assignment.submitted`` event and webhook outbox row), qa samples it for
             a spot check; after commit the grading job runs (flows/results.py).
    return   marketplace frees the slot, qa counts the return (too-many-returns rule).

Lock order (config/lock_order.py): Task -> Assignment -> quality records.
"""
from django.db import transaction

from marketplace import services as marketplace
from marketplace.models import Assignment
from qa import services as qa
from workers.models import WorkerProfile

from .results import grade_and_aggregate


def submit(*, assignment_id: int, worker: WorkerProfile, answers: list) -> Assignment:
    try:
        with transaction.atomic():
            assignment = marketplace.assignment_submit(assignment_id=assignment_id,
                                                       worker=worker, answers=answers)
            qa.review_maybe_request(assignment=assignment)
            marketplace.assignment_announce_submitted(assignment=assignment)
            # robust: the submission is committed whatever happens to the job; a lost or
            # failed grading is picked up by the sweep (flows.results.sweep_ungraded).
            transaction.on_commit(lambda: grade_and_aggregate.delay(assignment.pk),
                                  robust=True)
    except marketplace.LeaseExpired:
        # Free the slot now rather than at the next sweep, then refuse.
        marketplace.assignment_expire(assignment_id=assignment_id)
        raise
    return assignment


def return_task(*, assignment_id: int, worker: WorkerProfile) -> Assignment:
    with transaction.atomic():
        assignment = marketplace.assignment_return(assignment_id=assignment_id,
                                                   worker=worker)
        qa.assignment_returned_record(worker_id=assignment.worker_id,
                                      project_id=assignment.project_id)
    return assignment
