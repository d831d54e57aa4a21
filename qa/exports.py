"""Results export, streamed with constant memory: items are read in chunks of ids and
each chunk's annotations in one query, whatever the project size."""
import json
from collections import defaultdict
from collections.abc import Iterator

from django.db.models import OuterRef, Subquery

from config.csv_export import csv_lines
from marketplace.enums import AssignmentStatus
from marketplace.models import Answer, Item, Project, WorkerPseudonym

CHUNK = 1000
CSV_COLUMNS = ["item_id", "external_id", "result", "confidence", "annotations"]


def _chunks(project: Project, final_only: bool) -> Iterator[list[Item]]:
    items = Item.objects.filter(project=project, is_gold=False).order_by("pk")
    if final_only:
        items = items.filter(finalized_at__isnull=False)
    last_pk = 0
    while True:
        chunk = list(items.filter(pk__gt=last_pk).only(
            "pk", "external_id", "result", "confidence")[:CHUNK])
        if not chunk:
            return
        yield chunk
        last_pk = chunk[-1].pk


def result_rows(project: Project, *, final_only: bool = False) -> Iterator[dict]:
    pseudonym = WorkerPseudonym.objects.filter(
        project=project, worker=OuterRef("assignment__worker")).values("pseudonym")[:1]
    for chunk in _chunks(project, final_only):
        annotations = defaultdict(list)
        answers = (Answer.objects.filter(item__in=chunk, is_gold=False,
                                         assignment__status__in=[AssignmentStatus.SUBMITTED,
                                                                 AssignmentStatus.APPROVED])
                   .annotate(worker_pseudonym=Subquery(pseudonym))
                   .order_by("item_id", "assignment_id")
                   .values_list("item_id", "worker_pseudonym", "value"))
        for item_id, worker_id, value in answers:
            annotations[item_id].append({"worker_id": worker_id, "value": value})
        for item in chunk:
            yield {"item_id": item.pk, "external_id": item.external_id, "result": item.result,
                   "confidence": item.confidence, "annotations": annotations.get(item.pk, [])}


def stream_json(rows: Iterator[dict]) -> Iterator[str]:
    yield "["
    for index, row in enumerate(rows):
        yield ("," if index else "") + json.dumps(row, ensure_ascii=False)
    yield "]\n"


def stream_jsonl(rows: Iterator[dict]) -> Iterator[str]:
    for row in rows:
        yield json.dumps(row, ensure_ascii=False) + "\n"


def stream_csv(rows: Iterator[dict]) -> Iterator[str]:
    header = [CSV_COLUMNS]
    body = ([row[column] for column in CSV_COLUMNS] for row in rows)
    yield from csv_lines(header)
    yield from csv_lines(body)


FORMATS = {
    "json": ("application/json", stream_json),
    "jsonl": ("application/x-ndjson", stream_jsonl),
    "csv": ("text/csv", stream_csv),
}
