"""Gold items after upload: correct a wrong gold answer, or retire a gold item that is
too hard or ambiguous. Answers already graded keep their grade (the worker was told, and
pay may have followed); what changes is every grading from now on. A retired gold item is
never served again (routing skips it) and stays in the records of those who saw it."""
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from config.errors import Conflict, InvalidInput

from .. import task_types
from ..locks import gold_item_for_update
from ..models import Item, Project


def _gold_for_update(project: Project, item_id) -> Item:
    try:
        return gold_item_for_update(project_id=project.pk, item_id=int(item_id))
    except (Item.DoesNotExist, ValueError, TypeError):
        raise Http404


@transaction.atomic
def gold_answer_update(*, project: Project, item_id, answer, actor: User) -> Item:
    item = _gold_for_update(project, item_id)
    problems = task_types.answer_problems(project.task_type, project.label_config, answer,
                                          item.data)
    if problems:
        raise InvalidInput(f"Invalid gold answer: {problems[0]}", fields={"answer": problems})
    item.gold_answer = answer
    item.save(update_fields=["gold_answer"])
    return item


@transaction.atomic
def gold_item_retire(*, project: Project, item_id, actor: User) -> Item:
    item = _gold_for_update(project, item_id)
    if item.retired_at is not None:
        raise Conflict("This gold item is already retired.", code="gold_retired")
    item.retired_at = timezone.now()
    item.save(update_fields=["retired_at"])
    return item
