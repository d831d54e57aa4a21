"""Every call the console makes that changes something, in one place: the same flows and
services the API views call. Input the console parses itself (an amount in dollars, a
gold answer typed as JSON) is checked by the API's own serializers and services."""
import json
import re

from django.conf import settings

from config.errors import ApiError, InvalidInput, PayloadTooLarge
from flows import decisions
from flows import imports as imports_flow
from flows import projects as projects_flow
from marketplace import services as marketplace_services
from marketplace.uploads import format_from_filename, parse_upload
from marketplace.webhooks import services as webhook_services
from payments import services as payments_services
from payments.api.serializers import TopUpInput

MAX_REPORTED_ROWS = 50
TRANSITIONS = {"launch": projects_flow.launch, "pause": marketplace_services.project_pause,
               "resume": projects_flow.resume, "cancel": projects_flow.cancel}


def transition(*, project, actor, action: str):
    if action not in TRANSITIONS:
        raise InvalidInput("Unknown action.", fields={"action": ["Unknown action."]})
    return TRANSITIONS[action](project=project, actor=actor)


def _row_number(field: str) -> int | None:
    match = re.match(r"rows\.(\d+)", field)
    return int(match.group(1)) if match else None


def upload(*, project, actor, is_gold: bool, upload) -> dict:
    """Store an uploaded file of items or gold (all rows or none), as POST /items and
    /gold do; large files become a background import. Returns the import report shown
    on the overview: what was stored, or every refused row with its number."""
    kind = "gold" if is_gold else "items"
    try:
        if upload is None:
            raise InvalidInput("Choose a file to upload.", fields={"file": ["Required."]})
        if upload.size > settings.MAX_UPLOAD_BYTES:
            raise PayloadTooLarge(f"Uploads are limited to {settings.MAX_UPLOAD_BYTES} bytes.")
        file_format = format_from_filename(upload.name or "")
        payload = upload.read()
        rows = parse_upload(payload, file_format)
        if len(rows) > settings.IMPORT_SYNC_MAX_ROWS:
            item_import = imports_flow.import_in_background(
                project=project, actor=actor, payload=payload, file_format=file_format,
                rows_total=len(rows), is_gold=is_gold)
            return {"ok": True, "kind": kind, "queued": True, "import_id": item_import.pk,
                    "rows_total": len(rows)}
        result = marketplace_services.items_import(project=project, actor=actor, rows=rows,
                                                   is_gold=is_gold)
    except ApiError as exc:
        refused = []
        for field, problems in (exc.fields or {}).items():
            for problem in problems:
                refused.append({"row": _row_number(field), "field": field.split(".")[-1]
                                if _row_number(field) else field, "message": problem})
        refused.sort(key=lambda entry: (entry["row"] is None, entry["row"] or 0))
        return {"ok": False, "kind": kind, "message": str(exc.detail),
                "refused": refused[:MAX_REPORTED_ROWS], "refused_total": len(refused)}
    return {"ok": True, "kind": kind, "queued": False, "created": result.created,
            "tasks_created": result.tasks_created, "pii_raised": result.pii_raised}


def decide(*, assignment_id: int, actor, decision: str, reason: str, reason_code: str) -> str:
    if decision == "approve":
        decisions.approve(assignment_id=assignment_id, actor=actor)
        return "approved"
    if decision == "reject":
        assignment = decisions.reject(assignment_id=assignment_id, actor=actor, reason=reason,
                                      reason_code=reason_code)
        if assignment.status == "submitted":
            # Past the rejection ceiling the flow asks a reviewer instead.
            return "past your rejection ceiling for this worker: sent to a reviewer"
        return "rejected"
    raise InvalidInput("Choose approve or reject.", fields={"decision": ["Unknown decision."]})


def bulk_approve(*, project, actor, assignment_ids: list[int]) -> tuple[int, int]:
    """Approve each submission of the filtered set, one decision (one transaction) each:
    work decided meanwhile by someone else is counted, not an error for the rest."""
    from marketplace.enums import AssignmentStatus
    from marketplace.models import Assignment

    mine = list(Assignment.objects.filter(pk__in=assignment_ids, project=project,
                                          status=AssignmentStatus.SUBMITTED)
                .order_by("pk").values_list("pk", flat=True))
    approved = refused = 0
    for assignment_id in mine:
        try:
            decisions.approve(assignment_id=assignment_id, actor=actor)
        except ApiError:
            refused += 1
        else:
            approved += 1
    return approved, refused + len(set(assignment_ids) - set(mine))


def item_review(*, project, item_id: int, actor) -> int:
    from marketplace.models import Item

    if not Item.objects.filter(pk=item_id, project=project, is_gold=False).exists():
        from django.http import Http404
        raise Http404
    return decisions.request_item_review(
        item_id=item_id, actor=actor,
        reason=f"Low confidence on item {item_id}: the requester asked for a check.")


def gold_update(*, project, item_id: int, actor, answer_text: str):
    try:
        answer = json.loads(answer_text)
    except ValueError:
        # A bare word is the answer itself (a choice, a text answer).
        answer = answer_text.strip()
    return marketplace_services.gold_answer_update(project=project, item_id=item_id,
                                                   answer=answer, actor=actor)


def gold_retire(*, project, item_id: int, actor):
    return marketplace_services.gold_item_retire(project=project, item_id=item_id,
                                                 actor=actor)


def resend(*, endpoint, delivery_id, actor):
    return webhook_services.webhook_delivery_resend(endpoint=endpoint,
                                                    delivery_id=delivery_id, actor=actor)


def top_up(*, organization, actor, amount_text: str):
    """Dollars as typed ("25" or "25.50") to cents, checked by the API's TopUpInput."""
    try:
        dollars, _, cents = amount_text.strip().replace("$", "").partition(".")
        amount_cents = int(dollars or "0") * 100 + int((cents + "00")[:2] if cents else 0)
    except ValueError:
        raise InvalidInput("Enter an amount in dollars, like 25 or 25.50.",
                           fields={"amount": ["Not an amount."]})
    payload = TopUpInput(data={"amount_cents": amount_cents})
    if not payload.is_valid():
        raise InvalidInput("Invalid amount: " + " ".join(
            str(problem) for problem in payload.errors["amount_cents"]),
            fields={"amount": [str(p) for p in payload.errors["amount_cents"]]})
    return payments_services.topup_create(organization=organization, actor=actor,
                                          amount_cents=payload.validated_data["amount_cents"])
