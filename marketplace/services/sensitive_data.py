"""Personal data in items: what imports do with it, requester corrections, retention and
erasure. Detection itself is ``privacy.pii``; audit rows and receipts are privacy's.

Guarantees:
- A project's sensitivity (what routing clears workers for) is at least that of its most
  sensitive item: whatever raises an item raises the project in the same transaction.
- Retention (``items_apply_retention``) is idempotent and resumable: it erases only items
  not erased yet, in batches that each commit on their own, so a crash loses at most the
  batch in flight and the next run carries on.
- Erasure (``items_erase``) changes items, answers and webhook bodies in one transaction,
  under the project lock (lock order Project -> items -> deliveries).
"""
import json
from datetime import timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from config.errors import InvalidInput, required_text
from privacy.enums import PrivacyEventKind
from privacy.pii import scan_items
from privacy.services import erasure_receipt_create, privacy_event_record

from ..enums import SENSITIVITY_ORDER, PiiDetection, ProjectStatus, Sensitivity, TaskType
from ..locks import project_for_update
from ..models import Answer, Item, Project, WebhookDelivery
from ..webhooks.enums import WebhookEvent

MAX_REFUSED_ROWS_NAMED = 20
RETENTION_BATCH_SIZE = 500
MAX_ERASURE_IDS = 1000
# Answers whose value is free text a worker typed (it may repeat the item's personal data).
FREE_TEXT_TASK_TYPES = (TaskType.TEXT, TaskType.PAIRWISE)


def _at_least(current: str, floor: str) -> str:
    return max(current, floor, key=SENSITIVITY_ORDER.index)


# --- Imports -------------------------------------------------------------------------------

def items_scan_for_pii(*, project: Project, items: list, rows: list) -> dict[str, list[str]]:
    """Set each unsaved item's pii_types, pii_spans and sensitivity. In refuse mode, return
    the rows that hold personal data as error fields (``rows.<n>.data``; at most
    MAX_REFUSED_ROWS_NAMED) for ``pii_refusal`` - an import scans its rows a chunk at a
    time and refuses once it has seen them all. ``rows`` are the UploadRows the items were
    built from, in the same order (for the row numbers)."""
    for item in items:
        item.sensitivity = project.sensitivity
    if project.pii_detection == PiiDetection.OFF:
        return {}
    findings = scan_items(item.data for item in items)
    if project.pii_detection == PiiDetection.REFUSE:
        refused = {}
        for row, finding in zip(rows, findings):
            if finding:
                found = ", ".join(f"{name} x{count}" for name, count in finding.counts.items())
                refused[f"rows.{row.row}.data"] = [f"Personal data found: {found}."]
                if len(refused) >= MAX_REFUSED_ROWS_NAMED:
                    break
        return refused
    for item, finding in zip(items, findings):
        if finding:
            item.pii_types = finding.counts
            item.pii_spans = finding.spans
            item.sensitivity = _at_least(project.sensitivity, Sensitivity.PII)
    return {}


def pii_refusal(refused: dict[str, list[str]]) -> InvalidInput:
    """The 400 of an upload refused for personal data (what items_scan_for_pii found)."""
    named = dict(list(refused.items())[:MAX_REFUSED_ROWS_NAMED])
    first_row = next(iter(named)).split(".")[1]
    return InvalidInput(
        f"Row {first_row} holds personal data and this project refuses it "
        "(pii_detection is 'refuse'). Nothing was stored.",
        code="personal_data_refused", fields=named)


def import_record_pii(*, project: Project, items: list[Item], actor=None) -> int:
    """After the insert, under the project lock: how many items detection raised. The
    project follows (see the guarantee above); both are audited."""
    raised = [item for item in items
              if item.pii_types and item.sensitivity != project.sensitivity]
    if not raised:
        return 0
    types: dict[str, int] = {}
    for item in raised:
        for name, count in item.pii_types.items():
            types[name] = types.get(name, 0) + count
    privacy_event_record(project=project, kind=PrivacyEventKind.IMPORT_PII_RAISED,
                         actor=actor, details={"items_raised": len(raised),
                                               "pii_types": dict(sorted(types.items()))})
    _project_follow(project, Sensitivity.PII, actor=actor,
                    reason=f"{len(raised)} imported item(s) hold personal data")
    return len(raised)


def _project_follow(project: Project, sensitivity: str, *, actor, reason: str) -> None:
    """Raise a locked project's sensitivity to ``sensitivity`` if it is below."""
    if _at_least(project.sensitivity, sensitivity) == project.sensitivity:
        return
    previous = project.sensitivity
    project.sensitivity = sensitivity
    project.save(update_fields=["sensitivity", "updated_at"])
    privacy_event_record(project=project, kind=PrivacyEventKind.PROJECT_SENSITIVITY_RAISED,
                         actor=actor, reason=reason,
                         details={"from": previous, "to": sensitivity})


