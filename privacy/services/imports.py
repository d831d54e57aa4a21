"""What an import does with personal data: scan the rows, then raise, refuse or ignore,
as the project's ``pii_detection`` says. marketplace.services.imports calls the two
functions below; nothing else of the import knows about personal data."""
from config.errors import InvalidInput
from marketplace.enums import SENSITIVITY_ORDER, PiiDetection, Sensitivity

from ..enums import PrivacyEventKind
from ..models import PrivacyEvent
from ..pii import scan_items

MAX_REFUSED_ROWS_NAMED = 20


def _at_least(current: str, floor: str) -> str:
    return max(current, floor, key=SENSITIVITY_ORDER.index)


def items_scan_for_pii(*, project, items: list, rows: list) -> None:
    """Set each unsaved Item's pii_types, pii_spans and sensitivity; in refuse mode raise
    400 naming the rows that hold personal data (nothing is stored). ``rows`` are the
    UploadRows the items were built from, in the same order (for the row numbers)."""
    for item in items:
        item.sensitivity = project.sensitivity
    if project.pii_detection == PiiDetection.OFF:
        return
    findings = scan_items(item.data for item in items)
    if project.pii_detection == PiiDetection.REFUSE:
        refused = {}
        for row, finding in zip(rows, findings):
            if finding:
                found = ", ".join(f"{name} x{count}" for name, count in finding.counts.items())
                refused[f"rows.{row.row}.data"] = [f"Personal data found: {found}."]
                if len(refused) >= MAX_REFUSED_ROWS_NAMED:
                    break
        if refused:
            first = next(iter(refused))
            raise InvalidInput(
                f"Row {first.split('.')[1]} holds personal data and this project refuses "
                "it (pii_detection is 'refuse'). Nothing was stored.",
                code="personal_data_refused", fields=refused)
        return
    for item, finding in zip(items, findings):
        if finding:
            item.pii_types = finding.counts
            item.pii_spans = finding.spans
            item.sensitivity = _at_least(project.sensitivity, Sensitivity.PII)


def import_record_pii(*, project, items: list, actor=None) -> int:
    """After the insert, under the project lock: how many items detection raised; the
    project's routing sensitivity follows its most sensitive item, so uncleared workers
    are never served them. Both are audited."""
    raised = sum(1 for item in items
                 if item.pii_types and item.sensitivity != project.sensitivity)
    if not raised:
        return 0
    types: dict[str, int] = {}
    for item in items:
        for name, count in item.pii_types.items():
            types[name] = types.get(name, 0) + count
    PrivacyEvent.objects.create(
        organization_id=project.organization_id, project=project, actor=actor,
        kind=PrivacyEventKind.IMPORT_PII_RAISED,
        details={"items_raised": raised, "pii_types": dict(sorted(types.items()))})
    project_sensitivity_follow(project=project, sensitivity=Sensitivity.PII, actor=actor,
                               reason=f"{raised} imported item(s) hold personal data")
    return raised


def project_sensitivity_follow(*, project, sensitivity: str, actor=None, reason: str) -> bool:
    """Raise a (locked) project's sensitivity to ``sensitivity`` if it is below."""
    if _at_least(project.sensitivity, sensitivity) == project.sensitivity:
        return False
    previous = project.sensitivity
    project.sensitivity = sensitivity
    project.save(update_fields=["sensitivity", "updated_at"])
    PrivacyEvent.objects.create(
        organization_id=project.organization_id, project=project, actor=actor,
        kind=PrivacyEventKind.PROJECT_SENSITIVITY_RAISED, reason=reason,
        details={"from": previous, "to": sensitivity})
    return True
