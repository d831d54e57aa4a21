"""A worker's gold record: accuracy statistics (per worker x project and worker x skill)
and the quality rules that read them.

The submit flow (flows/work.py) grades gold inline when the project's comparator is
cheap (``gold_judge_inline``): the marketplace stores the grades with the answers, sets
graded_at and counts them in the worker's project record in the same statement
(``gold_count_write``), and ``gold_record`` applies the rules to that record in the same
transaction, so a low-accuracy suspension fires at the submit itself. Otherwise the
grading job (flows/results.py) has the marketplace record the grades once (graded_at) and
calls ``gold_record`` in its transaction. Either way graded_at is set once, so nothing is
counted twice. Locks: quality records after the assignment (config/lock_order.py).
"""
from typing import TYPE_CHECKING

from config.compiled_query import CompiledQuery
from config.compiled_write import (Write, save_fields, update_returning,
                                   update_returning_write)
from marketplace.enums import AssignmentStatus
from marketplace.models import Assignment, Project, ProjectSkillRequirement
from workers.enums import SkillSource
from workers.models import WorkerSkill
from workers.services import worker_skill_set_verified

from ..grading import is_correct
from marketplace import task_types

from ..locks import project_stats_for_update, skill_stats_for_update
from ..models import WorkerProjectStats, WorkerSkillStats
from ..selectors import quality_settings_for, tolerances_for
from ..stats import wilson_lower_bound
from . import rules

if TYPE_CHECKING:
    from marketplace.services.results import Graded

# A gold record speaks for a skill only after this many gold answers in it, and moves
# the verified level only when it differs by at least this many points.
GOLD_LEVEL_MIN_SEEN = 30
GOLD_LEVEL_MIN_CHANGE = 5
# Gold of free-text projects allowing answers longer than this is graded by the job, not
# in the submit: the edit-distance comparator is quadratic in the text's length (a 100k
# character answer would hold the request, and its locks, for seconds). Every other
# comparator is bounded by the label config (ranking size <= 100, a handful of boxes) or
# linear in the item.
INLINE_TEXT_MAX_LENGTH = 1000


def _record_gold(stats, seen: int, correct: int) -> None:
    stats.gold_seen += seen
    stats.gold_correct += correct
    _recompute_lower_bound(stats)


def _recompute_lower_bound(stats) -> None:
    if isinstance(stats, WorkerProjectStats):
        stats.accuracy_lower_bound = wilson_lower_bound(stats.record_correct, stats.record_seen)
    else:  # a skill's record is its gold alone: spot checks judge a project's work
        stats.accuracy_lower_bound = wilson_lower_bound(stats.gold_correct, stats.gold_seen)


def _record_key(worker_id: int, project_id: int) -> dict:
    return {"worker_id": worker_id, "project_id": project_id}


def _record_counts(seen: int, correct: int) -> dict:
    return {"gold_seen": seen, "gold_correct": correct, "submitted": 1}


def gold_count_write(graded: "Graded") -> Write:
    """The count ``gold_record`` makes in the worker's project record, as a Write to run
    in the submit's own statement (marketplace.assignment_submit's ``count_graded``);
    hand it to ``gold_record`` as ``counted`` afterwards."""
    assignment = graded.assignment
    return update_returning_write(
        WorkerProjectStats, where=_record_key(assignment.worker_id, assignment.project_id),
        add=_record_counts(graded.gold_seen, graded.gold_correct))


def _project_record_counted(*, worker_id: int, project_id: int, seen: int, correct: int,
                            counted: Write | None) -> WorkerProjectStats:
    """The worker's project record with one more submission and its gold counted, locked:
    one statement counts and reads it (the row exists after the worker's first
    submission), or ``counted`` did so already. The lower bound moves only with gold, so
    only then is it written."""
    key = _record_key(worker_id, project_id)
    counts = _record_counts(seen, correct)
    stats = counted.outcome if counted is not None else update_returning(
        WorkerProjectStats, where=key, add=counts)
    if stats is None:
        WorkerProjectStats.objects.get_or_create(**key)  # a racing creator wins the key
        stats = update_returning(WorkerProjectStats, where=key, add=counts)
    if seen:
        _recompute_lower_bound(stats)
        save_fields(stats, ["accuracy_lower_bound"])
    return stats


