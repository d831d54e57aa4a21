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
from ..models import QualityAction, QualitySettings, WorkerProjectStats

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


def check_accuracy(stats: WorkerProjectStats, rules: QualitySettings,
                   min_gold_accuracy: float | None) -> bool:
    if (min_gold_accuracy is None or stats.gold_seen < rules.min_gold_before_suspension
            or stats.accuracy_lower_bound is None
            or stats.accuracy_lower_bound >= min_gold_accuracy):
        return False
    return _suspend(
        stats, QualityRule.LOW_ACCURACY,
        f"Your gold accuracy on this project is {stats.gold_correct}/{stats.gold_seen}; "
        f"its lower bound {stats.accuracy_lower_bound:.2f} is under the required "
        f"{min_gold_accuracy:.2f}.",
        gold_seen=stats.gold_seen, gold_correct=stats.gold_correct,
        lower_bound=round(stats.accuracy_lower_bound, 4), required=min_gold_accuracy)


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
    if stats.claimed < rules.min_claims_for_return_rule:
        return False
    rate = stats.returned / stats.claimed
    if rate < rules.max_return_rate:
        return False
    return _suspend(stats, QualityRule.TOO_MANY_RETURNS,
                    f"You returned {stats.returned} of the {stats.claimed} tasks you took "
                    f"on this project (limit {rules.max_return_rate:.0%}).",
                    returned=stats.returned, claimed=stats.claimed)


def check_disagreement(stats: WorkerProjectStats, rules: QualitySettings) -> bool:
    if stats.items_compared < rules.min_items_for_disagreement_rule:
        return False
    rate = stats.items_disagreed / stats.items_compared
    if rate < rules.max_disagreement_rate:
        return False
    return _suspend(stats, QualityRule.DISAGREEMENT,
                    f"Your answers differed from the final answer on {stats.items_disagreed} "
                    f"of {stats.items_compared} items (limit {rules.max_disagreement_rate:.0%}).",
                    compared=stats.items_compared, disagreed=stats.items_disagreed)


@transaction.atomic
def suspension_lift(*, worker_id: int, project_id: int, actor: User,
                    reason: str = "") -> QualityAction:
    action = (QualityAction.objects.select_for_update()
              .filter(worker_id=worker_id, project_id=project_id,
                      kind=QualityActionKind.SUSPENDED, lifted_at__isnull=True).first())
    if action is None:
        raise Conflict("This worker is not suspended from this project.", code="not_suspended")
    action.lifted_at = timezone.now()
    action.lifted_by = actor
    action.lift_reason = reason
    action.save(update_fields=["lifted_at", "lifted_by", "lift_reason"])
    return action
