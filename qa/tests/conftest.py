"""Helpers for the qa tests: eligible workers, launched projects, and work claimed and
submitted through the marketplace services, with the commit hooks run the way a real
commit runs them (submit, gold graded inline -> flows.results.aggregation_request ->
aggregate_pending_job; long free text: grade_and_aggregate,
Celery eager under ``make test``).

Small copies of the helpers of marketplace/tests/test_assignment_lifecycle.py and
test_routing.py, so the qa tests do not import another app's test modules.
"""
from collections.abc import Callable
from typing import Any

from django.test import TestCase

from conftest import TEST_FUNDS_CENTS, client_for, fund_organization, make_worker
from marketplace.models import Answer, Assignment, Project, WorkerPseudonym
from marketplace.services import (
    assignment_claim,
    items_import,
    project_create,
)
from marketplace.uploads import UploadRow
from qa.models import QualitySettings
from workers.models import WorkerProfile
from workers.tests.factories import make_ready_worker, project_fields
from flows import projects as projects_flow
from flows import work

SENTIMENT = ["positive", "negative", "neutral"]


# --- commit hooks ------------------------------------------------------------------------

def run_commit_hooks(callbacks) -> None:
    """Run on_commit callbacks as a commit would, including the ones they register in
    turn (grading enqueues aggregation, completion enqueues refinement). Unlike
    ``captureOnCommitCallbacks(execute=True)``, errors of robust callbacks propagate."""
    for callback in callbacks:
        with TestCase.captureOnCommitCallbacks() as more:
            callback()
        run_commit_hooks(more)


def committed(action: Callable, *args, **kwargs):
    """Call ``action`` and then run what its commit would run; returns its result."""
    with TestCase.captureOnCommitCallbacks() as callbacks:
        result = action(*args, **kwargs)
    run_commit_hooks(callbacks)
    return result


# --- people ------------------------------------------------------------------------------

def eligible_worker(email: str, **kwargs) -> WorkerProfile:
    """An active worker holding sentiment-en at 90 (admin-verified): eligible for
    project_fields() projects (sentiment-en >= 50, domain languages, public)."""
    kwargs.setdefault("skills", {"sentiment-en": 90})
    return make_ready_worker(make_worker(email), **kwargs)


def worker_and_client(email: str, **kwargs):
    worker = eligible_worker(email, **kwargs)
    return worker, client_for(worker.user)


def pseudonym_of(worker: WorkerProfile, project: Project) -> str:
    return WorkerPseudonym.objects.get(project=project, worker=worker).pseudonym


# --- projects ----------------------------------------------------------------------------

def launched_project(requester, *, tasks: int = 1, items: list | None = None,
                     external_ids: list | None = None, gold: list | tuple = (),
                     quality: dict | None = None, funds: int = TEST_FUNDS_CENTS,
                     **overrides) -> Project:
    """An active project of the requester's organization.

    ``items``: the data of each item (default ``tasks * items_per_task`` texts);
    ``gold``: (data, answer) pairs; ``quality``: QualitySettings fields; ``funds``: what
    the organization is credited before launch reserves the estimated cost.
    """
    fields = project_fields(**overrides)
    project = project_create(organization=requester.membership.organization,
                             actor=requester, fields=fields)
    if items is None:
        items = [{"text": f"item {i}"} for i in range(tasks * fields["items_per_task"])]
    external_ids = external_ids or [None] * len(items)
    items_import(project=project, actor=requester, is_gold=False, rows=[
        UploadRow(row=i + 1, external_id=external_ids[i], data=data, answer=None,
                  has_answer=False) for i, data in enumerate(items)])
    if gold:
        items_import(project=project, actor=requester, is_gold=True, rows=[
            UploadRow(row=i + 1, external_id=None, data=data, answer=answer, has_answer=True)
            for i, (data, answer) in enumerate(gold)])
    if quality:
        set_quality(project, **quality)
    fund_organization(requester, funds)
    projects_flow.launch(project=project, actor=requester)
    project.refresh_from_db()
    return project


def set_quality(project: Project, **fields) -> QualitySettings:
    row, _ = QualitySettings.objects.update_or_create(project=project, defaults=fields)
    return row


# --- work --------------------------------------------------------------------------------

def claim(worker: WorkerProfile, project: Project | None = None) -> Assignment:
    assignment = assignment_claim(worker=worker,
                                  project_id=project.pk if project is not None else None)
    assert assignment is not None, "nothing to claim"
    return assignment


def served(assignment: Assignment) -> list[Answer]:
    return list(Answer.objects.filter(assignment=assignment).select_related("item")
                .order_by("position"))


Value = Any | Callable[[Answer], Any]


def answers_for(assignment: Assignment, value: Value) -> list[dict]:
    """One answer per served item: ``value(answer)`` when callable (it sees is_gold and
    the item), ``value[item pk]`` when a dict keyed by item ids (covering every served
    item), else ``value`` itself."""
    def pick(answer: Answer):
        if callable(value):
            return value(answer)
        if isinstance(value, dict) and all(isinstance(key, int) for key in value):
            return value[answer.item_id]
        return value

    return [{"item_id": answer.pk, "value": pick(answer)} for answer in served(assignment)]


def submit(assignment: Assignment, worker: WorkerProfile, value: Value) -> Assignment:
    """Submit through the service, then run the commit hooks: grading, aggregation."""
    committed(work.submit, assignment_id=assignment.pk, worker=worker,
              answers=answers_for(assignment, value))
    assignment.refresh_from_db()
    return assignment


def label(worker: WorkerProfile, project: Project, value: Value) -> Assignment:
    """Claim a task of ``project`` and submit it (graded and aggregated)."""
    return submit(claim(worker, project), worker, value)


def give_back(worker: WorkerProfile, project: Project) -> Assignment:
    assignment = claim(worker, project)
    return committed(work.return_task, assignment_id=assignment.pk, worker=worker)


def gold_right(default: Any = "positive") -> Callable[[Answer], Any]:
    """Answers every gold item with its expected answer and other items with ``default``."""
    return lambda answer: answer.item.gold_answer if answer.is_gold else default


def gold_wrong(default: Any = "positive") -> Callable[[Answer], Any]:
    """Misses every (single_choice sentiment) gold item; other items get ``default``."""
    def pick(answer: Answer):
        if not answer.is_gold:
            return default
        return next(choice for choice in SENTIMENT if choice != answer.item.gold_answer)
    return pick


def gold_items(count: int, answer: str = "positive") -> list[tuple[dict, str]]:
    return [({"text": f"gold {i}"}, answer) for i in range(count)]
