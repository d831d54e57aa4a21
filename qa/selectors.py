import krippendorff
import numpy as np
from django.core.cache import cache
from django.db.models import Exists, OuterRef, QuerySet

from marketplace import task_types
from marketplace.enums import AssignmentStatus
from marketplace.models import Answer

from .enums import QualityActionKind
from .grading import GradingTolerances
from .models import (
    Dispute,
    QualityAction,
    QualitySettings,
    Review,
    WorkerProjectStats,
    WorkerSkillStats,
)
# quality_settings_memo: for the flows (one cache read per unit of work), re-exported.
from .settings_cache import quality_settings_cached, quality_settings_memo


def quality_settings_for(*, project) -> QualitySettings:
    """The project's settings row, or unsaved defaults (cached: qa/settings_cache.py)."""
    return quality_settings_cached(project=project)


def tolerances_for(settings_row: QualitySettings) -> GradingTolerances:
    return GradingTolerances(
        multi_choice_min_jaccard=settings_row.multi_choice_min_jaccard,
        rating_max_distance=settings_row.rating_max_distance,
        text_min_similarity=settings_row.text_min_similarity,
        spans_min_f1=settings_row.spans_min_f1,
        bbox_min_iou=settings_row.bbox_min_iou,
        ranking_min_kendall_tau=settings_row.ranking_min_kendall_tau,
    )


def live_suspensions(*, worker) -> QuerySet[QualityAction]:
    return QualityAction.objects.filter(worker=worker, kind=QualityActionKind.SUSPENDED,
                                        lifted_at__isnull=True)


def suspended_from_project(*, worker):
    """An Exists() for querysets of projects: is the worker suspended from this one?"""
    return Exists(live_suspensions(worker=worker).filter(project=OuterRef("pk")))


# --- Agreement ---------------------------------------------------------------------------

AGREEMENT_CACHE_SECONDS = 60
AGREEMENT_MAX_ANSWERS = 200_000


def agreement_alpha(*, task_type: str, rows) -> float | None:
    """Krippendorff's alpha over (item_id, answer value) rows: nominal for categorical
    answers, interval for ratings; None with too little data (fewer than two items with
    two labels, or a single category). The one place alpha is computed: the progress
    figure and the console's agreement-over-time chart both call it."""
    values = [(item_id, task_types.agreement_value(task_type, value))
              for item_id, value in rows]
    values = [(item_id, value) for item_id, value in values if value is not None]
    if not values:
        return None
    items = sorted({item_id for item_id, _ in values})
    categories = sorted({value for _, value in values}, key=str)
    item_index = {item_id: i for i, item_id in enumerate(items)}
    category_index = {value: i for i, value in enumerate(categories)}
    counts = np.zeros((len(items), len(categories)), dtype=np.int64)
    for item_id, value in values:
        counts[item_index[item_id], category_index[value]] += 1
    pairable = counts.sum(axis=1) >= 2
    if pairable.sum() < 2 or len(categories) < 2:
        return None
    level = task_types.rules_for(task_type).agreement_level
    value_domain = categories if level == "interval" else None
    alpha = float(krippendorff.alpha(value_counts=counts[pairable],
                                     level_of_measurement=level, value_domain=value_domain))
    return None if np.isnan(alpha) else round(alpha, 4)


def project_agreement(*, project) -> float | None:
    """Krippendorff's alpha over the project's labelled items so far (nominal for
    categorical answers, interval for ratings); None with too little data. Cached
    briefly: the progress page is polled."""
    key = f"qa:agreement:{project.pk}"
    cached = cache.get(key)
    if cached is not None:
        return cached["alpha"]
    rows = list(Answer.objects.filter(
        assignment__project=project, is_gold=False,
        assignment__status__in=[AssignmentStatus.SUBMITTED, AssignmentStatus.APPROVED])
        .values_list("item_id", "value")[:AGREEMENT_MAX_ANSWERS])
    alpha = agreement_alpha(task_type=project.task_type, rows=rows)
    cache.set(key, {"alpha": alpha}, AGREEMENT_CACHE_SECONDS)
    return alpha


def worker_disputes_export(*, worker) -> list[dict]:
    """The worker's disputes, for the personal-data export."""
    return [{"id": dispute.pk, "assignment_id": dispute.assignment_id,
             "message": dispute.message, "status": dispute.status, "outcome": dispute.outcome,
             "note": dispute.note, "created_at": dispute.created_at,
             "resolved_at": dispute.resolved_at}
            for dispute in Dispute.objects.filter(worker=worker).order_by("id")]


# --- A worker's own quality record ---------------------------------------------------------

def _accuracy(row) -> float | None:
    return round(row.gold_correct / row.gold_seen, 4) if row.gold_seen else None


def worker_quality_stats(*, worker) -> dict:
    """Gold accuracy (with its Wilson lower bound) per project and skill, and every quality
    action taken on the worker with its reason: what GET /worker/stats and the worker's
    "My work" page show."""
    projects = (WorkerProjectStats.objects.filter(worker=worker)
                .select_related("project").order_by("project_id"))
    actions = list(QualityAction.objects.filter(worker=worker).select_related("project"))
    by_project: dict[int, list] = {}
    for action in actions:
        by_project.setdefault(action.project_id, []).append(action)
    skills = (WorkerSkillStats.objects.filter(worker=worker)
              .select_related("skill").order_by("skill__slug"))
    return {
        "projects": [{
            "project_id": row.project_id, "project_name": row.project.name,
            "gold_seen": row.gold_seen, "gold_correct": row.gold_correct,
            "accuracy": _accuracy(row), "accuracy_lower_bound": row.accuracy_lower_bound,
            "submitted": row.submitted, "returned": row.returned,
            "items_compared": row.items_compared, "items_disagreed": row.items_disagreed,
            "reviews_passed": row.reviews_passed, "reviews_failed": row.reviews_failed,
            "suspended": any(a.kind == QualityActionKind.SUSPENDED and a.lifted_at is None
                             for a in by_project.get(row.project_id, [])),
            "quality_actions": by_project.get(row.project_id, []),
        } for row in projects],
        "skills": [{"skill": row.skill.slug, "gold_seen": row.gold_seen,
                    "gold_correct": row.gold_correct, "accuracy": _accuracy(row),
                    "accuracy_lower_bound": row.accuracy_lower_bound} for row in skills],
    }


def worker_dispute_list(*, worker) -> QuerySet[Dispute]:
    return Dispute.objects.filter(worker=worker).select_related("assignment")
def review_request_reason_code(*, review_id: int) -> str:
    """The reason code a requester gave when its rejection became this review request
    ("" for a sampled spot check)."""
    return (Review.objects.filter(pk=review_id).values_list("request_reason_code", flat=True)
            .first()) or ""
