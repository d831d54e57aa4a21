"""GET /api/v1/projects/{id}/results?format=json|jsonl|csv (qa/exports.py): one row per
(non-gold) item {item_id, external_id, result, confidence, annotations: [{worker_id,
value}]}, streamed. worker_id is the per-project pseudonym, never the worker profile id.
CSV cells that a spreadsheet would run as formulas (= + - @, tab, CR) are escaped with a
leading apostrophe. Only submitted and approved answers are annotations.
"""
import csv
import io
import json

import pytest

from marketplace.models import Item
from qa.exports import CSV_COLUMNS
from qa.tests.conftest import (
    committed,
    eligible_worker,
    label,
    launched_project,
    pseudonym_of,
    worker_and_client,
)
from flows import decisions

# Choices and external ids that a spreadsheet would take for formulas.
CHOICES = ["=1+1", "+SUM(A1)", "-2", "@cmd", "plain"]
EXTERNAL_IDS = ["=HYPERLINK(\"http://evil.example\")", "-7", "row-3", "@x"]


# --- helpers -----------------------------------------------------------------------------

def results_url(project, file_format=None) -> str:
    url = f"/api/v1/projects/{project.pk}/results"
    return f"{url}?format={file_format}" if file_format else url


def download(client, project, file_format=None, **params) -> tuple:
    if file_format:
        params["format"] = file_format
    response = client.get(results_url(project), params)
    assert response.status_code == 200, response.content
    assert response.streaming
    return response, b"".join(response.streaming_content).decode()


@pytest.fixture
def labelled(requester):
    """Four items with formula-like external ids; two workers label each with a
    formula-like choice (overlap 2), so every item is final."""
    project = launched_project(requester, tasks=2, items_per_task=2, overlap=2,
                               label_config={"choices": CHOICES},
                               external_ids=EXTERNAL_IDS)
    items = list(Item.objects.filter(project=project).order_by("pk"))
    votes = {item.pk: choice for item, choice in zip(items, CHOICES)}
    dana = eligible_worker("dana@workers.example")
    erin = eligible_worker("erin@workers.example")
    for worker in (dana, erin):
        label(worker, project, votes)
        label(worker, project, votes)
    return project, items, (dana, erin)


def expected_rows(project, items, workers) -> list[dict]:
    names = [pseudonym_of(worker, project) for worker in workers]
    rows = []
    for item in items:
        item.refresh_from_db()
        rows.append({"item_id": item.pk, "external_id": item.external_id,
                     "result": item.result, "confidence": item.confidence,
                     "revision": item.revision,
                     "annotations": [{"worker_id": name, "value": item.result}
                                     for name in names],
                     "instructions_version": 1, "source": "crowd"})
    return rows


# --- formats parse back --------------------------------------------------------------------

def test_json_parses_back_to_every_items_result(labelled, requester_client):
    project, items, workers = labelled

    response, text = download(requester_client, project, "json")

    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == (
        f'attachment; filename="project-{project.pk}-results.json"')
    rows = json.loads(text)
    assert rows == expected_rows(project, items, workers)
    assert [row["result"] for row in rows] == CHOICES[:4]
    assert all(0.0 <= row["confidence"] <= 1.0 for row in rows)


def test_json_is_the_default_format(labelled, requester_client):
    project, items, workers = labelled

    _, text = download(requester_client, project)

    assert json.loads(text) == expected_rows(project, items, workers)


def test_jsonl_has_one_row_per_line(labelled, requester_client):
    project, items, workers = labelled

    response, text = download(requester_client, project, "jsonl")

    assert response["Content-Type"] == "application/x-ndjson"
    assert text.endswith("\n")
    assert [json.loads(line) for line in text.splitlines()] == expected_rows(
        project, items, workers)


def test_csv_parses_back_with_formula_cells_escaped(labelled, requester_client):
    project, items, workers = labelled

    response, text = download(requester_client, project, "csv")

    assert response["Content-Type"] == "text/csv"
    header, *rows = list(csv.reader(io.StringIO(text)))
    assert header == CSV_COLUMNS == ["item_id", "external_id", "result", "confidence",
                                     "revision", "annotations", "instructions_version",
                                     "source"]
    expected = expected_rows(project, items, workers)
    assert [row[:3] for row in rows] == [
        [str(items[0].pk), "'=HYPERLINK(\"http://evil.example\")", "'=1+1"],
        [str(items[1].pk), "'-7", "'+SUM(A1)"],
        [str(items[2].pk), "row-3", "'-2"],
        [str(items[3].pk), "'@x", "'@cmd"],
    ]
    assert [float(row[3]) for row in rows] == [row["confidence"] for row in expected]
    # Annotations are one JSON cell: it starts with "[", never a formula.
    assert [int(row[4]) for row in rows] == [1, 1, 1, 1]
    assert [json.loads(row[5]) for row in rows] == [row["annotations"] for row in expected]
    assert [row[6] for row in rows] == ["1", "1", "1", "1"]
    assert [row[7] for row in rows] == ["crowd", "crowd", "crowd", "crowd"]


def test_a_client_accepting_only_csv_gets_the_csv(labelled, requester_client):
    project, items, _ = labelled

    response = requester_client.get(results_url(project), {"format": "csv"},
                                    HTTP_ACCEPT="text/csv")

    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    assert len(list(csv.reader(io.StringIO(text)))) == 1 + len(items)


