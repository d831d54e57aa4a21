"""Reads of the requester console beyond what the API selectors return as they are.

Every function takes a project the caller already fetched through
``marketplace.selectors.project_get`` (organization-scoped: another organization's
project is a 404 before anything here runs). Chart data is bounded: time buckets are
computed in SQL (Trunc), histograms bin in SQL (Floor), and per-worker lists stop at
``MAX_WORKERS`` - nothing loads every row of a large project.
"""
from datetime import timedelta

from django.core.cache import cache
from django.db.models import Count, F, FloatField, IntegerField, Q, Sum
from django.db.models.functions import Cast, Coalesce, Floor, TruncDay, TruncHour
from django.utils import timezone

from marketplace.enums import AssignmentStatus, ProjectStatus
from marketplace.models import Answer, Assignment, Item, Project, Task, WorkerPseudonym
from marketplace.services.pseudonyms import pseudonym_value
from payments.enums import EarningKind
from payments.models import Earning
from payments.selectors import effective_hourly_cents, project_progress
from payments.services import pay_floor_cents
from qa.enums import QualityActionKind
from qa.models import Dispute, QualityAction, WorkerProjectStats
from qa.selectors import AGREEMENT_CACHE_SECONDS, agreement_alpha

MAX_BUCKETS = 48
MAX_WORKERS = 200
MAX_AGREEMENT_POINTS = 12
# Each point of the alpha chart is computed over the most recent labels before its bucket
# ends, at most this many, and cached like the progress figure's alpha.
AGREEMENT_POINT_MAX_ANSWERS = 20_000
HISTOGRAM_BINS = 10


# --- Projects list ------------------------------------------------------------------------

def project_warnings(*, project: Project, progress: dict) -> list[dict]:
    """The warnings the API already computes, in one list: pay under the floor (the
    progress pay_warning), paused for funds (status_reason), automation paused."""
    from automation.selectors import settings_get

    warnings = []
    if progress.get("pay_warning"):
        warnings.append({"code": progress["pay_warning"]["code"],
                         "message": progress["pay_warning"]["message"]})
    if project.status == ProjectStatus.PAUSED and project.status_reason:
        warnings.append({"code": "paused", "message": project.status_reason})
    automation = settings_get(project=project)
    if automation.paused_at is not None:
        warnings.append({"code": "automation_paused",
                         "message": f"Automation paused: {automation.paused_reason}"})
    return warnings


def project_summary(*, project: Project) -> dict:
    progress = project_progress(project=project)
    total = progress["items_total"]
    return {"project": project, "progress": progress,
            "percent_done": round(100 * progress["items_done"] / total) if total else 0,
            "warnings": project_warnings(project=project, progress=progress)}


# --- Time buckets ---------------------------------------------------------------------------

def _bucketing(project: Project):
    """Hours for a project younger than two days, days after that; the window starts at
    launch (or creation) and holds at most MAX_BUCKETS buckets."""
    start = project.launched_at or project.created_at
    now = timezone.now()
    if now - start <= timedelta(days=2):
        trunc, step = TruncHour, timedelta(hours=1)
    else:
        trunc, step = TruncDay, timedelta(days=1)
    return trunc, max(start, now - step * MAX_BUCKETS), step


def _per_bucket(queryset, field: str, value, trunc, since) -> list[tuple]:
    return list(queryset.filter(**{f"{field}__gte": since})
                .annotate(bucket=trunc(field)).values("bucket")
                .annotate(value=value).order_by("bucket").values_list("bucket", "value"))


def items_finalized_series(*, project: Project, progress: dict) -> dict:
    """Cumulative items with a final result per bucket, and the ETA line from now to
    every item done (when the progress figure has an ETA)."""
    trunc, since, _ = _bucketing(project)
    items = Item.objects.filter(project=project, is_gold=False)
    before = items.filter(finalized_at__lt=since).count()
    rows = _per_bucket(items.filter(finalized_at__isnull=False), "finalized_at",
                       Count("id"), trunc, since)
    points, running = [], before
    for bucket, count in rows:
        running += count
        points.append((bucket, running))
    eta = None
    if progress.get("eta_seconds") and progress["items_done"] < progress["items_total"]:
        now = timezone.now()
        eta = [(now, progress["items_done"]),
               (now + timedelta(seconds=progress["eta_seconds"]), progress["items_total"])]
    return {"points": points, "eta": eta, "total": progress["items_total"]}


