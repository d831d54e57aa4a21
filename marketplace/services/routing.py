"""Claiming work: the hot path.

Guarantee: no task ever has more slot-holding assignments than its overlap, and no
worker ever holds the same task twice, under any concurrency. Three things make it so:
1. the candidate task is locked with SELECT ... FOR UPDATE SKIP LOCKED, so concurrent
   claims spread over different tasks instead of queueing on one (PostgreSQL; SQLite runs
   IMMEDIATE transactions, which serialise claims);
2. the slot is taken by ``UPDATE task SET filled = filled + 1 WHERE filled < overlap``,
   and a CHECK (filled <= overlap) constraint backs it;
3. a unique (task, worker) constraint on assignments.
A worker holds at most one live lease: each claim first locks the worker's row, so two
requests of one worker (a retry, a second tab) run one after the other and the second
finds the first one's lease. A lease that is never submitted simply expires
(``assignments_expire_overdue``).
"""
import random
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from config.errors import Conflict
from workers.models import WorkerProfile

from ..enums import AssignmentStatus, PayModel
from ..models import Answer, Assignment, Item, Task, WorkerPseudonym
from ..selectors import claimable_tasks, routable_projects
from .pseudonyms import pseudonym_value

CLAIM_ATTEMPTS = 3
_random = random.SystemRandom()


def _next_task(*, worker: WorkerProfile, project_id: int | None) -> Task | None:
    """Lock the best open task for this worker: project priority, then tasks others
    already started (finish items before opening new ones), then oldest."""
    # Eligible minus quality suspensions: the same rule the availability explanation uses.
    projects = routable_projects(worker=worker)
    if project_id is not None:
        projects = projects.filter(pk=project_id)
    levels: dict[int, list[int]] = {}
    for pk, priority in projects.order_by("-priority").values_list("pk", "priority"):
        levels.setdefault(priority, []).append(pk)
    # One query per priority level, highest first, naming its projects: the scan then
    # walks task_routing_idx in (-filled, id) order and stops at the first free row. A
    # single query ordered by project priority would sort every open task of every
    # project on each claim (tasks of cancelled projects stay open).
    for project_ids in levels.values():
        task = (claimable_tasks(worker=worker, project_ids=project_ids)
                .select_for_update(no_key=True, skip_locked=True, of=("self",))
                .select_related("project")
                .order_by("-filled", "id")
                .first())
        if task is not None:
            return task
    return None


def _serve_items(assignment: Assignment, task: Task, worker: WorkerProfile) -> None:
    """The task's items in order, plus unseen gold items at random positions."""
    project = task.project
    gold_ids: list[int] = []
    if project.gold_per_task:
        # Gold belongs to one project, so the worker's history there is all that matters.
        seen = Answer.objects.filter(assignment__worker=worker, assignment__project=project,
                                     is_gold=True).values("item_id")
        # Retired gold (services/gold.py) is never served again.
        gold_ids = list(Item.objects.filter(project=project, is_gold=True,
                                            retired_at__isnull=True)
                        .exclude(pk__in=seen).order_by("?")
                        .values_list("pk", flat=True)[:project.gold_per_task])
    item_ids = list(Item.objects.filter(task=task).order_by("pk").values_list("pk", flat=True))
    served = [(item_id, False) for item_id in item_ids]
    for gold_id in gold_ids:
        served.insert(_random.randint(0, len(served)), (gold_id, True))
    Answer.objects.bulk_create(
        Answer(assignment=assignment, item_id=item_id, position=position, is_gold=is_gold)
        for position, (item_id, is_gold) in enumerate(served))


def _live_assignment(*, worker: WorkerProfile) -> Assignment | None:
    return (Assignment.objects.filter(worker=worker, status=AssignmentStatus.ASSIGNED,
                                      expires_at__gt=timezone.now())
            .select_related("project").order_by("created_at").first())


def _lock_worker(worker: WorkerProfile) -> None:
    # FOR NO KEY UPDATE: serialises this worker's claims without blocking the inserts
    # that merely reference the worker row (they take FOR KEY SHARE). Taken before any
    # task lock, and the task locks are SKIP LOCKED, so claims cannot deadlock on it.
    list(WorkerProfile.objects.select_for_update(no_key=True).filter(pk=worker.pk)
         .values_list("pk", flat=True))


def assignment_claim(*, worker: WorkerProfile, project_id: int | None = None) -> Assignment | None:
    """Give the worker a task, or None when nothing fits.

    A worker holds one live lease, whatever the project: asking again (a retry, a second
    tab) returns it instead of a second one, so nobody hoards slots; asking for another
    project while it is live is a 409 (``live_lease``) naming it.
    """
    for _attempt in range(CLAIM_ATTEMPTS):
        try:
            with transaction.atomic():
                _lock_worker(worker)
                # Looked up after the lock, in a statement of its own: under READ
                # COMMITTED it then sees a lease a concurrent request of this worker
                # committed while we waited (checked before the lock, both would miss it).
                live = _live_assignment(worker=worker)
                if live is not None:
                    if project_id is not None and live.project_id != project_id:
                        raise Conflict(
                            f"You hold a live lease on assignment {live.pk} (project "
                            f"{live.project_id}); submit or return it before taking work "
                            "on another project.", code="live_lease")
                    return live
                task = _next_task(worker=worker, project_id=project_id)
                if task is None:
                    return None
                took_slot = Task.objects.filter(pk=task.pk, filled__lt=F("overlap")).update(
                    filled=F("filled") + 1)
                if not took_slot:
                    continue  # filled meanwhile (possible only without row locks)
                project = task.project
                now = timezone.now()
                assignment = Assignment.objects.create(
                    task=task, project=project, worker=worker, created_at=now,
                    expires_at=now + timedelta(seconds=project.assignment_duration_seconds),
                    last_heartbeat_at=now, instructions_version=project.instructions_version,
                    reward_cents=project.reward_cents
                    if project.pay_model == PayModel.PER_TASK else None)
                _serve_items(assignment, task, worker)
                WorkerPseudonym.objects.bulk_create(
                    [WorkerPseudonym(project=project, worker=worker,
                                     pseudonym=pseudonym_value(project.pk, worker.pk))],
                    ignore_conflicts=True)
                return assignment
        except IntegrityError:
            # The unique (task, worker) constraint refused a second hold. The worker lock
            # above should make this unreachable; it stays the last line of defence.
            continue
    return None
