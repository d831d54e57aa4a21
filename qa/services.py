"""Quality actions. Grading: gold answers are compared with the hidden answer as soon as
an assignment is submitted."""
from django.db import transaction
from django.utils import timezone

from marketplace.locks import assignment_for_update
from marketplace.models import Answer

from .grading import is_correct


def assignment_grade(*, assignment_id: int) -> int:
    """Grade the gold answers of a submitted assignment, once. Returns gold graded."""
    with transaction.atomic():
        assignment = assignment_for_update(assignment_id=assignment_id)
        if assignment.graded_at is not None or assignment.submitted_at is None:
            return 0  # graded already (a retried job), or nothing to grade
        task_type = assignment.project.task_type
        gold = list(Answer.objects.filter(assignment=assignment, is_gold=True)
                    .select_related("item"))
        for answer in gold:
            answer.is_correct = is_correct(task_type, answer.value, answer.item.gold_answer)
        Answer.objects.bulk_update(gold, ["is_correct"])
        assignment.graded_at = timezone.now()
        assignment.save(update_fields=["graded_at"])
        return len(gold)