def throughput_series(*, project: Project) -> list[tuple]:
    """Assignments submitted per hour (the last MAX_BUCKETS hours)."""
    since = timezone.now() - timedelta(hours=MAX_BUCKETS)
    return _per_bucket(Assignment.objects.filter(project=project, submitted_at__isnull=False),
                       "submitted_at", Count("id"), TruncHour, since)


def spend_series(*, project: Project) -> list[tuple]:
    """Cumulative spend (worker pay plus platform fee) per bucket."""
    trunc, since, _ = _bucketing(project)
    earnings = Earning.objects.filter(project=project)
    before = (earnings.filter(created_at__lt=since)
              .aggregate(total=Coalesce(Sum(F("amount_cents") + F("fee_cents")), 0))["total"])
    rows = _per_bucket(earnings, "created_at", Sum(F("amount_cents") + F("fee_cents")),
                       trunc, since)
    points, running = [], before
    for bucket, cents in rows:
        running += cents or 0
        points.append((bucket, running))
    return points


def confidence_histogram(*, project: Project) -> list[dict]:
    """Items with a result per tenth of confidence (binned in SQL)."""
    rows = dict(Item.objects.filter(project=project, is_gold=False, confidence__isnull=False)
                .annotate(bin=Cast(Floor(F("confidence") * HISTOGRAM_BINS), IntegerField()))
                .values("bin").annotate(n=Count("id")).values_list("bin", "n"))
    # Confidence 1.0 falls in the top bin.
    rows[HISTOGRAM_BINS - 1] = rows.get(HISTOGRAM_BINS - 1, 0) + rows.pop(HISTOGRAM_BINS, 0)
    return [{"label": f"{n / HISTOGRAM_BINS:.1f}–{(n + 1) / HISTOGRAM_BINS:.1f}",
             "value": rows.get(n, 0)} for n in range(HISTOGRAM_BINS)]


def agreement_series(*, project: Project) -> list[tuple]:
    """Krippendorff's alpha over the labels submitted up to the end of each bucket (at
    most MAX_AGREEMENT_POINTS points, each over the latest AGREEMENT_POINT_MAX_ANSWERS
    answers; a finished bucket's alpha is cached)."""
    trunc, since, step = _bucketing(project)
    labelled = Answer.objects.filter(
        assignment__project=project, is_gold=False,
        assignment__status__in=[AssignmentStatus.SUBMITTED, AssignmentStatus.APPROVED])
    buckets = [bucket for bucket, _ in _per_bucket(
        Assignment.objects.filter(project=project, submitted_at__isnull=False),
        "submitted_at", Count("id"), trunc, since)][-MAX_AGREEMENT_POINTS:]
    points = []
    for bucket in buckets:
        key = f"console:alpha:{project.pk}:{bucket.timestamp():.0f}:{step.total_seconds():.0f}"
        cached = cache.get(key)
        if cached is None:
            rows = list(labelled.filter(assignment__submitted_at__lt=bucket + step)
                        .order_by("-assignment__submitted_at")
                        .values_list("item_id", "value")[:AGREEMENT_POINT_MAX_ANSWERS])
            cached = {"alpha": agreement_alpha(task_type=project.task_type, rows=rows)}
            cache.set(key, cached, AGREEMENT_CACHE_SECONDS)
        points.append((bucket, cached["alpha"]))
    return points


def _pseudonyms(project: Project, worker_ids) -> dict[int, str]:
    stored = dict(WorkerPseudonym.objects.filter(project=project, worker_id__in=worker_ids)
                  .values_list("worker_id", "pseudonym"))
    # Derived the same way the stored ones were; a worker never lacks a name here.
    return {pk: stored.get(pk) or pseudonym_value(project.pk, pk) for pk in worker_ids}


