"""Submitted work as the review page shows it: each assignment's items rendered by the
worker page's widget templates in read-only mode (web/widgets.py ``with_answers``), gold
items marked with the expected answer and whether the worker got it right."""
from marketplace.models import Answer
from web import widgets


def assignment_views(*, project, assignments) -> list[dict]:
    config = widgets.config_for(project)
    answers = {}
    for answer in (Answer.objects.filter(assignment__in=[a.pk for a in assignments])
                   .select_related("item").order_by("assignment_id", "position")):
        answers.setdefault(answer.assignment_id, []).append(answer)
    shown = []
    for assignment in assignments:
        mine = answers.get(assignment.pk, [])
        items = widgets.with_answers(
            project=project,
            shown=widgets.items_for(project=project, served=[
                {"id": answer.pk, "data": answer.item.data} for answer in mine]),
            values=[answer.value for answer in mine])
        missed = 0
        for view, answer in zip(items, mine):
            if answer.is_gold:
                verdict = {True: "answered correctly", False: "missed",
                           None: "not graded yet"}[answer.is_correct]
                view["review_note"] = (f"Gold item ({verdict}); expected: "
                                       f"{answer.item.gold_answer}")
                missed += answer.is_correct is False
        shown.append({"assignment": assignment, "items": items, "config": config,
                      "missed_gold": missed})
    return shown