# --- Requester corrections -----------------------------------------------------------------

def item_sensitivity_set(*, project: Project, item_id, actor, sensitivity: str,
                         reason: str = "") -> Item:
    """The requester raises an item's sensitivity freely, and lowers it only with a
    reason; both are audited. Lowering an item never lowers its project."""
    if sensitivity not in SENSITIVITY_ORDER:
        raise InvalidInput("Unknown sensitivity.", fields={"sensitivity": [
            f"One of {', '.join(SENSITIVITY_ORDER)}."]})
    with transaction.atomic(durable=True):
        project = project_for_update(project_id=project.pk)
        item = _item_for_update(project, item_id)
        previous = item.sensitivity
        if sensitivity == previous:
            return item
        lowering = SENSITIVITY_ORDER.index(sensitivity) < SENSITIVITY_ORDER.index(previous)
        if lowering:
            reason = required_text(reason, message="Lowering a sensitivity needs a reason.")
        item.sensitivity = sensitivity
        item.save(update_fields=["sensitivity"])
        privacy_event_record(
            project=project, actor=actor, item_id=item.pk, reason=(reason or "").strip(),
            kind=(PrivacyEventKind.ITEM_SENSITIVITY_LOWERED if lowering
                  else PrivacyEventKind.ITEM_SENSITIVITY_RAISED),
            details={"from": previous, "to": sensitivity, "pii_types": item.pii_types})
        if not lowering:
            _project_follow(project, sensitivity, actor=actor,
                            reason=f"item {item.pk} raised to {sensitivity}")
        return item


def _item_for_update(project: Project, item_id) -> Item:
    from django.http import Http404

    try:
        return Item.objects.select_for_update().get(project=project, pk=int(item_id))
    except (Item.DoesNotExist, ValueError, TypeError):
        raise Http404


# --- Retention and erasure -----------------------------------------------------------------

def _erase_items(project: Project, item_ids: list[int], *, now, keep_results: bool,
                 forget_external_id: bool) -> dict:
    """Delete the raw data of these items and the free text written about them. Returns
    counts. Caller holds a transaction."""
    item_fields = {"data": {}, "pii_spans": [], "erased_at": now}
    if not keep_results:
        item_fields.update(result=None, confidence=None)
    if forget_external_id:
        item_fields["external_id"] = None
    if project.task_type in FREE_TEXT_TASK_TYPES or not keep_results:
        item_fields["gold_answer"] = None
    items = Item.objects.filter(pk__in=item_ids, erased_at__isnull=True)
    erased_ids = list(items.values_list("pk", flat=True))
    Item.objects.filter(pk__in=erased_ids).update(**item_fields)
    answers = Answer.objects.filter(item_id__in=erased_ids).exclude(value=None)
    if forget_external_id:
        # A data subject's request: every label given about the item goes.
        answers_erased = answers.update(value=None)
    elif project.task_type == TaskType.TEXT:
        answers_erased = answers.update(value=None)
    elif project.task_type == TaskType.PAIRWISE:
        answers_erased = 0
        for answer in answers.only("pk", "value"):
            if isinstance(answer.value, dict) and answer.value.get("rationale") is not None:
                answer.value = {**answer.value, "rationale": None}
                answer.save(update_fields=["value"])
                answers_erased += 1
    else:
        answers_erased = 0
    return {"items": len(erased_ids), "answers": answers_erased, "item_ids": erased_ids}


def _retention_due(project: Project, now) -> "Q":
    cutoff = now - timedelta(days=project.retention_days)
    if project.status in (ProjectStatus.COMPLETED, ProjectStatus.CANCELLED) \
            and project.updated_at <= cutoff:
        return Q(pk__isnull=False)  # ended long enough ago: everything left, gold too
    # Gold stays while the project runs: it is still being served.
    return Q(is_gold=False, finalized_at__lte=cutoff)


