"""Quality rules: each firing is recorded with its reason and shown to the worker.

A suspension removes the project from the worker's routing until a requester or an admin
lifts it; a flag only records (fast responses are suspicious, not proof).
"""
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from config.errors import Conflict

from ..enums import QualityActionKind, QualityRule
from ..locks import live_suspension_for_update
from ..models import QualityAction, QualitySettings, WorkerProjectStats
from ..stats import wilson_lower_bound

FLAG_QUIET_PERIOD = timedelta(hours=24)


def _suspend(stats: WorkerProjectStats, rule: str, reason: str, **details) -> bool:
    try:
        with transaction.atomic():
            QualityAction.objects.create(worker_id=stats.worker_id, project_id=stats.project_id,
                                         rule=rule, kind=QualityActionKind.SUSPENDED,
                                         reason=reason, details=details)
        return True
    except IntegrityError:
        return False  # already suspended from this project


def _flag(stats: WorkerProjectStats, rule: str, reason: str, **details) -> bool:
    recent = QualityAction.objects.filter(
        worker_id=stats.worker_id, project_id=stats.project_id, rule=rule,
        created_at__gte=timezone.now() - FLAG_QUIET_PERIOD).exists()
    if recent:
        return False
    QualityAction.objects.create(worker_id=stats.worker_id, project_id=stats.project_id,
                                 rule=rule, kind=QualityActionKind.FLAGGED, reason=reason,
                                 details=details)
    return True


def _since_last_lift(stats: WorkerProjectStats, rule: str) -> dict:
    """Counters as they stood when a suspension under ``rule`` was last lifted: the
    evidence that suspension judged is spent, so only what came after may suspend again."""
    lifted = (QualityAction.objects.filter(
        worker_id=stats.worker_id, project_id=stats.project_id, rule=rule,
        kind=QualityActionKind.SUSPENDED, lifted_at__isnull=False)
        .order_by("-lifted_at").values_list("details", flat=True).first())
    now = stats.counters()
    before = (lifted or {}).get("at_lift", {})
    return {name: now[name] - before.get(name, 0) for name in now}


def check_accuracy(stats: WorkerProjectStats, rules: QualitySettings,
                   min_gold_accuracy: float | None) -> bool:
    if min_gold_accuracy is None or stats.record_seen < rules.min_gold_before_suspension:
        return False
    counts = _since_last_lift(stats, QualityRule.LOW_ACCURACY)
    seen, correct = counts["record_seen"], counts["record_correct"]
    if seen < rules.min_gold_before_suspension:
        return False
    bound = wilson_lower_bound(correct, seen)
    if bound >= min_gold_accuracy:
        return False
    return _suspend(
        stats, QualityRule.LOW_ACCURACY,
        f"Your record on this project (gold answers and spot checks) is {correct}/{seen}; "
        f"its lower bound {bound:.2f} is under the required {min_gold_accuracy:.2f}.",
        record_seen=seen, record_correct=correct, gold_seen=stats.gold_seen,
        gold_correct=stats.gold_correct, lower_bound=round(bound, 4),
        required=min_gold_accuracy)


def check_fast(stats: WorkerProjectStats, rules: QualitySettings, *, active_seconds: int,
               items: int) -> bool:
    if rules.fast_seconds_per_item is None:
        return False
    minimum = rules.fast_seconds_per_item * items
    if active_seconds >= minimum:
        return False
    stats.fast_submissions += 1
    stats.save(update_fields=["fast_submissions", "updated_at"])
    return _flag(stats, QualityRule.FAST_RESPONSES,
                 f"A submission took {active_seconds} s of active time for {items} items; "
                 f"the project expects at least {minimum:.0f} s.",
                 active_seconds=active_seconds, items=items)


def check_returns(stats: WorkerProjectStats, rules: QualitySettings) -> bool:
    counts = _since_last_lift(stats, QualityRule.TOO_MANY_RETURNS)
    claimed, returned = counts["claimed"], counts["returned"]
    if claimed < rules.min_claims_for_return_rule:
        return False
    if returned / claimed < rules.max_return_rate:
        return False
    return _suspend(stats, QualityRule.TOO_MANY_RETURNS,
                    f"You returned {returned} of the {claimed} tasks you took on this "
                    f"project (limit {rules.max_return_rate:.0%}).",
                    returned=returned, claimed=claimed)


def check_disagreement(stats: WorkerProjectStats, rules: QualitySettings) -> bool:
    # Checked after every aggregation for every worker in it. The counters only grow, so
    # what came after the last lift is at most the totals: totals that cannot fire the
    # rule (too few items, or too few disagreements for the minimum at the limit rate)
    # spare the lookup of that lift. Division is monotonic in floating point too, so
    # this never skips a case the exact check below would fire on.
    minimum = rules.min_items_for_disagreement_rule
    if stats.items_compared < minimum or (
            minimum and stats.items_disagreed / minimum < rules.max_disagreement_rate):
        return False
    counts = _since_last_lift(stats, QualityRule.DISAGREEMENT)
    compared, disagreed = counts["items_compared"], counts["items_disagreed"]
    if compared < rules.min_items_for_disagreement_rule:
        return False
    if disagreed / compared < rules.max_disagreement_rate:
        return False
    return _suspend(stats, QualityRule.DISAGREEMENT,
                    f"Your answers differed from the final answer on {disagreed} of "
                    f"{compared} items (limit {rules.max_disagreement_rate:.0%}).",
                    compared=compared, disagreed=disagreed)


@transaction.atomic
def suspension_lift(*, worker_id: int, project_id: int, actor: User,
                    reason: str = "") -> QualityAction:
    action = live_suspension_for_update(worker_id=worker_id, project_id=project_id,
                                        kind=QualityActionKind.SUSPENDED)
    if action is None:
        raise Conflict("This worker is not suspended from this project.", code="not_suspended")
    stats = WorkerProjectStats.objects.filter(worker_id=worker_id, project_id=project_id).first()
    action.lifted_at = timezone.now()
    action.lifted_by = actor
    action.lift_reason = reason
    action.details = {**action.details, "at_lift": stats.counters() if stats else {}}
    action.save(update_fields=["lifted_at", "lifted_by", "lift_reason", "details"])
    return action
