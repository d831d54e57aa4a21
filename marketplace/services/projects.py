"""Project life: create, edit, and the status transitions draft -> active <-> paused ->
completed | cancelled. Every transition locks the project row and checks its source state;
it joins the caller's transaction, where the flow (flows/projects.py) moves the money.
"""
from typing import Any

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from accounts.models import User
from config.errors import Conflict, InvalidInput
from workers.models import Domain
from workers.selectors import skills_by_slug

from .. import task_types
from ..enums import (
    PROJECT_TRANSITIONS,
    SENSITIVITY_ORDER,
    PayModel,
    ProjectStatus,
    TaskStatus,
)
from ..locks import project_for_update
from ..models import (
    Item,
    Organization,
    Project,
    ProjectInstructions,
    ProjectSkillRequirement,
    Task,
)
from ..webhooks.services import webhook_emit

# Changing these would change what workers already took on or what escrow reserved.
PAY_AND_OVERLAP_FIELDS = frozenset({
    "pay_model", "reward_cents", "hourly_rate_cents", "max_seconds_per_assignment",
    "overlap", "max_overlap", "confidence_target", "gold_per_task", "budget_cents",
    "min_effective_hourly_cents",
})
# Changing these would invalidate items, gold answers or tasks already cut.
STRUCTURE_FIELDS = frozenset({"task_type", "label_config", "items_per_task"})

MAX_ASSIGNMENT_DURATION_SECONDS = 7 * 24 * 3600


def _field_problems(project: Project) -> dict[str, list[str]]:
    """Every rule on a project's settings that spans fields or the taxonomy."""
    problems: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        problems.setdefault(field, []).append(message)

    for message in task_types.label_config_problems(project.task_type, project.label_config):
        add("label_config", message)
    if project.pay_model == PayModel.PER_TASK:
        if project.reward_cents is None:
            add("reward_cents", "Required when pay_model is per_task.")
        elif project.reward_cents < 1:
            # A per-task project paying nothing would be served at 0 cents.
            add("reward_cents", "Must be at least 1 cent when pay_model is per_task.")
    elif project.pay_model == PayModel.HOURLY:
        if project.hourly_rate_cents is None:
            add("hourly_rate_cents", "Required when pay_model is hourly.")
        if project.max_seconds_per_assignment is None:
            add("max_seconds_per_assignment", "Required when pay_model is hourly.")
    if project.max_overlap < project.overlap:
        add("max_overlap", "Must be greater than or equal to overlap.")
    if project.max_overlap > project.overlap and project.confidence_target is None:
        add("confidence_target", "Required when max_overlap is above overlap.")
    if project.assignment_duration_seconds > MAX_ASSIGNMENT_DURATION_SECONDS:
        add("assignment_duration_seconds", "At most 7 days.")
    if (project.pay_model == PayModel.HOURLY and project.max_seconds_per_assignment
            and project.max_seconds_per_assignment > project.assignment_duration_seconds):
        add("max_seconds_per_assignment", "Cannot exceed assignment_duration_seconds.")
    return problems


def _resolve_skills(required_skills: list[dict]) -> list[tuple[Any, int]]:
    slugs = [entry["skill"] for entry in required_skills]
    known = skills_by_slug(slugs)
    problems = {}
    for index, slug in enumerate(slugs):
        if slug not in known:
            problems[f"required_skills.{index}.skill"] = [f"Unknown skill {slug!r}."]
    if len(set(slugs)) != len(slugs):
        problems["required_skills"] = ["Each skill may appear once."]
    if problems:
        raise InvalidInput("Unknown or repeated skills.", fields=problems)
    return [(known[entry["skill"]], entry["min_level"]) for entry in required_skills]


def _resolve_domain(slug: str | None) -> Domain | None:
    if not slug:
        return None
    try:
        return Domain.objects.get(slug=slug)
    except Domain.DoesNotExist:
        raise InvalidInput(f"Unknown domain {slug!r}.", fields={"domain": ["Unknown domain."]})


def _raise_if_invalid(project: Project) -> None:
    problems = _field_problems(project)
    if problems:
        field, messages = next(iter(problems.items()))
        raise InvalidInput(f"Invalid input: {field}: {messages[0]}", fields=problems)


