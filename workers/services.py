from accounts.models import User

from .models import Skill, WorkerProfile, WorkerSkill


def worker_profile_create(*, user: User) -> WorkerProfile:
    return WorkerProfile.objects.create(user=user)


def worker_skill_set(*, worker: WorkerProfile, skill: Skill, level: int,
                     source: str) -> WorkerSkill:
    worker_skill, _ = WorkerSkill.objects.update_or_create(
        worker=worker, skill=skill, defaults={"level": level, "source": source})
    return worker_skill


def worker_status_set(*, worker: WorkerProfile, status: str) -> WorkerProfile:
    """Bootstrap-only (seed data); vetting transitions arrive with the workers issue."""
    worker.status = status
    worker.save(update_fields=["status"])
    return worker