def worker_accuracy(*, project: Project) -> dict:
    """Per worker (pseudonymous): gold accuracy and its Wilson lower bound, and the
    accuracy histogram over workers."""
    rows = list(WorkerProjectStats.objects.filter(project=project, gold_seen__gt=0)
                .annotate(accuracy=Cast(F("gold_correct"), FloatField()) / F("gold_seen"))
                .order_by("accuracy", "worker_id")
                .values("worker_id", "gold_seen", "gold_correct", "accuracy",
                        "accuracy_lower_bound")[:MAX_WORKERS])
    names = _pseudonyms(project, [row["worker_id"] for row in rows])
    bins = [0] * HISTOGRAM_BINS
    for row in rows:
        row["worker"] = names[row["worker_id"]]
        bins[min(int(row["accuracy"] * HISTOGRAM_BINS), HISTOGRAM_BINS - 1)] += 1
    histogram = [{"label": f"{n / HISTOGRAM_BINS:.1f}–{(n + 1) / HISTOGRAM_BINS:.1f}",
                  "value": bins[n]} for n in range(HISTOGRAM_BINS)]
    return {"workers": rows, "histogram": histogram}


def worker_hourly_pay(*, project: Project) -> dict:
    """Per worker (pseudonymous): what approved work paid per hour of measured active
    time, fair-pay adjustments included, against the project's floor."""
    paid_work = (EarningKind.TASK, EarningKind.HOURLY, EarningKind.FAIR_PAY)
    rows = list(Earning.objects.filter(project=project, kind__in=paid_work)
                .values("worker_id")
                .annotate(earned=Sum("amount_cents"),
                          seconds=Coalesce(Sum("assignment__active_seconds",
                                               filter=Q(kind=EarningKind.TASK)), 0)
                          + Coalesce(Sum("active_seconds",
                                         filter=Q(kind=EarningKind.HOURLY)), 0))
                .order_by("worker_id")[:MAX_WORKERS])
    names = _pseudonyms(project, [row["worker_id"] for row in rows])
    workers = [{"worker": names[row["worker_id"]], "earned_cents": row["earned"],
                "active_seconds": row["seconds"],
                "hourly_cents": round(row["earned"] * 3600 / row["seconds"])
                if row["seconds"] else None} for row in rows]
    return {"workers": workers, "floor_cents": pay_floor_cents(project=project),
            "project_hourly_cents": effective_hourly_cents(project=project)}


# --- Quality ---------------------------------------------------------------------------------

def lowest_confidence_items(*, project: Project, limit: int = 20) -> list[dict]:
    items = list(Item.objects.filter(project=project, is_gold=False, confidence__isnull=False)
                 .order_by("confidence", "id")[:limit])
    labels = _labels_by_item(project, [item.pk for item in items])
    return [{"item": item, "labels": labels.get(item.pk, [])} for item in items]


def _labels_by_item(project: Project, item_ids: list[int]) -> dict[int, list[dict]]:
    answers = list(Answer.objects.filter(
        item_id__in=item_ids, is_gold=False,
        assignment__status__in=[AssignmentStatus.SUBMITTED, AssignmentStatus.APPROVED])
        .values("item_id", "value", "assignment_id", "assignment__worker_id",
                "assignment__status").order_by("assignment_id"))
    names = _pseudonyms(project, {row["assignment__worker_id"] for row in answers})
    labels: dict[int, list[dict]] = {}
    for row in answers:
        labels.setdefault(row["item_id"], []).append({
            "worker": names[row["assignment__worker_id"]], "value": row["value"],
            "assignment_id": row["assignment_id"], "status": row["assignment__status"]})
    return labels


