"""Row locks of qa, in the system order (config/lock_order.py): Review -> Dispute ->
WorkerProjectStats -> WorkerSkillStats -> QualityAction; all after the assignment a
decision is about, all FOR NO KEY UPDATE."""
from config.compiled_query import CompiledQuery

from .models import Dispute, QualityAction, Review, WorkerProjectStats, WorkerSkillStats


def review_for_update(*, review_id: int) -> Review:
    return (Review.objects.select_for_update(no_key=True, of=("self",))
            .select_related("assignment").get(pk=review_id))


def dispute_for_update(*, dispute_id: int) -> Dispute:
    return (Dispute.objects.select_for_update(no_key=True, of=("self",))
            .select_related("assignment").get(pk=dispute_id))


def _record_for_update(model, **key):
    # The row exists after a worker's first submission: lock it in one statement then,
    # create it (get_or_create: a racing creator wins on the unique key) only the first time.
    locked = _RECORD_FOR_UPDATE[model]
    try:
        return locked.get(**key)
    except model.DoesNotExist:
        model.objects.get_or_create(**key)
        return locked.get(**key)


_RECORD_FOR_UPDATE = {  # on every graded submission: compiled once
    WorkerProjectStats: CompiledQuery(
        lambda worker_id, project_id: WorkerProjectStats.objects.select_for_update(
            no_key=True).filter(worker_id=worker_id, project_id=project_id),
        worker_id=int, project_id=int),
    WorkerSkillStats: CompiledQuery(
        lambda worker_id, skill_id: WorkerSkillStats.objects.select_for_update(
            no_key=True).filter(worker_id=worker_id, skill_id=skill_id),
        worker_id=int, skill_id=int),
}


def project_stats_for_update(*, worker_id: int, project_id: int) -> WorkerProjectStats:
    return _record_for_update(WorkerProjectStats, worker_id=worker_id, project_id=project_id)


def skill_stats_for_update(*, worker_id: int, skill_id: int) -> WorkerSkillStats:
    return _record_for_update(WorkerSkillStats, worker_id=worker_id, skill_id=skill_id)


def live_suspension_for_update(*, worker_id: int, project_id: int, kind: str):
    return (QualityAction.objects.select_for_update(no_key=True)
            .filter(worker_id=worker_id, project_id=project_id, kind=kind,
                    lifted_at__isnull=True).first())
