"""Grading a submission: gold answers against the hidden answers, then accuracy
statistics (per worker x project and worker x skill) and the quality rules.

Runs as a Celery job after the submit commits; a retried job grades nothing twice
(graded_at is set in the same transaction as the statistics).
"""
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from marketplace.enums import AssignmentStatus
from marketplace.locks import assignment_for_update
from marketplace.models import Answer, Assignment, ProjectSkillRequirement
from workers.enums import SkillSource
from workers.models import WorkerSkill
from workers.services import worker_skill_set_verified

from ..grading import is_correct
from ..models import WorkerProjectStats, WorkerSkillStats
from ..selectors import quality_settings_for, tolerances_for
from ..stats import wilson_lower_bound
from . import rules

# A gold record speaks for a skill only after this many gold answers in it, and moves
# the verified level only when it differs by at least this many points.
GOLD_LEVEL_MIN_SEEN = 30
GOLD_LEVEL_MIN_CHANGE = 5


def project_stats_for_update(worker_id: int, project_id: int) -> WorkerProjectStats:
    WorkerProjectStats.objects.get_or_create(worker_id=worker_id, project_id=project_id)
    return WorkerProjectStats.objects.select_for_update().get(worker_id=worker_id,
                                                              project_id=project_id)


def _record_gold(stats, seen: int, correct: int) -> None:
    stats.gold_seen += seen
    stats.gold_correct += correct
    if isinstance(stats, WorkerProjectStats):
        stats.accuracy_lower_bound = wilson_lower_bound(stats.record_correct, stats.record_seen)
    else:  # a skill's record is its gold alone: spot checks judge a project's work
        stats.accuracy_lower_bound = wilson_lower_bound(stats.gold_correct, stats.gold_seen)


def _update_skill_records(assignment, seen: int, correct: int) -> None:
    skill_ids = list(ProjectSkillRequirement.objects.filter(project_id=assignment.project_id)
                     .values_list("skill_id", flat=True))
    for skill_id in skill_ids:
        WorkerSkillStats.objects.get_or_create(worker_id=assignment.worker_id, skill_id=skill_id)
        record = WorkerSkillStats.objects.select_for_update().get(
            worker_id=assignment.worker_id, skill_id=skill_id)
        _record_gold(record, seen, correct)
        record.save(update_fields=["gold_seen", "gold_correct", "accuracy_lower_bound",
                                   "updated_at"])
        _maybe_move_skill_level(assignment.worker, record)


def _maybe_move_skill_level(worker, record: WorkerSkillStats) -> None:
    if record.gold_seen < GOLD_LEVEL_MIN_SEEN or record.accuracy_lower_bound is None:
        return
    level = round(record.accuracy_lower_bound * 100)
    held = WorkerSkill.objects.filter(worker=worker, skill_id=record.skill_id).first()
    if held is not None and held.source != SkillSource.CLAIMED and \
            abs(held.level - level) < GOLD_LEVEL_MIN_CHANGE:
        return
    worker_skill_set_verified(worker=worker, skill=record.skill, level=level,
                              source=SkillSource.GOLD, actor=None,
                              reason=f"Gold record: {record.gold_correct}/{record.gold_seen}",
                              gold_seen=record.gold_seen, gold_correct=record.gold_correct)


def assignment_grade(*, assignment_id: int) -> int:
    """Grade the gold answers of a submitted assignment, once. Returns gold graded."""
    with transaction.atomic():
        assignment = assignment_for_update(assignment_id=assignment_id)
        if assignment.graded_at is not None or assignment.submitted_at is None:
            return 0
        project = assignment.project
        quality = quality_settings_for(project=project)
        tolerances = tolerances_for(quality)
        served = list(Answer.objects.filter(assignment=assignment).select_related("item"))
        gold = [answer for answer in served if answer.is_gold]
        for answer in gold:
            answer.is_correct = is_correct(project.task_type, answer.value,
                                           answer.item.gold_answer, tolerances)
        Answer.objects.bulk_update(gold, ["is_correct"])
        assignment.graded_at = timezone.now()
        assignment.save(update_fields=["graded_at"])

        correct = sum(1 for answer in gold if answer.is_correct)
        stats = project_stats_for_update(assignment.worker_id, project.pk)
        _record_gold(stats, len(gold), correct)
        stats.submitted = F("submitted") + 1
        stats.save(update_fields=["gold_seen", "gold_correct", "accuracy_lower_bound",
                                  "submitted", "updated_at"])
        stats.refresh_from_db(fields=["submitted"])
        if gold:
            _update_skill_records(assignment, len(gold), correct)
        rules.check_accuracy(stats, quality, project.min_gold_accuracy)
        rules.check_fast(stats, quality, active_seconds=assignment.active_seconds,
                         items=len(served))
        return len(gold)


@transaction.atomic
def assignment_returned_record(*, worker_id: int, project_id: int) -> None:
    """Count a return and apply the too-many-returns rule."""
    stats = project_stats_for_update(worker_id, project_id)
    stats.claimed = Assignment.objects.filter(worker_id=worker_id, project_id=project_id).count()
    stats.returned = Assignment.objects.filter(worker_id=worker_id, project_id=project_id,
                                               status=AssignmentStatus.RETURNED).count()
    stats.save(update_fields=["claimed", "returned", "updated_at"])
    rules.check_returns(stats, quality_settings_for(project=stats.project))
