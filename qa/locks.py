"""Row locks of qa, in the system order (config/lock_order.py): Review -> Dispute ->
WorkerProjectStats -> WorkerSkillStats -> QualityAction; all after the assignment a
decision is about, all FOR NO KEY UPDATE."""
from .models import Dispute, QualityAction, Review, WorkerProjectStats, WorkerSkillStats


def review_for_update(*, review_id: int) -> Review:
    return (Review.objects.select_for_update(no_key=True, of=("self",))
            .select_related("assignment").get(pk=review_id))


def dispute_for_update(*, dispute_id: int) -> Dispute:
    return (Dispute.objects.select_for_update(no_key=True, of=("self",))
            .select_related("assignment").get(pk=dispute_id))


def project_stats_for_update(*, worker_id: int, project_id: int) -> WorkerProjectStats:
    WorkerProjectStats.objects.get_or_create(worker_id=worker_id, project_id=project_id)
    return WorkerProjectStats.objects.select_for_update(no_key=True).get(
        worker_id=worker_id, project_id=project_id)


def skill_stats_for_update(*, worker_id: int, skill_id: int) -> WorkerSkillStats:
    WorkerSkillStats.objects.get_or_create(worker_id=worker_id, skill_id=skill_id)
    return WorkerSkillStats.objects.select_for_update(no_key=True).get(
        worker_id=worker_id, skill_id=skill_id)


def live_suspension_for_update(*, worker_id: int, project_id: int, kind: str):
    return (QualityAction.objects.select_for_update(no_key=True)
            .filter(worker_id=worker_id, project_id=project_id, kind=kind,
                    lifted_at__isnull=True).first())
