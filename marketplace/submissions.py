"""Validating a set of answers against the items they answer (exams, assignments)."""
from typing import Any

from config.errors import InvalidInput

from . import task_types
from .models import Project


def validate_answers(*, project: Project, items: dict[int, Any],
                     answers: Any) -> dict[int, Any]:
    """Every item answered exactly once with a valid value, nothing else.

    ``items`` maps the item ids the worker was shown to the item data (needed by span
    offsets). Returns {item_id: value} in the order of ``items``; raises InvalidInput with
    one entry per problem (``answers.<index>.value`` ...) otherwise.
    """
    if not isinstance(answers, list):
        raise InvalidInput("'answers' must be a list of {item_id, value}.",
                           fields={"answers": ["Must be a list."]})
    expected = items
    values: dict[int, Any] = {}
    attempted: set[int] = set()
    problems: dict[str, list[str]] = {}
    for index, answer in enumerate(answers):
        if not isinstance(answer, dict) or "item_id" not in answer or "value" not in answer:
            problems[f"answers.{index}"] = ["Each answer is {item_id, value}."]
            continue
        item_id = answer["item_id"]
        if isinstance(item_id, bool) or not isinstance(item_id, int):
            try:
                item_id = int(str(item_id))
            except ValueError:
                item_id = None
        if item_id not in expected:
            problems[f"answers.{index}.item_id"] = ["Not an item of this assignment."]
            continue
        if item_id in values:
            problems[f"answers.{index}.item_id"] = ["This item is answered twice."]
            continue
        attempted.add(item_id)
        value_problems = task_types.answer_problems(project.task_type, project.label_config,
                                                    answer["value"], expected[item_id])
        if value_problems:
            problems[f"answers.{index}.value"] = value_problems
            continue
        values[item_id] = answer["value"]
    missing = [item_id for item_id in expected if item_id not in attempted]
    if missing:
        problems["answers"] = [f"Missing answers for item(s): "
                               f"{', '.join(str(item_id) for item_id in missing)}."]
    if problems:
        field, messages = next(iter(problems.items()))
        raise InvalidInput(f"Invalid answers: {field}: {messages[0]}", fields=problems)
    return {item_id: values[item_id] for item_id in items}
