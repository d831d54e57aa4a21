"""A worker's side of the loop: submit and return (a claim and a heartbeat are the
marketplace's alone: marketplace.services.assignment_claim / assignment_heartbeat).

    submit   marketplace validates and records the answers (Assignment, Answer rows and
             the ``assignment.submitted`` event) and grades the gold answers in the same
             statements when qa's comparator for the project is cheap and deterministic
             (qa.gold_judge_inline), and counts the grades in the worker's record in the
             same statement (qa.gold_count_write); qa samples it for a spot check and
             applies the rules to the counted record (a worker failing gold is suspended
             by this very submit); marketplace writes the webhook outbox row.
             After commit, one aggregation of the task is requested (coalesced: N
             submits of a task waiting in the queue make one job, flows/results.py).
             Gold that is not cheap to grade (long free text) is graded by the job.
    return   marketplace frees the slot, qa counts the return (too-many-returns rule).

Lock order (config/lock_order.py): Assignment -> Answer -> Review -> quality records
(WorkerProjectStats -> WorkerSkillStats -> QualityAction) -> worker skills -> webhook
outbox; return: Task -> Assignment -> quality records.
"""
from django.db import transaction

from config import request_batch
from marketplace import services as marketplace
from marketplace.models import Assignment
from marketplace.webhooks.subscriptions import cache_keys as webhook_cache_keys
from privacy.selectors import answers_from_masked
from qa import services as qa
from qa.selectors import quality_settings_memo
from qa.settings_cache import cache_keys as quality_cache_keys
from workers.models import WorkerProfile

from .results import aggregation_request, grade_and_aggregate


# Leases this process served: assignment id -> (project id, organization id). A submit's
# two cache reads are keyed by its project, which the submit otherwise learns only from
# its locked row; with this hint the API fetches them in the request's first round trip
# (``submit_read_ahead_keys``) instead of a round trip of their own under the lock. Only a
# hint of which keys to fetch: the submit reads its project from the row and takes only
# that project's keys. An assignment's project never changes. Written and read by request
# threads (single dict operations, atomic under the GIL).
_served_leases: dict[int, tuple[int, int]] = {}
# Past this the map starts again (leases returned, expired or submitted through another
# process leave their entry behind): a few MB at most, and a submit whose hint was
# cleared fetches its keys under the lock as before.
SERVED_LEASES_LIMIT = 20_000


def lease_served(assignment: Assignment) -> None:
    """Called once a lease went out to the worker (the API's next)."""
    if len(_served_leases) >= SERVED_LEASES_LIMIT:
        _served_leases.clear()
    _served_leases[assignment.pk] = (assignment.project_id,
                                     assignment.project.organization_id)


def _submit_cache_keys(project_id: int, organization_id: int) -> list[str]:
    # The quality settings, and whether the organization listens to
    # ``assignment.submitted``.
    return [*quality_cache_keys(project_id), *webhook_cache_keys(organization_id)]


def submit_read_ahead_keys(assignment_id: int) -> list[str]:
    """The cache keys a submit of this assignment will read, if this process served the
    lease (else none: the submit fetches them under its lock). The hint is used once."""
    served = _served_leases.pop(assignment_id, None)
    return _submit_cache_keys(*served) if served is not None else []


def _judge_reading_ahead(project):
    """qa's inline comparator, once the submit holds its lock: first the submit's two
    cache reads are fetched in one round trip (config/request_batch.py), unless the
    request fetched them when it began."""
    request_batch.fetch(keys=_submit_cache_keys(project.pk, project.organization_id))
    return qa.gold_judge_inline(project)


def _from_masked_text(assignment: Assignment, answers: list) -> list:
    return answers_from_masked(assignment=assignment, answers=answers)


def submit(*, assignment_id: int, worker: WorkerProfile, answers: list,
           on_masked_text: bool = False) -> Assignment:
    """``on_masked_text``: the answers come from a worker who was shown the items as
    privacy.items_for_worker masks them (the API and the web app); span offsets are then
    mapped back to the original text (privacy.answers_from_masked), under the lock."""
    try:
        # The memo: submit's three readers of the quality settings share one cache read.
        with transaction.atomic(), quality_settings_memo():
            submitted = marketplace.assignment_submit(
                assignment_id=assignment_id, worker=worker, answers=answers,
                judge_for=_judge_reading_ahead, count_graded=qa.gold_count_write,
                map_answers=_from_masked_text if on_masked_text else None)
            assignment, graded = submitted.assignment, submitted.graded
            qa.review_maybe_request(assignment=assignment)
            if graded is not None:
                qa.gold_record(assignment=assignment, gold_seen=graded.gold_seen,
                               gold_correct=graded.gold_correct,
                               items_served=graded.items_served, counted=submitted.counted)
            marketplace.assignment_announce_submitted(assignment=assignment)
            # robust: the submission is committed whatever happens to the job; a lost
            # aggregation or grading is picked up by the sweep (flows.results.sweep).
            if graded is not None:
                task_id = assignment.task_id
                transaction.on_commit(lambda: aggregation_request(task_id=task_id),
                                      robust=True)
            else:
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
