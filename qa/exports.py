"""Results export, streamed with constant memory: items are read in chunks of ids and
each chunk's annotations in one query, whatever the project size."""
import json
from collections import defaultdict
from collections.abc import Iterator

from automation.selectors import source_of
from config.csv_export import csv_lines
from marketplace.enums import LABELLED_STATUSES
from marketplace.models import Answer, Item, Project, WorkerPseudonym

CHUNK = 1000
CSV_COLUMNS = ["item_id", "external_id", "result", "confidence", "revision", "annotations",
               "instructions_version", "source"]


def _chunks(project: Project, final_only: bool) -> Iterator[list[tuple]]:
    """(pk, external_id, result, confidence, revision, automation state) of the project's
    items, CHUNK at a time by
    id (keyset pagination): tuples, not model instances, which cost more to build than
    the rest of the export."""
    items = Item.objects.filter(project=project, is_gold=False).order_by("pk")
    if final_only:
        items = items.filter(finalized_at__isnull=False)
    last_pk = 0
    while True:
        chunk = list(items.filter(pk__gt=last_pk).values_list(
            "pk", "external_id", "result", "confidence", "revision",
            "prediction__state")[:CHUNK])
        if not chunk:
            return
        yield chunk
        last_pk = chunk[-1][0]


def result_rows(project: Project, *, final_only: bool = False) -> Iterator[dict]:
    for chunk in _chunks(project, final_only):
        answers = list(Answer.objects.filter(
            item_id__in=[pk for pk, *_rest in chunk], is_gold=False,
            assignment__status__in=LABELLED_STATUSES)
            .order_by("item_id", "assignment_id")
            .values_list("item_id", "assignment__worker_id", "value",
                         "assignment__instructions_version"))
        # The chunk's workers' pseudonyms in one query (a correlated subquery per answer
        # row cost more than the answers themselves).
        pseudonyms = dict(WorkerPseudonym.objects.filter(
            project=project, worker_id__in={row[1] for row in answers})
            .values_list("worker_id", "pseudonym"))
        annotations = defaultdict(list)
        versions: dict[int, int] = {}
        for item_id, worker_id, value, version in answers:
            annotations[item_id].append({"worker_id": pseudonyms.get(worker_id),
                                         "value": value})
            versions[item_id] = max(versions.get(item_id, 0), version)
        for pk, external_id, result, confidence, revision, state in chunk:
            # The newest instructions any of the item's labels were given under; where the
            # result came from: crowd, model (auto-accepted) or model_checked.
            yield {"item_id": pk, "external_id": external_id, "result": result,
                   "confidence": confidence, "revision": revision,
                   "annotations": annotations.get(pk, []),
                   "instructions_version": versions.get(pk), "source": source_of(state)}


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
