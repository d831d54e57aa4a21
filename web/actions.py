"""Every call the worker pages make into the core loop, in one place: the same flows and
services the API views call (see README "How a submission flows")."""
from flows import work
from marketplace import services as marketplace_services
from qa import services as qa_services


def claim(*, worker, project_id: int | None = None):
    return marketplace_services.assignment_claim(worker=worker, project_id=project_id)


def heartbeat(*, worker, assignment_id: int):
    return marketplace_services.assignment_heartbeat(assignment_id=assignment_id,
                                                     worker=worker)


def submit(*, worker, assignment_id: int, answers: list):
    return work.submit(assignment_id=assignment_id, worker=worker, answers=answers,
                       on_masked_text=True)


def give_back(*, worker, assignment_id: int):
    return work.return_task(assignment_id=assignment_id, worker=worker)


def dispute_open(*, worker, assignment_id: int, message: str):
    return qa_services.dispute_open(worker=worker, assignment_id=assignment_id,
                                    message=message)
