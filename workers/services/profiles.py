from django.db import transaction

from accounts.models import User
from config.errors import InvalidInput

from ..enums import VERIFIED_SOURCES, AuditAction, SkillSource
from ..events import audit
from ..locks import worker_for_update
from ..models import Domain, Skill, WorkerProfile, WorkerSkill

PROFILE_FIELDS = ("full_name", "bio", "country", "languages")


def worker_profile_create(*, user: User) -> WorkerProfile:
    return WorkerProfile.objects.create(user=user)


def worker_skill_set(*, worker: WorkerProfile, skill: Skill, level: int,
                     source: str) -> WorkerSkill:
    worker_skill, _ = WorkerSkill.objects.update_or_create(
        worker=worker, skill=skill, defaults={"level": level, "source": source})
    return worker_skill


def worker_skill_set_verified(*, worker: WorkerProfile, skill: Skill, level: int,
                              source: str, actor: User | None, reason: str = "",
                              **details) -> WorkerSkill:
    """Set a verified level (exam, gold record or admin) and audit it."""
    if source not in VERIFIED_SOURCES:
        raise ValueError(f"{source!r} is not a verified source")
    previous = WorkerSkill.objects.filter(worker=worker, skill=skill).first()
    worker_skill = worker_skill_set(worker=worker, skill=skill, level=level, source=source)
    audit(worker=worker, actor=actor, action=AuditAction.SKILL_LEVEL_SET, reason=reason,
          skill=skill.slug, level=level, source=source,
          previous_level=previous.level if previous else None,
          previous_source=previous.source if previous else None, **details)
    return worker_skill


def _resolve(model, slugs: list[str], field: str) -> dict:
    found = {obj.slug: obj for obj in model.objects.filter(slug__in=slugs)}
    unknown = {f"{field}.{index}": [f"Unknown {field[:-1]} {slug!r}."]
               for index, slug in enumerate(slugs) if slug not in found}
    if unknown:
        raise InvalidInput(f"Unknown {field}.", fields=unknown)
    return found


def _replace_claims(worker: WorkerProfile, claims: list[dict]) -> None:
    """Claims are the worker's own word: stored with source ``claimed``, never verified.

    A claim on a skill that already has a verified level is refused rather than ignored,
    so a worker cannot believe they raised it.
    """
    slugs = [claim["skill"] for claim in claims]
    if len(set(slugs)) != len(slugs):
        raise InvalidInput("Each skill may appear once.", fields={"skills": ["Duplicate skill."]})
    skills = _resolve(Skill, slugs, "skills")
    verified = {ws.skill_id: ws for ws in WorkerSkill.objects.filter(
        worker=worker, source__in=VERIFIED_SOURCES)}
    problems = {}
    for index, claim in enumerate(claims):
        held = verified.get(skills[claim["skill"]].pk)
        if held is not None and claim.get("level", held.level) != held.level:
            problems[f"skills.{index}.level"] = [
                f"{claim['skill']} is verified at {held.level} ({held.source}); verified "
                "levels change only through exams, gold record or admins."]
    if problems:
        raise InvalidInput("Verified skill levels cannot be changed by the worker.",
                           code="verified_skill", fields=problems)
    WorkerSkill.objects.filter(worker=worker, source=SkillSource.CLAIMED).exclude(
        skill__slug__in=slugs).delete()
    for claim in claims:
        skill = skills[claim["skill"]]
        if skill.pk not in verified:
            worker_skill_set(worker=worker, skill=skill, level=claim.get("level", 0),
                             source=SkillSource.CLAIMED)


@transaction.atomic
def worker_profile_update(*, worker: WorkerProfile, changes: dict) -> WorkerProfile:
    worker = worker_for_update(worker_id=worker.pk)
    changed = []
    for name in PROFILE_FIELDS:
        if name in changes and getattr(worker, name) != changes[name]:
            setattr(worker, name, changes[name])
            changed.append(name)
    if changed:
        worker.save(update_fields=changed)
    if "domains" in changes:
        domains = _resolve(Domain, list(changes["domains"]), "domains")
        worker.domains.set(domains.values())
    if "skills" in changes:
        _replace_claims(worker, changes["skills"])
    return worker