def _apply(project: Project, fields: dict) -> list[str]:
    changed = []
    for name, value in fields.items():
        if name == "domain":
            value = _resolve_domain(value)
        if getattr(project, name) != value:
            setattr(project, name, value)
            changed.append(name)
    return changed


def _replace_skills(project: Project, skills: list[tuple[Any, int]]) -> None:
    ProjectSkillRequirement.objects.filter(project=project).delete()
    ProjectSkillRequirement.objects.bulk_create(
        ProjectSkillRequirement(project=project, skill=skill, min_level=level)
        for skill, level in skills
    )


@transaction.atomic
def project_create(*, organization: Organization, actor: User, fields: dict) -> Project:
    fields = dict(fields)
    required_skills = fields.pop("required_skills", [])
    fields.setdefault("max_overlap", fields.get("overlap", 1))
    project = Project(organization=organization, created_by=actor)
    _apply(project, fields)
    _raise_if_invalid(project)
    skills = _resolve_skills(required_skills)
    project.save()
    _replace_skills(project, skills)
    ProjectInstructions.objects.create(project=project, version=project.instructions_version,
                                       instructions=project.instructions, created_by=actor)
    return project


def _require_sensitivity_covers_items(project: Project) -> None:
    """Routing clears workers by the project's sensitivity, so it may not drop below an
    item's (detected or set): lower those items first, each with a recorded reason."""
    above = SENSITIVITY_ORDER[SENSITIVITY_ORDER.index(project.sensitivity) + 1:]
    found = set(Item.objects.filter(project=project, sensitivity__in=above)
                .values_list("sensitivity", flat=True).distinct())
    if found:
        highest = max(found, key=SENSITIVITY_ORDER.index)
        raise Conflict(
            f"Items of this project are {highest}; lower them first (POST "
            "/projects/{id}/items/{item_id}/sensitivity with a reason).",
            code="items_more_sensitive",
            fields={"sensitivity": [f"At least {highest} while such items exist."]})


def _record_instructions(project: Project, actor: User, changed: list[str]) -> None:
    """A launched project's new instructions are a new version: assignments already served
    keep naming the one their worker read. A draft has served nobody, so its edits
    rewrite version 1."""
    if project.status == ProjectStatus.DRAFT:
        ProjectInstructions.objects.update_or_create(
            project=project, version=project.instructions_version,
            defaults={"instructions": project.instructions, "created_by": actor})
        return
    project.instructions_version += 1
    changed.append("instructions_version")
    ProjectInstructions.objects.create(project=project, version=project.instructions_version,
                                       instructions=project.instructions, created_by=actor)


@transaction.atomic
def project_update(*, project: Project, actor: User, changes: dict) -> Project:
    project = project_for_update(project_id=project.pk)
    changes = dict(changes)
    required_skills = changes.pop("required_skills", None)
    if project.status in (ProjectStatus.COMPLETED, ProjectStatus.CANCELLED):
        raise Conflict(f"A {project.status} project cannot be edited.", code="project_closed")
    # max_overlap == overlap means adaptive overlap is off (the create default); an
    # overlap change alone must keep it off rather than demand a confidence_target.
    fixed_overlap = project.max_overlap == project.overlap
    previous_overlap = project.overlap
    changed = _apply(project, changes)
    if ("overlap" in changes and "max_overlap" not in changes
            and (fixed_overlap or project.max_overlap < project.overlap)
            and project.max_overlap != project.overlap):
        project.max_overlap = project.overlap
        changed.append("max_overlap")
    locked_pay = PAY_AND_OVERLAP_FIELDS.intersection(changed)
    if locked_pay and project.status not in (ProjectStatus.DRAFT, ProjectStatus.PAUSED):
        raise Conflict(
            f"{', '.join(sorted(locked_pay))} can only change while the project is draft "
            "or paused.", code="project_not_editable",
            fields={name: ["Pause the project first."] for name in sorted(locked_pay)})
    structural = STRUCTURE_FIELDS.intersection(changed)
    if structural and (project.status != ProjectStatus.DRAFT
                       or Item.objects.filter(project=project).exists()):
        raise Conflict(
            f"{', '.join(sorted(structural))} can only change on a draft project without "
            "items.", code="project_not_editable",
            fields={name: ["Items already exist."] for name in sorted(structural)})
    _raise_if_invalid(project)
    if "sensitivity" in changed:
        _require_sensitivity_covers_items(project)
    if "instructions" in changed:
        _record_instructions(project, actor, changed)
    if changed:
        project.save(update_fields=[*changed, "updated_at"])
    if "overlap" in changed:
        # Open tasks follow the new overlap (keeping raises dynamic overlap made), but
        # never drop below the slots already taken.
        Task.objects.filter(project=project, status=TaskStatus.OPEN).update(
            overlap=Greatest(F("overlap") + (project.overlap - previous_overlap),
                             F("filled"), Value(1)))
    if required_skills is not None:
        _replace_skills(project, _resolve_skills(required_skills))
    return project