def items_apply_retention(*, now=None, batch_size: int = RETENTION_BATCH_SIZE) -> dict:
    """Erase what every project's ``retention_days`` says is due. Returns
    {project_id: items erased} for this run."""
    now = now or timezone.now()
    erased: dict[int, int] = {}
    for project in Project.objects.filter(retention_days__isnull=False).order_by("pk"):
        due = Item.objects.filter(_retention_due(project, now), project=project,
                                  erased_at__isnull=True)
        totals = {"items": 0, "answers": 0}
        while True:
            batch = list(due.order_by("pk").values_list("pk", flat=True)[:batch_size])
            if not batch:
                break
            with transaction.atomic():
                counts = _erase_items(project, batch, now=now,
                                      keep_results=project.retention_keep_results,
                                      forget_external_id=False)
                totals["items"] += counts["items"]
                totals["answers"] += counts["answers"]
                privacy_event_record(
                    project=project, kind=PrivacyEventKind.RETENTION_APPLIED,
                    details={"items": counts["items"], "answers": counts["answers"],
                             "retention_days": project.retention_days,
                             "results_kept": project.retention_keep_results,
                             "first_item_id": batch[0], "last_item_id": batch[-1]})
        if totals["items"]:
            erased[project.pk] = totals["items"]
    return erased


def _scrub_webhook_bodies(project: Project, item_ids: set[int]) -> int:
    """item.finalized bodies name items with their external id and result: replace those
    entries with ``{"item_id", "erased": true}``. Pending deliveries then send the
    scrubbed body (it is signed at each attempt)."""
    scrubbed = 0
    marker = f'"project_id":{project.pk},'
    deliveries = (WebhookDelivery.objects.select_for_update()
                  .filter(endpoint__organization_id=project.organization_id,
                          event=WebhookEvent.ITEM_FINALIZED, body__contains=marker)
                  .order_by("pk"))
    for delivery in deliveries:
        body = json.loads(delivery.body)
        entries = body.get("data", {}).get("items", [])
        if not any(entry.get("item_id") in item_ids for entry in entries):
            continue
        body["data"]["items"] = [
            {"item_id": entry["item_id"], "erased": True}
            if entry.get("item_id") in item_ids else entry for entry in entries]
        delivery.body = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
        delivery.save(update_fields=["body"])
        scrubbed += 1
    return scrubbed


def _clean_external_ids(external_ids) -> list[str]:
    if not isinstance(external_ids, list) or not external_ids:
        raise InvalidInput("Name the items to erase by external_id.",
                           fields={"external_ids": ["A non-empty list is required."]})
    if len(external_ids) > MAX_ERASURE_IDS:
        raise InvalidInput(f"At most {MAX_ERASURE_IDS} external_ids per request.",
                           fields={"external_ids": [f"At most {MAX_ERASURE_IDS}."]})
    cleaned = []
    for index, value in enumerate(external_ids):
        if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(
                value).strip():
            raise InvalidInput("Every external_id is a non-empty string or integer.",
                               fields={f"external_ids.{index}": ["Not an external_id."]})
        cleaned.append(str(value).strip())
    return sorted(set(cleaned))


def items_erase(*, project: Project, actor, external_ids, reason: str = ""):
    """A data subject's erasure request: items named by external_id lose their data,
    external id, result and every label given about them; item.finalized webhook bodies
    forget them; caches computed from their labels are dropped. Returns the receipt.
    Asking again finds nothing left (the external ids are gone) and says so."""
    cleaned = _clean_external_ids(external_ids)
    now = timezone.now()
    # Not durable: the API wraps it in @idempotent's transaction (the receipt is replayed).
    with transaction.atomic():
        project = project_for_update(project_id=project.pk)
        found = dict(Item.objects.filter(project=project, external_id__in=cleaned)
                     .values_list("pk", "external_id"))
        counts = _erase_items(project, list(found), now=now, keep_results=False,
                              forget_external_id=True)
        # Items erased earlier by retention still carry their external id: forget it too.
        Item.objects.filter(pk__in=list(found)).update(external_id=None)
        erased_ids = set(found)
        deliveries = _scrub_webhook_bodies(project, erased_ids) if erased_ids else 0
        cache_keys = [f"qa:agreement:{project.pk}"]
        transaction.on_commit(lambda: cache.delete_many(cache_keys))
        receipt_counts = {
            "external_ids_requested": len(cleaned),
            "items_found": len(found),
            "items": counts["items"],
            "answers": counts["answers"],
            "webhook_deliveries": deliveries,
            "cache_keys": len(cache_keys),
            "exports": 0,  # results exports are streamed from these rows, never stored
        }
        receipt = erasure_receipt_create(project=project, actor=actor, external_ids=cleaned,
                                         reason=(reason or "").strip(), counts=receipt_counts)
        privacy_event_record(project=project, kind=PrivacyEventKind.ERASURE, actor=actor,
                             reason=(reason or "").strip(),
                             details={**receipt_counts, "receipt_id": str(receipt.public_id),
                                      "item_ids": sorted(erased_ids)})
        return receipt
