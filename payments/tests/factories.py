"""Factories for the payments tests, built through the services (marketplace, workers,
payments) so rows look exactly like the ones the API writes. Users get no password:
hashing one costs more than the rest of a test."""
import itertools

from accounts.enums import Role
from accounts.models import User
from marketplace.models import Assignment, Organization, Project
from marketplace.selectors import served_items
from marketplace.services import (
    assignment_claim,
    items_import,
    organization_create,
    project_create,
)
from marketplace.uploads import UploadRow
from payments import ledger
from payments.services import organization_credit
from workers.enums import WorkerStatus
from workers.models import WorkerProfile
from workers.services import worker_profile_create, worker_status_set
from flows import decisions
from flows import projects as projects_flow
from flows import work

_sequence = itertools.count(1)
CHOICES = ["positive", "negative"]


def make_requester(*, funds_cents: int = 0, name: str | None = None) -> User:
    number = next(_sequence)
    user = User.objects.create_user(email=f"requester{number}@org{number}.example",
                                    role=Role.REQUESTER)
    organization = organization_create(name=name or f"Org {number}", owner=user)
    if funds_cents:
        fund(organization, funds_cents)
    return user


def fund(organization: Organization, cents: int) -> None:
    organization_credit(organization=organization, actor=None, amount_cents=cents,
                        reason="Test funds")


def make_worker() -> WorkerProfile:
    number = next(_sequence)
    user = User.objects.create_user(email=f"worker{number}@workers.example", role=Role.WORKER)
    worker = worker_profile_create(user=user)
    worker_status_set(worker=worker, status=WorkerStatus.ACTIVE)
    return worker


def make_staff() -> User:
    number = next(_sequence)
    return User.objects.create_user(email=f"staff{number}@quorum.example", role=Role.ADMIN,
                                    is_staff=True)


def make_project(requester: User, *, items: int = 4, launch: bool = True, **fields) -> Project:
    """A project with ``items`` items (no skills required: every active worker may take
    it), launched unless ``launch`` is False (launching needs funds)."""
    values = {"name": f"Project {next(_sequence)}", "instructions": "Pick one.",
              "task_type": "single_choice", "label_config": {"choices": CHOICES},
              "required_skills": [], "sensitivity": "public", "pay_model": "per_task",
              "reward_cents": 10, "items_per_task": 2, "gold_per_task": 0, "overlap": 1}
    values.update(fields)
    project = project_create(organization=requester.membership.organization, actor=requester,
                             fields=values)
    add_items(project, requester, items)
    if launch:
        projects_flow.launch(project=project, actor=requester)
        project.refresh_from_db()
    return project


def add_items(project: Project, requester: User, count: int) -> None:
    start = next(_sequence) * 1000
    items_import(project=project, actor=requester, is_gold=False, rows=[
        UploadRow(row=i + 1, external_id=f"item-{start + i}", data={"text": f"text {i}"},
                  answer=None, has_answer=False) for i in range(count)])


def add_unreserved_task(project: Project, count: int) -> None:
    """A task whose slots no escrow covers. Uploads to a running project reserve escrow,
    so this is written directly: it stands for slots opened without a reservation (a
    rejection's replacement slot, whose money the rejected work left in escrow)."""
    from marketplace.models import Item, Task

    task = Task.objects.create(project=project, overlap=project.overlap)
    start = next(_sequence) * 1000
    Item.objects.bulk_create(Item(project=project, task=task, external_id=f"item-{start + i}",
                                  data={"text": f"text {i}"}) for i in range(count))


def claim(worker: WorkerProfile, project: Project) -> Assignment | None:
    return assignment_claim(worker=worker, project_id=project.pk)


def submit(assignment: Assignment, worker: WorkerProfile, *, active_seconds: int | None = None
           ) -> Assignment:
    if active_seconds is not None:
        Assignment.objects.filter(pk=assignment.pk).update(active_seconds=active_seconds)
    answers = [{"item_id": item["id"], "value": CHOICES[0]}
               for item in served_items(assignment=assignment)]
    return work.submit(assignment_id=assignment.pk, worker=worker, answers=answers)


def submitted(worker: WorkerProfile, project: Project, **kwargs) -> Assignment:
    assignment = claim(worker, project)
    assert assignment is not None, "nothing to claim"
    return submit(assignment, worker, **kwargs)


def approved(worker: WorkerProfile, project: Project, actor: User, **kwargs) -> Assignment:
    return decisions.approve(assignment_id=submitted(worker, project, **kwargs).pk, actor=actor)


def balance(ref) -> int:
    return ledger.balance_of(ref)


def org_available(user_or_org) -> int:
    organization = (user_or_org.membership.organization if isinstance(user_or_org, User)
                    else user_or_org)
    return balance(ledger.organization_available(organization.pk))


def set_status(project: Project, status: str) -> None:
    Project.objects.filter(pk=project.pk).update(status=status)
    project.status = status

