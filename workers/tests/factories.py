"""Factories for the workers tests. Projects, items and exams are built through the services,
so the rows look exactly like the ones the API would write; ``make_ready_worker`` is the one
bootstrap shortcut (like seed_demo) for tests about routing rather than vetting."""
from conftest import fund_organization
from django.conf import settings
from django.utils import timezone

from accounts.models import User
from marketplace.enums import ProjectStatus
from marketplace.models import Project
from marketplace.services import (
    items_import,
    project_create,
    project_pause,
)
from marketplace.uploads import UploadRow
from workers.enums import SkillSource, WorkerStatus
from workers.models import Skill, WorkerAuditEvent, WorkerProfile
from workers.services import worker_skill_set, worker_status_set
from flows import projects as projects_flow

SENTIMENT = {"choices": ["positive", "negative", "neutral"]}


def profile_of(user: User) -> WorkerProfile:
    return WorkerProfile.objects.get(user=user)


def give_skills(worker: WorkerProfile, skills: dict[str, int],
                source: str = SkillSource.ADMIN) -> None:
    for slug, level in skills.items():
        worker_skill_set(worker=worker, skill=Skill.objects.get(slug=slug), level=level,
                         source=source)


def make_ready_worker(user: User, *, skills: dict[str, int] | None = None,
                      source: str = SkillSource.ADMIN, clearance: str = "none",
                      terms: bool = False, status: str = WorkerStatus.ACTIVE) -> WorkerProfile:
    """A worker in ``status`` with ``skills`` at ``source`` and the given clearance.

    Bootstrap shortcut (no audit rows): for tests about routing, not about vetting.
    """
    worker = profile_of(user)
    give_skills(worker, skills or {}, source=source)
    worker.clearance = clearance
    if terms:
        worker.terms_version_accepted = settings.CONFIDENTIALITY_TERMS_VERSION
        worker.terms_accepted_at = timezone.now()
    worker.save(update_fields=["clearance", "terms_version_accepted", "terms_accepted_at"])
    worker_status_set(worker=worker, status=status)
    return worker


def project_fields(**overrides) -> dict:
    fields = {
        "name": "Sentiment",
        "instructions": "Pick the sentiment.",
        "task_type": "single_choice",
        "label_config": SENTIMENT,
        "required_skills": [{"skill": "sentiment-en", "min_level": 50}],
        "domain": "languages",
        "sensitivity": "public",
        "pay_model": "per_task",
        "reward_cents": 10,
        "items_per_task": 2,
        "gold_per_task": 0,
        "overlap": 1,
    }
    fields.update(overrides)
    return fields


def make_project(requester: User, *, status: str = ProjectStatus.ACTIVE, items: int = 2,
                 **overrides) -> Project:
    """A project of the requester's organization, brought to ``status`` via the services."""
    project = project_create(organization=requester.membership.organization, actor=requester,
                             fields=project_fields(**overrides))
    if status == ProjectStatus.DRAFT:
        return project
    items_import(project=project, actor=requester, is_gold=False, rows=[
        UploadRow(row=i + 1, external_id=None, data={"text": f"item {i}"}, answer=None,
                  has_answer=False) for i in range(items)])
    fund_organization(requester, 100_000)  # launch reserves the estimated cost in escrow
    projects_flow.launch(project=project, actor=requester)
    if status == ProjectStatus.PAUSED:
        project_pause(project=project, actor=requester)
    elif status == ProjectStatus.CANCELLED:
        projects_flow.cancel(project=project, actor=requester)
    elif status == ProjectStatus.COMPLETED:
        # Only the system completes projects; there is no requester call for it.
        Project.objects.filter(pk=project.pk).update(status=status)
    project.refresh_from_db()
    return project


def make_gold_only_project(requester: User, answers: list, *, task_type: str = "single_choice",
                           label_config: dict | None = None, name: str = "Sentiment exam",
                           texts: list[str] | None = None) -> Project:
    """A draft project holding only gold items, one per answer."""
    project = project_create(
        organization=requester.membership.organization, actor=requester,
        fields=project_fields(name=name, instructions="Answer every question.",
                              task_type=task_type, label_config=label_config or SENTIMENT,
                              required_skills=[], items_per_task=1))
    texts = texts or [f"question {i}" for i in range(len(answers))]
    items_import(project=project, actor=requester, is_gold=True, rows=[
        UploadRow(row=i + 1, external_id=f"q{i}", data={"text": texts[i]}, answer=answer,
                  has_answer=True) for i, answer in enumerate(answers)])
    return project


def audit_rows(worker: WorkerProfile) -> list[tuple]:
    """(action, actor_id, reason) of every audit row of the worker, oldest first."""
    return list(WorkerAuditEvent.objects.filter(worker=worker)
                .values_list("action", "actor_id", "reason"))


def error_code(response) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    return body["error"]["code"]