def _transition(project: Project, target: str, *, action: str) -> Project:
    if target not in PROJECT_TRANSITIONS[project.status]:
        raise Conflict(f"Cannot {action} a project that is {project.status}.",
                       code="illegal_transition")
    project.status = target
    return project


def project_launch(*, project: Project, actor: User) -> Project:
    project = project_for_update(project_id=project.pk)
    # paused -> active is a legal transition, but only through resume: launching a paused
    # project would re-stamp launched_at.
    if project.status != ProjectStatus.DRAFT:
        raise Conflict(f"Cannot launch a project that is {project.status}.",
                       code="illegal_transition")
    _transition(project, ProjectStatus.ACTIVE, action="launch")
    if not Item.objects.filter(project=project, is_gold=False).exists():
        raise Conflict("Upload at least one item before launching.", code="no_items")
    gold_count = Item.objects.filter(project=project, is_gold=True).count()
    if gold_count < project.gold_per_task:
        raise Conflict(
            f"gold_per_task is {project.gold_per_task} but only {gold_count} gold items "
            "exist; upload more gold first.", code="not_enough_gold")
    project.launched_at = timezone.now()
    project.save(update_fields=["status", "launched_at", "updated_at"])
    return project


@transaction.atomic
def project_pause(*, project: Project, actor: User) -> Project:
    project = project_for_update(project_id=project.pk)
    _transition(project, ProjectStatus.PAUSED, action="pause")
    project.status_reason = ""
    project.save(update_fields=["status", "status_reason", "updated_at"])
    return project


def project_resume(*, project: Project, actor: User) -> Project:
    project = project_for_update(project_id=project.pk)
    if project.status != ProjectStatus.PAUSED:
        raise Conflict(f"Cannot resume a project that is {project.status}.",
                       code="illegal_transition")
    _transition(project, ProjectStatus.ACTIVE, action="resume")
    project.status_reason = ""
    project.save(update_fields=["status", "status_reason", "updated_at"])
    return project


FUNDS_PAUSE_REASON = "Paused: not enough funds to collect more labels. Top up, then resume."


def project_pause_for_funds(*, project: Project, reason: str = FUNDS_PAUSE_REASON) -> Project:
    """System pause: the project needs more escrow than its organization has (dynamic
    overlap could not reserve another label, or fair-pay adjustments used escrow the
    remaining work needs). Resuming reserves it or answers 402."""
    with transaction.atomic():
        project = project_for_update(project_id=project.pk)
        if project.status != ProjectStatus.ACTIVE:
            return project
        _transition(project, ProjectStatus.PAUSED, action="pause")
        project.status_reason = reason[:300]
        project.save(update_fields=["status", "status_reason", "updated_at"])
        return project


def project_cancel(*, project: Project, actor: User) -> Project:
    project = project_for_update(project_id=project.pk)
    _transition(project, ProjectStatus.CANCELLED, action="cancel")
    project.save(update_fields=["status", "updated_at"])
    return project


def project_complete_if_active(*, project_id: int) -> Project | None:
    """Complete the project when it is active (the results flow, once every item is
    final); None when it is not (paused, cancelled, completed already)."""
    project = project_for_update(project_id=project_id)
    if project.status != ProjectStatus.ACTIVE:
        return None
    return project_complete(project=project)


def project_complete(*, project: Project) -> Project:
    """System transition once every item is final (the results flow calls it)."""
    project = project_for_update(project_id=project.pk)
    if project.status == ProjectStatus.COMPLETED:
        return project
    _transition(project, ProjectStatus.COMPLETED, action="complete")
    project.save(update_fields=["status", "updated_at"])
    webhook_emit(organization_id=project.organization_id, event="project.completed",
                 payload={"project_id": project.pk, "name": project.name,
                          "completed_at": project.updated_at.isoformat()})
    return project