_PROJECT_SKILL_IDS = CompiledQuery(
    lambda project_id: ProjectSkillRequirement.objects.filter(project_id=project_id)
    .values_list("skill_id", flat=True), project_id=int)


def _update_skill_records(assignment, seen: int, correct: int) -> None:
    for skill_id in _PROJECT_SKILL_IDS.fetch(project_id=assignment.project_id):
        record = skill_stats_for_update(worker_id=assignment.worker_id, skill_id=skill_id)
        _record_gold(record, seen, correct)
        save_fields(record, ["gold_seen", "gold_correct", "accuracy_lower_bound",
                             "updated_at"])
        _maybe_move_skill_level(assignment, record)


def _maybe_move_skill_level(assignment, record: WorkerSkillStats) -> None:
    if record.gold_seen < GOLD_LEVEL_MIN_SEEN or record.accuracy_lower_bound is None:
        return
    # The worker row is read only here (past the threshold), not on every grading.
    worker = assignment.worker
    level = round(record.accuracy_lower_bound * 100)
    held = WorkerSkill.objects.filter(worker=worker, skill_id=record.skill_id).first()
    if held is not None and held.source != SkillSource.CLAIMED and \
            abs(held.level - level) < GOLD_LEVEL_MIN_CHANGE:
        return
    worker_skill_set_verified(worker=worker, skill=record.skill, level=level,
                              source=SkillSource.GOLD, actor=None,
                              reason=f"Gold record: {record.gold_correct}/{record.gold_seen}",
                              gold_seen=record.gold_seen, gold_correct=record.gold_correct)


def gold_judge(*, project: Project):
    """The comparator grading this project's gold, with its tolerances."""
    tolerances = tolerances_for(quality_settings_for(project=project))
    return lambda answer, expected: is_correct(project.task_type, answer, expected,
                                               tolerances)


def gold_judge_inline(project: Project):
    """The gold comparator when grading may run inside the submit (deterministic and
    cheap for this project's answers: INLINE_TEXT_MAX_LENGTH); None leaves it to the
    grading job."""
    rules_of_type = task_types.rules_for(project.task_type)
    if rules_of_type.comparator == "text_similarity" and \
            project.label_config.get("max_length", 0) > INLINE_TEXT_MAX_LENGTH:
        return None
    return gold_judge(project=project)


def gold_record(*, assignment: Assignment, gold_seen: int, gold_correct: int,
                items_served: int, counted: Write | None = None) -> None:
    """Count a graded submission in the worker's records and apply the rules.
    ``counted``: the ``gold_count_write`` of this submission, already run."""
    project = assignment.project
    quality = quality_settings_for(project=project)
    stats = _project_record_counted(worker_id=assignment.worker_id, project_id=project.pk,
                                    seen=gold_seen, correct=gold_correct, counted=counted)
    if gold_seen:
        _update_skill_records(assignment, gold_seen, gold_correct)
    rules.check_accuracy(stats, quality, project.min_gold_accuracy)
    rules.check_fast(stats, quality, active_seconds=assignment.active_seconds,
                     items=items_served)


def assignment_returned_record(*, worker_id: int, project_id: int) -> None:
    """Count a return and apply the too-many-returns rule (in the caller's transaction)."""
    stats = project_stats_for_update(worker_id=worker_id, project_id=project_id)
    stats.claimed = Assignment.objects.filter(worker_id=worker_id, project_id=project_id).count()
    stats.returned = Assignment.objects.filter(worker_id=worker_id, project_id=project_id,
                                               status=AssignmentStatus.RETURNED).count()
    stats.save(update_fields=["claimed", "returned", "updated_at"])
    rules.check_returns(stats, quality_settings_for(project=stats.project))