def gold_by_miss_rate(*, project: Project, limit: int = 50) -> list[dict]:
    """Gold items ranked by how often graded answers missed them (a too-hard or wrong
    gold item comes first); retired gold last."""
    items = (Item.objects.filter(project=project, is_gold=True)
             .annotate(graded=Count("answers", filter=Q(answers__is_correct__isnull=False)),
                       missed=Count("answers", filter=Q(answers__is_correct=False)))
             .annotate(miss_rate=Cast(F("missed"), FloatField())
                       / Cast(F("graded"), FloatField()))
             .order_by(F("retired_at").asc(nulls_first=True),
                       F("miss_rate").desc(nulls_last=True), "id")[:limit])
    return list(items)


def quality_actions(*, project: Project, limit: int = 50) -> dict:
    """Rule actions taken: suspensions and flags (pseudonymous), and the tasks whose
    overlap was raised above the project's because their confidence stayed low."""
    actions = list(QualityAction.objects.filter(project=project)
                   .order_by("-created_at", "-id")[:limit])
    names = _pseudonyms(project, {action.worker_id for action in actions})
    raised = (Task.objects.filter(project=project, overlap__gt=project.overlap)
              .aggregate(tasks=Count("id"),
                         extra=Coalesce(Sum(F("overlap") - project.overlap), 0)))
    return {"actions": [{"action": action, "worker": names[action.worker_id],
                         "suspension": action.kind == QualityActionKind.SUSPENDED}
                        for action in actions],
            "overlap_raised_tasks": raised["tasks"], "overlap_extra_slots": raised["extra"]}


# --- Review -----------------------------------------------------------------------------------

def review_queue(*, project: Project, worker: str = "", missed_gold: str = "",
                 limit: int = 50):
    """Submitted assignments, oldest first; filtered by worker pseudonym and by whether
    they missed gold. Returns (assignments, total matching)."""
    from marketplace.selectors import project_assignment_list

    queue = project_assignment_list(project=project, status=AssignmentStatus.SUBMITTED)
    if worker:
        queue = queue.filter(worker_pseudonym=worker)
    if missed_gold == "yes":
        queue = queue.filter(answers__is_gold=True, answers__is_correct=False).distinct()
    elif missed_gold == "no":
        queue = queue.exclude(answers__is_gold=True, answers__is_correct=False)
    queue = queue.select_related("project").order_by("submitted_at", "id")
    return list(queue[:limit]), queue.count()


def project_disputes(*, project: Project, limit: int = 50) -> list[dict]:
    disputes = list(Dispute.objects.filter(assignment__project=project)
                    .select_related("assignment").order_by("-created_at")[:limit])
    names = _pseudonyms(project, {d.assignment.worker_id for d in disputes})
    return [{"dispute": d, "worker": names[d.assignment.worker_id]} for d in disputes]


# --- Results ----------------------------------------------------------------------------------

def results_preview(*, project: Project, max_confidence: float | None = None,
                    min_revision: int | None = None, source: str = "", limit: int = 50
                    ) -> list[dict]:
    """Final results, filtered in SQL (confidence at most, revision at least, where the
    result came from), the first ``limit`` by item id."""
    from automation.enums import PredictionState, ResultSource
    from automation.selectors import result_sources

    items = Item.objects.filter(project=project, is_gold=False, finalized_at__isnull=False)
    if max_confidence is not None:
        items = items.filter(confidence__lte=max_confidence)
    if min_revision is not None:
        items = items.filter(revision__gte=min_revision)
    model_states = {ResultSource.MODEL: PredictionState.AUTO_ACCEPTED,
                    ResultSource.MODEL_CHECKED: PredictionState.SPOT_CHECK}
    if source in model_states:
        items = items.filter(prediction__state=model_states[source])
    elif source == ResultSource.CROWD:
        items = items.exclude(prediction__state__in=list(model_states.values()))
    items = list(items.order_by("id")[:limit])
    sources = result_sources(item_ids=[item.pk for item in items])
    labels = _labels_by_item(project, [item.pk for item in items])
    return [{"item": item, "source": sources[item.pk], "labels": labels.get(item.pk, [])}
            for item in items]
