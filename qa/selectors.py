import krippendorff
import numpy as np
from django.core.cache import cache
from django.db.models import Exists, OuterRef, QuerySet

from marketplace import task_types
from marketplace.enums import AssignmentStatus
from marketplace.models import Answer

from .enums import QualityActionKind
from .grading import GradingTolerances
from .models import QualityAction, QualitySettings, Review


def quality_settings_for(*, project) -> QualitySettings:
    """The project's settings row, or unsaved defaults."""
    found = QualitySettings.objects.filter(project=project).first()
    return found or QualitySettings(project=project)


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
    values = [(item_id, task_types.agreement_value(project.task_type, value))
              for item_id, value in rows]
    values = [(item_id, value) for item_id, value in values if value is not None]
    alpha = None
    if values:
        items = sorted({item_id for item_id, _ in values})
        categories = sorted({value for _, value in values}, key=str)
        item_index = {item_id: i for i, item_id in enumerate(items)}
        category_index = {value: i for i, value in enumerate(categories)}
        counts = np.zeros((len(items), len(categories)), dtype=np.int64)
        for item_id, value in values:
            counts[item_index[item_id], category_index[value]] += 1
        pairable = counts.sum(axis=1) >= 2
        if pairable.sum() >= 2 and len(categories) >= 2:
            level = task_types.rules_for(project.task_type).agreement_level
            value_domain = categories if level == "interval" else None
            alpha = float(krippendorff.alpha(value_counts=counts[pairable],
                                             level_of_measurement=level,
                                             value_domain=value_domain))
            alpha = None if np.isnan(alpha) else round(alpha, 4)
    cache.set(key, {"alpha": alpha}, AGREEMENT_CACHE_SECONDS)
    return alpha


def review_request_reason_code(*, review_id: int) -> str:
    """The reason code a requester gave when its rejection became this review request
    ("" for a sampled spot check)."""
    return (Review.objects.filter(pk=review_id).values_list("request_reason_code", flat=True)
            .first()) or ""
