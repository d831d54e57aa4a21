"""Reads of the privacy app: what a worker may see of items, who saw an item, audit rows."""
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404

from marketplace.enums import SENSITIVITY_ORDER, Sensitivity, TaskType
from marketplace.models import Answer, Assignment, Item, Project, WorkerPseudonym

from .masking import mask_data, span_offsets_to_masked, span_offsets_to_original
from .models import ErasureReceipt, PrivacyEvent

# The access record covers items at this sensitivity or above.
ACCESS_RECORD_MIN_SENSITIVITY = Sensitivity.CONFIDENTIAL


def items_for_worker(*, project: Project, items: list[dict]) -> list[dict]:
    """Served items ``[{id, data, prediction?}]`` (ids are answer ids) as this project's
    workers may see them: detected personal data replaced by placeholders when the project
    masks, and a spans pre-label moved to the offsets of that masked text."""
    if not project.mask_pii_for_workers:
        return items
    spans = dict(Answer.objects.filter(pk__in=[item["id"] for item in items])
                 .values_list("pk", "item__pii_spans"))
    shown = []
    for item in items:
        item = {**item, "data": mask_data(item["data"], spans.get(item["id"]))}
        if project.task_type == TaskType.SPANS and item.get("prediction") is not None:
            item["prediction"] = {**item["prediction"], "value": span_offsets_to_masked(
                item["prediction"]["value"], spans.get(item["id"]))}
        shown.append(item)
    return shown


def answers_from_masked(*, assignment: Assignment, answers: list) -> list:
    """A worker's answers with span offsets mapped from the masked text they saw back to
    the original text; unchanged when the project does not mask or is not a spans task."""
    project = assignment.project
    if not project.mask_pii_for_workers or project.task_type != TaskType.SPANS:
        return answers
    served = {pk: (data, spans) for pk, data, spans in Answer.objects.filter(
        assignment=assignment).values_list("pk", "item__data", "item__pii_spans")}
    mapped = []
    for answer in answers:
        item_id = answer.get("item_id") if isinstance(answer, dict) else None
        item_id = int(item_id) if isinstance(item_id, str) and item_id.isdigit() else item_id
        if item_id in served and not isinstance(item_id, bool):
            data, spans = served[item_id]
            text = data.get("text") if isinstance(data, dict) else None
            answer = {**answer, "value": span_offsets_to_original(
                answer.get("value"), text, spans)}
        mapped.append(answer)
    return mapped


def sensitivity_rank(sensitivity: str) -> int:
    return SENSITIVITY_ORDER.index(sensitivity)


def gold_feedback_for_worker(*, project: Project, feedback: list[dict],
                             answers: list[Answer]) -> list[dict]:
    """Gold feedback ``[{item_id, your_answer, expected}]`` in the offsets of the masked
    text the worker saw, when the project masks a spans task."""
    if not project.mask_pii_for_workers or project.task_type != TaskType.SPANS:
        return feedback
    spans = {answer.pk: answer.item.pii_spans for answer in answers}
    return [{**entry,
             "your_answer": span_offsets_to_masked(entry["your_answer"],
                                                   spans.get(entry["item_id"])),
             "expected": span_offsets_to_masked(entry["expected"],
                                                spans.get(entry["item_id"]))}
            for entry in feedback]


def is_sensitive(sensitivity: str) -> bool:
    return SENSITIVITY_ORDER.index(sensitivity) >= SENSITIVITY_ORDER.index(
        ACCESS_RECORD_MIN_SENSITIVITY)


def item_access_record(*, item: Item, pseudonymous: bool = True) -> list[dict]:
    """Which workers were served ``item``, when, and what became of it. Requesters see
    per-project pseudonyms; admins (``pseudonymous=False``) the worker ids."""
    pseudonym = WorkerPseudonym.objects.filter(
        project=OuterRef("assignment__project"),
        worker=OuterRef("assignment__worker")).values("pseudonym")[:1]
    rows = (Answer.objects.filter(item=item).select_related("assignment")
            .annotate(worker_pseudonym=Subquery(pseudonym))
            .order_by("assignment__created_at", "assignment_id"))
    return [{
        "assignment_id": answer.assignment_id,
        "worker_id": answer.worker_pseudonym if pseudonymous else answer.assignment.worker_id,
        "served_at": answer.assignment.created_at,
        "submitted_at": answer.assignment.submitted_at,
        "status": answer.assignment.status,
        "instructions_version": answer.assignment.instructions_version,
    } for answer in rows]


def item_get_for_admin(*, item_id) -> Item:
    try:
        return Item.objects.select_related("project").get(pk=int(item_id))
    except (Item.DoesNotExist, ValueError, TypeError):
        raise Http404


def privacy_event_list(*, project: Project) -> QuerySet[PrivacyEvent]:
    return PrivacyEvent.objects.filter(project=project).order_by("-created_at", "-id")


def erasure_receipt_get(*, project: Project, receipt_id) -> ErasureReceipt:
    try:
        return ErasureReceipt.objects.get(project=project, public_id=str(receipt_id))
    except (ErasureReceipt.DoesNotExist, ValueError, TypeError):
        raise Http404