def test_csv_leaves_missing_values_empty(requester, requester_client):
    project = launched_project(requester, tasks=1, items_per_task=2, overlap=2,
                               external_ids=["first", None])
    label(eligible_worker("dana@workers.example"), project, "positive")  # 1 of 2 labels

    _, text = download(requester_client, project, "csv")

    _, first, second = list(csv.reader(io.StringIO(text)))
    assert first[1:4] == ["first", "", ""]
    assert second[1:4] == ["", "", ""]


@pytest.mark.parametrize("answer, cell", [("=2+5", "'=2+5"), ("\t=2+5", "'\t=2+5"),
                                          ("\r@x", "'\r@x"), ("a=b", "a=b")])
def test_csv_escapes_formula_text_results(requester, requester_client, answer, cell):
    project = launched_project(requester, tasks=1, items_per_task=1, overlap=1,
                               task_type="text", label_config={"max_length": 20})
    label(eligible_worker("dana@workers.example"), project, answer)

    _, text = download(requester_client, project, "csv")

    _, row = list(csv.reader(io.StringIO(text, newline="")))
    assert row[2] == cell
    assert json.loads(row[5])[0]["value"] == answer   # inside JSON: quoted, not a formula


def test_csv_writes_numbers_and_lists_as_json(requester, requester_client):
    rating = launched_project(requester, tasks=1, items_per_task=1, overlap=1,
                              task_type="rating", label_config={"min": -5, "max": 5})
    choices = launched_project(requester, tasks=1, items_per_task=1, overlap=1,
                               task_type="multi_choice", name="Colours",
                               label_config={"choices": ["-red", "=green"]})
    worker = eligible_worker("dana@workers.example")
    label(worker, rating, -3)
    label(worker, choices, ["-red", "=green"])

    _, rating_text = download(requester_client, rating, "csv")
    _, choices_text = download(requester_client, choices, "csv")

    (_, rating_row), (_, choices_row) = (list(csv.reader(io.StringIO(rating_text))),
                                         list(csv.reader(io.StringIO(choices_text))))
    # A JSON number is a number to a spreadsheet, and a JSON list starts with "[".
    assert json.loads(rating_row[2]) == -3
    assert json.loads(choices_row[2]) == ["-red", "=green"]
    assert choices_row[2].startswith("[")


# --- who is in the annotations -------------------------------------------------------------

def test_workers_appear_as_per_project_pseudonyms(labelled, requester, requester_client):
    project, _, (dana, erin) = labelled
    other = launched_project(requester, tasks=1, items_per_task=1, name="Other")
    label(dana, other, "positive")

    _, text = download(requester_client, project, "json")
    _, other_text = download(requester_client, other, "json")

    names = {note["worker_id"] for row in json.loads(text) for note in row["annotations"]}
    assert names == {pseudonym_of(dana, project), pseudonym_of(erin, project)}
    assert not names & {str(dana.pk), str(erin.pk), dana.pk, erin.pk}
    # Unlinkable across projects: dana has another name on the other project.
    (other_row,) = json.loads(other_text)
    assert other_row["annotations"] == [{"worker_id": pseudonym_of(dana, other),
                                         "value": "positive"}]
    assert pseudonym_of(dana, other) != pseudonym_of(dana, project)


def test_rejected_answers_and_gold_are_not_exported(requester, requester_client):
    project = launched_project(requester, tasks=1, items_per_task=1, overlap=2,
                               gold_per_task=1, gold=[({"text": "gold"}, "positive")])
    kept = eligible_worker("dana@workers.example")
    dropped = eligible_worker("erin@workers.example")
    label(kept, project, "negative")
    rejected = label(dropped, project, "neutral")
    committed(decisions.reject, assignment_id=rejected.pk, actor=requester, reason="Careless.")

    _, text = download(requester_client, project, "json")

    (row,) = json.loads(text)
    assert row["item_id"] == Item.objects.get(project=project, is_gold=False).pk
    assert row["annotations"] == [{"worker_id": pseudonym_of(kept, project),
                                   "value": "negative"}]


def test_final_only_leaves_out_items_still_waiting(requester, requester_client):
    project = launched_project(requester, tasks=2, items_per_task=1, overlap=1)
    label(eligible_worker("dana@workers.example"), project, "positive")
    done = Item.objects.get(project=project, finalized_at__isnull=False)

    _, everything = download(requester_client, project, "jsonl")
    _, final = download(requester_client, project, "jsonl", final_only="true")

    assert len(everything.splitlines()) == 2
    assert [json.loads(line)["item_id"] for line in final.splitlines()] == [done.pk]


# --- refused -------------------------------------------------------------------------------

def test_another_organizations_project_is_a_404(labelled, other_requester_client):
    project, _, _ = labelled

    for file_format in ("json", "jsonl", "csv"):
        response = other_requester_client.get(results_url(project, file_format))
        assert response.status_code == 404, response.content
        assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("file_format", ["xml", "xlsx", "JSON"])
def test_an_unknown_format_is_a_400(labelled, requester_client, file_format):
    project, _, _ = labelled

    response = requester_client.get(f"/api/v1/projects/{project.pk}/results",
                                    {"format": file_format})

    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "validation_error"
    assert list(response.json()["error"]["fields"]) == ["format"]


def test_workers_and_anonymous_callers_get_no_results(labelled, api_client):
    project, _, _ = labelled
    _, worker_client = worker_and_client("zoe@workers.example")

    assert worker_client.get(results_url(project, "csv")).status_code == 403
    assert api_client.get(results_url(project, "csv")).status_code == 401
