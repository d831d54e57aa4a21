"""POST /api/v1/projects/{id}/items and /gold, GET /api/v1/imports/{id}.

Contract: small uploads answer 201 {created, tasks_created}; large ones 202 {import_id}
and run as a Celery import (eager here, at commit); a malformed row answers 400 naming
the row and nothing is stored.
"""
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from conftest import project_payload
from marketplace.models import Item, ItemImport, Task


# --- helpers -----------------------------------------------------------------------------

def items_url(project_id) -> str:
    return f"/api/v1/projects/{project_id}/items"


def gold_url(project_id) -> str:
    return f"/api/v1/projects/{project_id}/gold"


def import_url(import_id) -> str:
    return f"/api/v1/imports/{import_id}"


def post_items(client, project_id, items, **extra):
    return client.post(items_url(project_id), {"items": items}, format="json", **extra)


def post_file(client, url, name, content, **extra):
    if isinstance(content, str):
        content = content.encode()
    return client.post(url, {"file": SimpleUploadedFile(name, content)}, format="multipart",
                       **extra)


def jsonl(objects) -> str:
    return "".join(json.dumps(obj) + "\n" for obj in objects)


def texts(n, start=0):
    return [{"data": {"text": f"t{i}"}} for i in range(start, start + n)]


def task_sizes(project_id) -> list[int]:
    return [task.items.count() for task in Task.objects.filter(project_id=project_id)
            .order_by("id")]


def assert_nothing_stored(project_id) -> None:
    assert Item.objects.filter(project_id=project_id).count() == 0
    assert Task.objects.filter(project_id=project_id).count() == 0


def assert_error(response, status_code, code) -> dict:
    assert response.status_code == status_code, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code
    return body["error"]


def make_project(client, **overrides) -> dict:
    response = client.post("/api/v1/projects", project_payload(**overrides), format="json")
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run on_commit callbacks (the eager Celery import) as a real commit would."""
    def runner(call):
        with django_capture_on_commit_callbacks(execute=True):
            response = call()
        return response
    return runner


# --- inline JSON -------------------------------------------------------------------------

def test_inline_items_are_stored_and_cut_into_tasks(requester_client, project):
    response = post_items(requester_client, project["id"], texts(5))

    assert response.status_code == 201, response.json()
    assert response.json() == {"created": 5, "tasks_created": 3, "pii_raised": 0}
    items = Item.objects.filter(project_id=project["id"]).order_by("id")
    assert [item.data for item in items] == [{"text": f"t{i}"} for i in range(5)]
    assert all(not item.is_gold and item.gold_answer is None for item in items)
    assert task_sizes(project["id"]) == [2, 2, 1]
    # Items keep their upload order inside and across tasks.
    tasks = list(Task.objects.filter(project_id=project["id"]).order_by("id"))
    assert [item.task_id for item in items] == [tasks[0].pk, tasks[0].pk, tasks[1].pk,
                                                tasks[1].pk, tasks[2].pk]
    assert all(task.overlap == 3 for task in tasks)


def test_items_per_task_divides_evenly(requester_client):
    project = make_project(requester_client, items_per_task=3)

    response = post_items(requester_client, project["id"], texts(6))

    assert response.status_code == 201, response.json()
    assert response.json() == {"created": 6, "tasks_created": 2, "pii_raised": 0}
    assert task_sizes(project["id"]) == [3, 3]


def test_inline_external_ids_are_stored(requester_client, project):
    response = post_items(requester_client, project["id"], [
        {"external_id": "a-1", "data": {"text": "one"}},
        {"external_id": 42, "data": {"text": "two"}},
        {"data": {"text": "three"}},
    ])

    assert response.status_code == 201, response.json()
    stored = list(Item.objects.filter(project_id=project["id"]).order_by("id")
                  .values_list("external_id", flat=True))
    assert stored == ["a-1", "42", None]


COPY_TEXT_HAZARDS = ["tab\there", "new\nline", "carriage\rreturn", "back\\slash", "\\N",
                     "\\.", "\\t literally", "\u00e9\u4e2d\U0001f600", "\"quoted\"", "a\u2028b"]


def test_rows_with_copy_text_hazards_are_stored_as_sent(requester_client, project):
    """Rows reach the item table as COPY text written by the import itself: the
    characters that format reserves (tab, newline, backslash, \\N, \\.) and non-ASCII
    text come back exactly as uploaded, in the data and in external ids."""
    rows = [{"external_id": f"id {hazard}", "data": {"text": hazard, "list": [hazard, 1]}}
            for hazard in COPY_TEXT_HAZARDS]

    response = post_items(requester_client, project["id"], rows)

    assert response.status_code == 201, response.json()
    stored = list(Item.objects.filter(project_id=project["id"]).order_by("id")
                  .values_list("external_id", "data"))
    assert stored == [(row["external_id"], row["data"]) for row in rows]


def test_gold_rows_with_copy_text_hazards_keep_their_answers(requester_client):
    project = make_project(requester_client, task_type="text",
                           label_config={"max_length": 100})
    rows = [{"data": {"text": f"q{index}"}, "answer": hazard}
            for index, hazard in enumerate(COPY_TEXT_HAZARDS)]

    response = requester_client.post(gold_url(project["id"]), {"items": rows}, format="json")

    assert response.status_code == 201, response.json()
    stored = list(Item.objects.filter(project_id=project["id"]).order_by("id")
                  .values_list("gold_answer", "is_gold", "task_id"))
    assert stored == [(hazard, True, None) for hazard in COPY_TEXT_HAZARDS]


def test_second_upload_to_a_draft_tops_up_the_last_short_task(requester_client, project):
    first = post_items(requester_client, project["id"], texts(3))
    assert first.json() == {"created": 3, "tasks_created": 2, "pii_raised": 0}

    second = post_items(requester_client, project["id"], texts(4, start=3))

    assert second.status_code == 201, second.json()
    assert second.json() == {"created": 4, "tasks_created": 2, "pii_raised": 0}
    assert task_sizes(project["id"]) == [2, 2, 2, 1]
    # Same tasks as one upload of 7 items, in upload order.
    items = list(Item.objects.filter(project_id=project["id"]).order_by("id"))
    assert items[2].task_id == items[3].task_id


def test_top_up_that_fits_in_the_short_task_creates_no_task(requester_client, project):
    post_items(requester_client, project["id"], texts(1))

    response = post_items(requester_client, project["id"], texts(1, start=1))

    assert response.json() == {"created": 1, "tasks_created": 0, "pii_raised": 0}
    assert task_sizes(project["id"]) == [2]


def test_empty_items_list_is_refused(requester_client, project):
    response = post_items(requester_client, project["id"], [])

    error = assert_error(response, 400, "empty_upload")
    assert "items" in error["fields"]
    assert_nothing_stored(project["id"])


def test_body_without_items_is_refused(requester_client, project):
    response = requester_client.post(items_url(project["id"]), {"rows": []}, format="json")

    error = assert_error(response, 400, "validation_error")
    assert error["fields"] == {"items": ["This field is required."]}


def test_items_that_are_not_a_list_are_refused(requester_client, project):
    response = requester_client.post(items_url(project["id"]), {"items": {"data": {}}},
                                     format="json")

    error = assert_error(response, 400, "validation_error")
    assert "items" in error["fields"]
    assert_nothing_stored(project["id"])


# --- files -------------------------------------------------------------------------------

def test_jsonl_file(requester_client, project):
    content = jsonl([{"external_id": "e1", "data": {"text": "a"}},
                     {"data": {"text": "b"}},
                     {"data": {"text": "c"}}])

    response = post_file(requester_client, items_url(project["id"]), "items.jsonl",
                         content + "\n\n")  # trailing blank lines are ignored

    assert response.status_code == 201, response.json()
    assert response.json() == {"created": 3, "tasks_created": 2, "pii_raised": 0}
    items = Item.objects.filter(project_id=project["id"]).order_by("id")
    assert [(item.external_id, item.data) for item in items] == [
        ("e1", {"text": "a"}), (None, {"text": "b"}), (None, {"text": "c"})]


def test_jsonl_file_with_crlf_line_endings_and_bom(requester_client, project):
    content = "\ufeff" + jsonl(texts(3)).replace("\n", "\r\n")

    response = post_file(requester_client, items_url(project["id"]), "ITEMS.NDJSON",
                         content.encode("utf-8"))

    assert response.status_code == 201, response.json()
    assert response.json() == {"created": 3, "tasks_created": 2, "pii_raised": 0}


def test_jsonl_text_may_hold_unicode_line_separators(requester_client, project):
    # ensure_ascii=False writes U+2028 and U+0085 raw; they are not line breaks in JSONL.
    rows = [{"data": {"text": "first\u2028second\x85third"}}, {"data": {"text": "é"}}]
    content = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)

    response = post_file(requester_client, items_url(project["id"]), "items.jsonl",
                         content.encode("utf-8"))

    assert response.status_code == 201, response.json()
    assert response.json() == {"created": 2, "tasks_created": 1, "pii_raised": 0}
    stored = [item.data for item in Item.objects.filter(project_id=project["id"])
              .order_by("id")]
    assert stored == [row["data"] for row in rows]


def test_csv_file_without_data_column_turns_columns_into_data(requester_client, project):
    content = "external_id,text,lang\nx1,hello,en\nx2,bonjour,fr\n,hola,es\n"

    response = post_file(requester_client, items_url(project["id"]), "items.csv", content)

    assert response.status_code == 201, response.json()
    assert response.json() == {"created": 3, "tasks_created": 2, "pii_raised": 0}
    items = Item.objects.filter(project_id=project["id"]).order_by("id")
    assert [(item.external_id, item.data) for item in items] == [
        ("x1", {"text": "hello", "lang": "en"}),
        ("x2", {"text": "bonjour", "lang": "fr"}),
        (None, {"text": "hola", "lang": "es"}),
    ]


def test_csv_file_with_data_json_column(requester_client, project):
    content = ('external_id,data\n'
               'a,"{""text"": ""one"", ""n"": 1}"\n'
               'b,"{""text"": ""two""}"\n')

    response = post_file(requester_client, items_url(project["id"]), "items.csv", content)

    assert response.status_code == 201, response.json()
    assert response.json() == {"created": 2, "tasks_created": 1, "pii_raised": 0}
    items = Item.objects.filter(project_id=project["id"]).order_by("id")
    assert [(item.external_id, item.data) for item in items] == [
        ("a", {"text": "one", "n": 1}), ("b", {"text": "two"})]


def test_csv_with_data_column_and_extra_columns_keeps_the_extra_columns(
        requester_client, project):
    content = 'data,source\n"{""text"": ""one""}",web\n'

    response = post_file(requester_client, items_url(project["id"]), "items.csv", content)

    assert response.status_code == 201, response.json()
    assert Item.objects.get(project_id=project["id"]).data == {"text": "one", "source": "web"}


def test_csv_column_that_clashes_with_a_data_key_is_refused(requester_client, project):
    content = 'data,text\n"{""text"": ""one""}",two\n'

    response = post_file(requester_client, items_url(project["id"]), "items.csv", content)

    error = assert_error(response, 400, "invalid_row")
    assert error["fields"] == {"rows.2": ["column(s) text also appear in the 'data' cell."]}
    assert_nothing_stored(project["id"])


def test_csv_quoted_cells_may_span_lines(requester_client, project):
    content = 'text\n"line one\nline two"\nplain\n'

    response = post_file(requester_client, items_url(project["id"]), "items.csv", content)

    assert response.status_code == 201, response.json()
    stored = [item.data for item in Item.objects.filter(project_id=project["id"])
              .order_by("id")]
    assert stored == [{"text": "line one\nline two"}, {"text": "plain"}]


def test_csv_cell_longer_than_the_csv_module_default_is_accepted(requester_client, project):
    long_text = "word " * 40_000  # 200,000 characters; the csv module's default cap is 131,072

    response = post_file(requester_client, items_url(project["id"]), "items.csv",
                         f"text\n{long_text}\nshort\n")

    assert response.status_code == 201, response.json()
    assert Item.objects.filter(project_id=project["id"]).order_by("id").first().data == \
        {"text": long_text}


def test_csv_empty_answer_cells_mean_no_answer(requester_client, project):
    response = post_file(requester_client, items_url(project["id"]), "items.csv",
                         "text,answer\nhello,\nworld,\n")

    assert response.status_code == 201, response.json()
    assert response.json() == {"created": 2, "tasks_created": 1, "pii_raised": 0}


def test_json_file_with_array(requester_client, project):
    content = json.dumps(texts(3))

    response = post_file(requester_client, items_url(project["id"]), "items.json", content)

    assert response.status_code == 201, response.json()
    assert response.json() == {"created": 3, "tasks_created": 2, "pii_raised": 0}
    assert Item.objects.filter(project_id=project["id"]).count() == 3


def test_json_file_with_items_object(requester_client, project):
    content = json.dumps({"items": texts(4)})

    response = post_file(requester_client, items_url(project["id"]), "items.json", content)

    assert response.status_code == 201, response.json()
    assert response.json() == {"created": 4, "tasks_created": 2, "pii_raised": 0}


def test_json_file_that_is_not_a_list_is_refused(requester_client, project):
    response = post_file(requester_client, items_url(project["id"]), "items.json",
                         json.dumps({"rows": []}))

    assert_error(response, 400, "validation_error")
    assert_nothing_stored(project["id"])


def test_invalid_json_file_is_refused(requester_client, project):
    response = post_file(requester_client, items_url(project["id"]), "items.json",
                         '[{"data": {"text": "a"}},\n{"data": ')

    error = assert_error(response, 400, "invalid_json")
    assert "line 2" in error["message"]
    assert "file" in error["fields"]
    assert_nothing_stored(project["id"])


@pytest.mark.parametrize("name", ["items.txt", "items.xlsx", "items", "items.json.gz"])
def test_unsupported_file_type_is_refused(requester_client, project, name):
    response = post_file(requester_client, items_url(project["id"]), name,
                         jsonl(texts(2)))

    error = assert_error(response, 400, "unsupported_file_type")
    assert "file" in error["fields"]
    assert_nothing_stored(project["id"])


@pytest.mark.parametrize("name", ["items.jsonl", "items.csv", "items.json"])
def test_non_utf8_file_is_refused(requester_client, project, name):
    content = {
        "items.jsonl": '{"data": {"text": "café"}}\n',
        "items.csv": "text\ncafé\n",
        "items.json": '[{"data": {"text": "café"}}]',
    }[name].encode("latin-1")

    response = post_file(requester_client, items_url(project["id"]), name, content)

    error = assert_error(response, 400, "invalid_encoding")
    assert "file" in error["fields"]
    assert_nothing_stored(project["id"])


def test_multipart_without_file_part_is_refused(requester_client, project):
    response = requester_client.post(items_url(project["id"]), {"other": "x"},
                                     format="multipart")

    error = assert_error(response, 400, "validation_error")
    assert error["fields"] == {"file": ["This field is required."]}


def test_csv_without_header_is_refused(requester_client, project):
    response = post_file(requester_client, items_url(project["id"]), "items.csv", "")

    assert_error(response, 400, "invalid_csv")


def test_csv_with_duplicate_header_is_refused(requester_client, project):
    response = post_file(requester_client, items_url(project["id"]), "items.csv",
                         "text,text\na,b\n")

    assert_error(response, 400, "invalid_csv")
    assert_nothing_stored(project["id"])


# --- malformed rows: 400 naming the row, nothing stored ----------------------------------

def test_bad_json_on_line_3_of_jsonl_names_line_3(requester_client, project):
    content = (json.dumps({"data": {"text": "a"}}) + "\n"
               + json.dumps({"data": {"text": "b"}}) + "\n"
               + '{"data": {"text": "c"\n'
               + json.dumps({"data": {"text": "d"}}) + "\n")

    response = post_file(requester_client, items_url(project["id"]), "items.jsonl", content)

    error = assert_error(response, 400, "invalid_row")
    assert error["message"].startswith("Row 3:")
    assert list(error["fields"]) == ["rows.3"]
    assert_nothing_stored(project["id"])


def test_jsonl_row_numbers_count_blank_lines(requester_client, project):
    content = (json.dumps({"data": {"text": "a"}}) + "\n\n"
               + json.dumps({"data": {}}) + "\n")

    response = post_file(requester_client, items_url(project["id"]), "items.jsonl", content)

    error = assert_error(response, 400, "invalid_rows")
    assert error["message"].startswith("Row 3: data:")
    assert list(error["fields"]) == ["rows.3.data"]
    assert_nothing_stored(project["id"])


def test_row_without_data_is_refused(requester_client, project):
    response = post_items(requester_client, project["id"],
                          texts(2) + [{"external_id": "no-data"}])

    error = assert_error(response, 400, "invalid_row")
    assert error["message"] == "Row 3: 'data' is required."
    assert error["fields"] == {"rows.3": ["'data' is required."]}
    assert_nothing_stored(project["id"])


def test_row_that_is_not_an_object_is_refused(requester_client, project):
    response = post_items(requester_client, project["id"], texts(1) + ["just text"])

    error = assert_error(response, 400, "invalid_row")
    assert list(error["fields"]) == ["rows.2"]
    assert_nothing_stored(project["id"])


@pytest.mark.parametrize("data", ["a string", ["a", "list"], {}, None, 7])
def test_data_that_is_not_a_non_empty_object_is_refused(requester_client, project, data):
    response = post_items(requester_client, project["id"], texts(3) + [{"data": data}])

    error = assert_error(response, 400, "invalid_rows")
    assert error["message"].startswith("Row 4: data: ")
    assert error["message"].endswith("Nothing was stored.")
    assert error["fields"] == {"rows.4.data": ["'data' must be a non-empty object."]}
    assert_nothing_stored(project["id"])


def test_unknown_keys_in_a_row_are_refused(requester_client, project):
    response = post_items(requester_client, project["id"],
                          [{"data": {"text": "a"}, "extra": 1}])

    error = assert_error(response, 400, "invalid_rows")
    assert error["fields"] == {"rows.1.row": ["unknown key(s): extra."]}
    assert_nothing_stored(project["id"])


def test_every_bad_row_is_named(requester_client, project):
    response = post_items(requester_client, project["id"], [
        {"data": {"text": "ok"}},
        {"data": {}},
        {"data": {"text": "ok"}},
        {"data": "x", "answer": "positive"},
    ])

    error = assert_error(response, 400, "invalid_rows")
    assert set(error["fields"]) == {"rows.2.data", "rows.4.data", "rows.4.answer"}
    assert_nothing_stored(project["id"])


def test_span_item_without_text_is_refused(requester_client):
    project = make_project(requester_client, task_type="spans",
                           label_config={"labels": ["PER", "ORG"]})
    content = jsonl([{"data": {"text": "Ada Lovelace"}},
                     {"data": {"url": "https://example.com/a.txt"}}])

    response = post_file(requester_client, items_url(project["id"]), "items.jsonl", content)

    error = assert_error(response, 400, "invalid_rows")
    assert error["message"].startswith("Row 2: data:")
    assert list(error["fields"]) == ["rows.2.data"]
    assert "data.text" in error["fields"]["rows.2.data"][0]
    assert_nothing_stored(project["id"])


def test_csv_bad_data_cell_names_the_line(requester_client, project):
    content = 'data\n"{""text"": ""ok""}"\nnot json\n'

    response = post_file(requester_client, items_url(project["id"]), "items.csv", content)

    error = assert_error(response, 400, "invalid_row")
    assert error["message"].startswith("Row 3:")
    assert list(error["fields"]) == ["rows.3"]
    assert_nothing_stored(project["id"])


def test_csv_row_with_too_many_cells_names_the_line(requester_client, project):
    content = "text\nfine\ntoo,many\n"

    response = post_file(requester_client, items_url(project["id"]), "items.csv", content)

    error = assert_error(response, 400, "invalid_row")
    assert list(error["fields"]) == ["rows.3"]
    assert_nothing_stored(project["id"])


def test_csv_row_numbers_name_the_line_a_record_starts_on(requester_client, project):
    # The good record spans lines 2-3, the bad one lines 4-5: a person looks for line 4.
    content = 'data\n"{""text"":\n""a""}"\n"[1,\n2]"\n'

    response = post_file(requester_client, items_url(project["id"]), "items.csv", content)

    error = assert_error(response, 400, "invalid_rows")
    assert list(error["fields"]) == ["rows.4.data"]
    assert_nothing_stored(project["id"])


def test_json_array_rows_are_numbered_from_one(requester_client, project):
    content = json.dumps(texts(2) + [{"data": []}])

    response = post_file(requester_client, items_url(project["id"]), "items.json", content)

    error = assert_error(response, 400, "invalid_rows")
    assert list(error["fields"]) == ["rows.3.data"]
    assert_nothing_stored(project["id"])


def test_duplicate_external_id_inside_the_upload_is_refused(requester_client, project):
    response = post_items(requester_client, project["id"], [
        {"external_id": "a", "data": {"text": "1"}},
        {"external_id": "b", "data": {"text": "2"}},
        {"external_id": "a", "data": {"text": "3"}},
    ])

    error = assert_error(response, 400, "invalid_rows")
    assert error["message"].startswith("Row 3: external_id:")
    assert error["fields"] == {"rows.3.external_id": ["duplicate of row 1 ('a')."]}
    assert_nothing_stored(project["id"])


def test_duplicate_external_id_inside_a_jsonl_names_lines(requester_client, project):
    content = jsonl([{"external_id": "a", "data": {"text": "1"}},
                     {"external_id": "b", "data": {"text": "2"}},
                     {"external_id": " a ", "data": {"text": "3"}}])

    response = post_file(requester_client, items_url(project["id"]), "items.jsonl",
                         "\n" + content)

    error = assert_error(response, 400, "invalid_rows")
    assert error["fields"] == {"rows.4.external_id": ["duplicate of row 2 ('a')."]}
    assert_nothing_stored(project["id"])


def test_duplicate_of_an_existing_external_id_is_refused(requester_client, project):
    post_items(requester_client, project["id"], [{"external_id": "a", "data": {"text": "1"}}])
    items_before = list(Item.objects.filter(project_id=project["id"]).values_list("id",
                                                                                  flat=True))
    tasks_before = Task.objects.filter(project_id=project["id"]).count()

    response = post_items(requester_client, project["id"], [
        {"external_id": "b", "data": {"text": "2"}},
        {"external_id": "a", "data": {"text": "3"}},
    ])

    error = assert_error(response, 400, "invalid_rows")
    assert error["fields"] == {"rows.2.external_id": ["'a' already exists in this project."]}
    assert list(Item.objects.filter(project_id=project["id"]).values_list("id",
                                                                          flat=True)) \
        == items_before
    assert Task.objects.filter(project_id=project["id"]).count() == tasks_before


def test_same_external_id_in_another_project_is_fine(requester_client, project):
    other = make_project(requester_client, name="Other")
    post_items(requester_client, other["id"], [{"external_id": "a", "data": {"text": "1"}}])

    response = post_items(requester_client, project["id"],
                          [{"external_id": "a", "data": {"text": "1"}}])

    assert response.status_code == 201, response.json()


@pytest.mark.parametrize("external_id", [True, 1.5, {"a": 1}, ["a"], "x" * 256])
def test_bad_external_id_is_refused(requester_client, project, external_id):
    response = post_items(requester_client, project["id"],
                          [{"external_id": external_id, "data": {"text": "1"}}])

    error = assert_error(response, 400, "invalid_rows")
    assert list(error["fields"]) == ["rows.1.external_id"]
    assert_nothing_stored(project["id"])


def test_answer_on_a_plain_item_is_refused(requester_client, project):
    response = post_items(requester_client, project["id"],
                          texts(1) + [{"data": {"text": "x"}, "answer": "positive"}])

    error = assert_error(response, 400, "invalid_rows")
    assert error["fields"] == {
        "rows.2.answer": ["items carry no answer; upload gold items to /gold."]}
    assert_nothing_stored(project["id"])


def test_answer_column_in_an_items_csv_is_refused(requester_client, project):
    response = post_file(requester_client, items_url(project["id"]), "items.csv",
                         "text,answer\nhello,positive\n")

    error = assert_error(response, 400, "invalid_rows")
    assert list(error["fields"]) == ["rows.2.answer"]
    assert_nothing_stored(project["id"])


# --- gold --------------------------------------------------------------------------------

def test_gold_upload(requester_client, project):
    response = requester_client.post(gold_url(project["id"]), {"items": [
        {"external_id": "g1", "data": {"text": "great"}, "answer": "positive"},
        {"data": {"text": "awful"}, "answer": "negative"},
    ]}, format="json")

    assert response.status_code == 201, response.json()
    assert response.json() == {"created": 2, "pii_raised": 0}
    gold = list(Item.objects.filter(project_id=project["id"]).order_by("id"))
    assert [(g.external_id, g.data, g.is_gold, g.gold_answer, g.task_id) for g in gold] == [
        ("g1", {"text": "great"}, True, "positive", None),
        (None, {"text": "awful"}, True, "negative", None),
    ]
    assert Task.objects.filter(project_id=project["id"]).count() == 0


def test_gold_does_not_fill_the_short_task(requester_client, project):
    post_items(requester_client, project["id"], texts(1))
    requester_client.post(gold_url(project["id"]), {"items": [
        {"data": {"text": "g"}, "answer": "neutral"}]}, format="json")

    response = post_items(requester_client, project["id"], texts(1, start=1))

    assert response.json() == {"created": 1, "tasks_created": 0, "pii_raised": 0}
    assert task_sizes(project["id"]) == [2]


def test_gold_csv_with_bare_label_answers(requester_client, project):
    # A bare label, and the same as a JSON string ("neutral" quoted for CSV).
    content = 'external_id,text,answer\ng1,great,positive\ng2,meh,"""neutral"""\n'

    response = post_file(requester_client, gold_url(project["id"]), "gold.csv", content)

    assert response.status_code == 201, response.json()
    assert response.json() == {"created": 2, "pii_raised": 0}
    gold = Item.objects.filter(project_id=project["id"]).order_by("id")
    assert [(g.data, g.gold_answer) for g in gold] == [
        ({"text": "great"}, "positive"), ({"text": "meh"}, "neutral")]


def test_gold_csv_with_an_empty_answer_cell_names_the_row(requester_client, project):
    response = post_file(requester_client, gold_url(project["id"]), "gold.csv",
                         "text,answer\ngreat,positive\nmeh,\n")

    error = assert_error(response, 400, "invalid_rows")
    assert error["fields"] == {"rows.3.answer": ["gold items need an 'answer'."]}
    assert_nothing_stored(project["id"])


def test_gold_jsonl_file(requester_client, project):
    content = jsonl([{"data": {"text": "a"}, "answer": "positive"},
                     {"data": {"text": "b"}, "answer": "negative"},
                     {"data": {"text": "c"}, "answer": "neutral"}])

    response = post_file(requester_client, gold_url(project["id"]), "gold.jsonl", content)

    assert response.status_code == 201, response.json()
    assert response.json() == {"created": 3, "pii_raised": 0}
    assert Item.objects.filter(project_id=project["id"], is_gold=True,
                               task__isnull=True).count() == 3


def test_gold_answer_outside_the_choices_is_refused(requester_client, project):
    response = requester_client.post(gold_url(project["id"]), {"items": [
        {"data": {"text": "a"}, "answer": "positive"},
        {"data": {"text": "b"}, "answer": "furious"},
    ]}, format="json")

    error = assert_error(response, 400, "invalid_rows")
    assert error["message"].startswith("Row 2: answer:")
    assert error["fields"] == {
        "rows.2.answer": ["Must be one of: positive, negative, neutral."]}
    assert_nothing_stored(project["id"])


def test_gold_without_answer_is_refused(requester_client, project):
    response = requester_client.post(gold_url(project["id"]), {"items": [
        {"data": {"text": "a"}, "answer": "positive"},
        {"data": {"text": "b"}},
    ]}, format="json")

    error = assert_error(response, 400, "invalid_rows")
    assert error["fields"] == {"rows.2.answer": ["gold items need an 'answer'."]}
    assert_nothing_stored(project["id"])


def test_gold_answers_follow_the_task_type(requester_client):
    project = make_project(requester_client, task_type="spans",
                           label_config={"labels": ["PER"]})
    text = "Ada Lovelace"

    bad = requester_client.post(gold_url(project["id"]), {"items": [
        {"data": {"text": text}, "answer": [{"start": 0, "end": 12, "label": "PER"}]},
        {"data": {"text": text}, "answer": [{"start": 0, "end": 99, "label": "PER"}]},
    ]}, format="json")
    error = assert_error(bad, 400, "invalid_rows")
    assert list(error["fields"]) == ["rows.2.answer"]
    assert_nothing_stored(project["id"])

    good = requester_client.post(gold_url(project["id"]), {"items": [
        {"data": {"text": text}, "answer": [{"start": 0, "end": 3, "label": "PER"}]},
    ]}, format="json")
    assert good.status_code == 201, good.json()


# --- size limit --------------------------------------------------------------------------

@override_settings(MAX_UPLOAD_BYTES=2048)
def test_inline_upload_above_the_limit_is_413(requester_client, project):
    items = [{"data": {"text": "x" * 100}} for _ in range(30)]

    response = post_items(requester_client, project["id"], items)

    error = assert_error(response, 413, "payload_too_large")
    assert "2048" in error["message"]
    assert_nothing_stored(project["id"])


@override_settings(MAX_UPLOAD_BYTES=2048)
def test_file_upload_above_the_limit_is_413(requester_client, project):
    content = jsonl([{"data": {"text": "x" * 100}} for _ in range(30)])

    response = post_file(requester_client, items_url(project["id"]), "items.jsonl", content)

    assert_error(response, 413, "payload_too_large")
    assert_nothing_stored(project["id"])


@override_settings(MAX_UPLOAD_BYTES=2048)
def test_gold_upload_above_the_limit_is_413(requester_client, project):
    items = [{"data": {"text": "x" * 100}, "answer": "positive"} for _ in range(30)]

    response = requester_client.post(gold_url(project["id"]), {"items": items},
                                     format="json")

    assert_error(response, 413, "payload_too_large")
    assert_nothing_stored(project["id"])


@override_settings(MAX_UPLOAD_BYTES=2048)
def test_upload_under_the_limit_is_stored(requester_client, project):
    response = post_items(requester_client, project["id"], texts(5))

    assert response.status_code == 201, response.json()


# --- project state and permissions -------------------------------------------------------

def test_upload_to_a_cancelled_project_is_409(requester_client, project):
    cancelled = requester_client.post(f"/api/v1/projects/{project['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.json()

    response = post_items(requester_client, project["id"], texts(2))

    assert_error(response, 409, "project_closed")
    assert_nothing_stored(project["id"])


def test_gold_upload_to_a_cancelled_project_is_409(requester_client, project):
    requester_client.post(f"/api/v1/projects/{project['id']}/cancel")

    response = requester_client.post(gold_url(project["id"]), {"items": [
        {"data": {"text": "a"}, "answer": "positive"}]}, format="json")

    assert_error(response, 409, "project_closed")
    assert_nothing_stored(project["id"])


@override_settings(IMPORT_SYNC_MAX_ROWS=10)
def test_large_upload_to_a_cancelled_project_is_409(requester_client, project,
                                                    run_on_commit):
    requester_client.post(f"/api/v1/projects/{project['id']}/cancel")

    response = run_on_commit(lambda: post_items(requester_client, project["id"], texts(11)))

    assert_error(response, 409, "project_closed")
    assert ItemImport.objects.count() == 0
    assert_nothing_stored(project["id"])


def test_other_organization_cannot_upload(other_requester_client, project):
    items = post_items(other_requester_client, project["id"], texts(2))
    gold = other_requester_client.post(gold_url(project["id"]), {"items": [
        {"data": {"text": "a"}, "answer": "positive"}]}, format="json")
    as_file = post_file(other_requester_client, items_url(project["id"]), "items.jsonl",
                        jsonl(texts(2)))

    for response in (items, gold, as_file):
        assert_error(response, 404, "not_found")
    assert_nothing_stored(project["id"])


def test_worker_cannot_upload(worker_client, project):
    response = post_items(worker_client, project["id"], texts(2))

    assert_error(response, 403, "permission_denied")
    assert_nothing_stored(project["id"])


def test_anonymous_cannot_upload(api_client, project):
    response = post_items(api_client, project["id"], texts(2))

    assert response.status_code == 401
    assert_nothing_stored(project["id"])


def test_unknown_project_is_404(requester_client, db):
    response = post_items(requester_client, 999999, texts(2))

    assert_error(response, 404, "not_found")


# --- large uploads: background import ----------------------------------------------------

@override_settings(IMPORT_SYNC_MAX_ROWS=10)
def test_large_inline_upload_runs_as_an_import(requester_client, project, run_on_commit):
    response = run_on_commit(lambda: post_items(requester_client, project["id"], texts(25)))

    assert response.status_code == 202, response.json()
    import_id = response.json()["import_id"]
    item_import = ItemImport.objects.get(pk=import_id)
    assert item_import.project_id == project["id"]
    assert item_import.file_format == "json"

    detail = requester_client.get(import_url(import_id))

    assert detail.status_code == 200, detail.json()
    body = detail.json()
    assert body["status"] == "succeeded"
    assert body["rows_total"] == 25
    assert body["rows_done"] == 25
    assert body["items_created"] == 25
    assert body["tasks_created"] == 13
    assert body["errors"] == []
    assert body["kind"] == "items"
    assert body["finished_at"] is not None
    assert Item.objects.filter(project_id=project["id"]).count() == 25
    assert task_sizes(project["id"]) == [2] * 12 + [1]
    assert [item.data for item in Item.objects.filter(project_id=project["id"])
            .order_by("id")] == [row["data"] for row in texts(25)]
    item_import.refresh_from_db()
    assert bytes(item_import.payload) == b""  # the raw upload is not kept


@override_settings(IMPORT_SYNC_MAX_ROWS=10)
@pytest.mark.parametrize("name,content", [
    ("items.jsonl", jsonl(texts(12))),
    ("items.csv", "text\n" + "".join(f"t{i}\n" for i in range(12))),
    ("items.json", json.dumps({"items": texts(12)})),
])
def test_large_file_upload_runs_as_an_import(requester_client, project, run_on_commit,
                                             name, content):
    response = run_on_commit(lambda: post_file(requester_client, items_url(project["id"]),
                                               name, content))

    assert response.status_code == 202, response.json()
    body = requester_client.get(import_url(response.json()["import_id"])).json()
    assert (body["status"], body["rows_total"], body["rows_done"], body["items_created"],
            body["tasks_created"]) == ("succeeded", 12, 12, 12, 6)
    assert [item.data for item in Item.objects.filter(project_id=project["id"])
            .order_by("id")] == [{"text": f"t{i}"} for i in range(12)]
    assert task_sizes(project["id"]) == [2] * 6


@override_settings(IMPORT_SYNC_MAX_ROWS=10)
def test_large_upload_tops_up_the_short_task(requester_client, project, run_on_commit):
    post_items(requester_client, project["id"], texts(3))

    response = run_on_commit(lambda: post_items(requester_client, project["id"],
                                                texts(11, start=3)))

    assert response.status_code == 202, response.json()
    body = requester_client.get(import_url(response.json()["import_id"])).json()
    assert body["tasks_created"] == 5
    assert task_sizes(project["id"]) == [2] * 7


@override_settings(IMPORT_SYNC_MAX_ROWS=10)
def test_large_gold_upload_runs_as_an_import(requester_client, project, run_on_commit):
    gold = [{"data": {"text": f"g{i}"}, "answer": "positive"} for i in range(11)]

    response = run_on_commit(lambda: requester_client.post(
        gold_url(project["id"]), {"items": gold}, format="json"))

    assert response.status_code == 202, response.json()
    body = requester_client.get(import_url(response.json()["import_id"])).json()
    assert (body["status"], body["kind"], body["items_created"], body["tasks_created"]) == \
        ("succeeded", "gold", 11, 0)
    assert Item.objects.filter(project_id=project["id"], is_gold=True,
                               task__isnull=True).count() == 11
    assert Task.objects.filter(project_id=project["id"]).count() == 0


@override_settings(IMPORT_SYNC_MAX_ROWS=10)
def test_large_upload_with_a_bad_row_fails_and_stores_nothing(requester_client, project,
                                                              run_on_commit):
    rows = texts(20)
    rows[13] = {"data": "not an object"}  # line 14 of the file
    content = jsonl(rows)

    response = run_on_commit(lambda: post_file(requester_client, items_url(project["id"]),
                                               "items.jsonl", content))

    assert response.status_code == 202, response.json()
    body = requester_client.get(import_url(response.json()["import_id"])).json()
    assert body["status"] == "failed"
    assert body["rows_total"] == 20
    assert body["items_created"] == 0
    assert body["tasks_created"] == 0
    assert body["errors"] == [
        {"row": 14, "field": "data", "message": "'data' must be a non-empty object."}]
    assert body["finished_at"] is not None
    assert_nothing_stored(project["id"])


@override_settings(IMPORT_SYNC_MAX_ROWS=10)
def test_large_gold_upload_with_a_bad_answer_fails(requester_client, project,
                                                   run_on_commit):
    gold = [{"data": {"text": f"g{i}"}, "answer": "positive"} for i in range(12)]
    gold[4]["answer"] = "furious"
    del gold[9]["answer"]

    response = run_on_commit(lambda: requester_client.post(
        gold_url(project["id"]), {"items": gold}, format="json"))

    assert response.status_code == 202, response.json()
    body = requester_client.get(import_url(response.json()["import_id"])).json()
    assert body["status"] == "failed"
    assert body["errors"] == [
        {"row": 5, "field": "answer", "message": "Must be one of: positive, negative, neutral."},
        {"row": 10, "field": "answer", "message": "gold items need an 'answer'."},
    ]
    assert_nothing_stored(project["id"])


@override_settings(IMPORT_SYNC_MAX_ROWS=10)
def test_large_upload_with_a_duplicate_external_id_fails(requester_client, project,
                                                         run_on_commit):
    post_items(requester_client, project["id"], [{"external_id": "taken",
                                                  "data": {"text": "old"}}])
    rows = [{"external_id": f"e{i}", "data": {"text": f"t{i}"}} for i in range(12)]
    rows[7]["external_id"] = "taken"

    response = run_on_commit(lambda: post_items(requester_client, project["id"], rows))

    body = requester_client.get(import_url(response.json()["import_id"])).json()
    assert body["status"] == "failed"
    assert body["errors"] == [{"row": 8, "field": "external_id",
                               "message": "'taken' already exists in this project."}]
    assert Item.objects.filter(project_id=project["id"]).count() == 1
    assert Task.objects.filter(project_id=project["id"]).count() == 1


@override_settings(IMPORT_SYNC_MAX_ROWS=10)
def test_large_upload_with_bad_syntax_is_refused_before_queueing(requester_client, project,
                                                                 run_on_commit):
    content = jsonl(texts(12)) + "{oops\n"

    response = run_on_commit(lambda: post_file(requester_client, items_url(project["id"]),
                                               "items.jsonl", content))

    error = assert_error(response, 400, "invalid_row")
    assert list(error["fields"]) == ["rows.13"]
    assert ItemImport.objects.count() == 0
    assert_nothing_stored(project["id"])


@override_settings(IMPORT_SYNC_MAX_ROWS=10)
def test_import_of_another_organization_is_404(requester_client, other_requester_client,
                                               worker_client, project, run_on_commit):
    response = run_on_commit(lambda: post_items(requester_client, project["id"], texts(11)))
    import_id = response.json()["import_id"]

    assert_error(other_requester_client.get(import_url(import_id)), 404, "not_found")
    assert_error(worker_client.get(import_url(import_id)), 403, "permission_denied")
    assert requester_client.get(import_url(import_id)).status_code == 200


@pytest.mark.parametrize("import_id", ["999999", "abc"])
def test_unknown_import_is_404(requester_client, db, import_id):
    assert_error(requester_client.get(import_url(import_id)), 404, "not_found")


# --- Idempotency-Key ---------------------------------------------------------------------

def test_idempotency_key_replays_an_inline_upload(requester_client, project):
    first = post_items(requester_client, project["id"], texts(5),
                       HTTP_IDEMPOTENCY_KEY="upload-1")
    second = post_items(requester_client, project["id"], texts(5),
                        HTTP_IDEMPOTENCY_KEY="upload-1")

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json() == {"created": 5, "tasks_created": 3, "pii_raised": 0}
    assert second["Idempotent-Replayed"] == "true"
    assert Item.objects.filter(project_id=project["id"]).count() == 5
    assert Task.objects.filter(project_id=project["id"]).count() == 3


def test_idempotency_key_replays_a_file_upload(requester_client, project):
    content = jsonl(texts(3))

    first = post_file(requester_client, items_url(project["id"]), "items.jsonl", content,
                      HTTP_IDEMPOTENCY_KEY="file-1")
    second = post_file(requester_client, items_url(project["id"]), "items.jsonl", content,
                       HTTP_IDEMPOTENCY_KEY="file-1")

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Item.objects.filter(project_id=project["id"]).count() == 3


def test_idempotency_key_reused_with_another_body_is_409(requester_client, project):
    post_items(requester_client, project["id"], texts(2), HTTP_IDEMPOTENCY_KEY="k")

    response = post_items(requester_client, project["id"], texts(3),
                          HTTP_IDEMPOTENCY_KEY="k")

    assert_error(response, 409, "idempotency_key_reused")
    assert Item.objects.filter(project_id=project["id"]).count() == 2


def test_failed_upload_is_not_remembered_by_its_idempotency_key(requester_client, project):
    bad = post_items(requester_client, project["id"], [{"data": {}}],
                     HTTP_IDEMPOTENCY_KEY="retry")
    assert bad.status_code == 400

    retried = post_items(requester_client, project["id"], [{"data": {}}],
                         HTTP_IDEMPOTENCY_KEY="retry")

    assert retried.status_code == 400
    assert "Idempotent-Replayed" not in retried
    assert_nothing_stored(project["id"])


@override_settings(IMPORT_SYNC_MAX_ROWS=10)
def test_idempotency_key_replays_a_queued_import(requester_client, project, run_on_commit):
    first = run_on_commit(lambda: post_items(requester_client, project["id"], texts(11),
                                             HTTP_IDEMPOTENCY_KEY="big"))
    second = run_on_commit(lambda: post_items(requester_client, project["id"], texts(11),
                                              HTTP_IDEMPOTENCY_KEY="big"))

    assert first.status_code == second.status_code == 202
    assert second.json()["import_id"] == first.json()["import_id"]
    assert second["Idempotent-Replayed"] == "true"
    assert ItemImport.objects.count() == 1
    assert Item.objects.filter(project_id=project["id"]).count() == 11
    assert Task.objects.filter(project_id=project["id"]).count() == 6


# --- CSV as people save it (issue 10) -------------------------------------------------------

def test_semicolon_csv_is_read_with_its_delimiter(requester_client, project):
    content = "external_id;text;lang\nx1;hello, world;en\nx2;bonjour;fr\n"

    response = post_file(requester_client, items_url(project["id"]), "items.csv", content)

    assert response.status_code == 201, response.json()
    items = Item.objects.filter(project_id=project["id"]).order_by("id")
    assert [(item.external_id, item.data) for item in items] == [
        ("x1", {"text": "hello, world", "lang": "en"}), ("x2", {"text": "bonjour", "lang": "fr"})]


def test_csv_gold_answers_are_read_by_the_label_config(requester_client):
    numeric = make_project(requester_client, label_config={"choices": ["1", "2", "3"]})
    rating = make_project(requester_client, task_type="rating",
                          label_config={"min": 1, "max": 5})
    multi = make_project(requester_client, task_type="multi_choice",
                         label_config={"choices": ["a", "b", "c"]})

    for project, content in ((numeric, "text,answer\nfirst,3\nsecond,1\n"),
                             (rating, "text,answer\nfirst,4\nsecond,5\n"),
                             (multi, 'text,answer\nfirst,"[""a"", ""c""]"\n')):
        response = post_file(requester_client, gold_url(project["id"]), "gold.csv", content)
        assert response.status_code == 201, response.json()

    def answers(project):
        return list(Item.objects.filter(project_id=project["id"]).order_by("id")
                    .values_list("gold_answer", flat=True))
    assert answers(numeric) == ["3", "1"]
    assert answers(rating) == [4, 5]
    assert answers(multi) == [["a", "c"]]


def test_csv_gold_answer_that_fits_no_reading_names_the_row(requester_client):
    rating = make_project(requester_client, task_type="rating",
                          label_config={"min": 1, "max": 5})

    response = post_file(requester_client, gold_url(rating["id"]), "gold.csv",
                         "text,answer\nfirst,4\nsecond,9\n")

    error = assert_error(response, 400, "invalid_rows")
    assert list(error["fields"]) == ["rows.3.answer"]
    assert Item.objects.filter(project_id=rating["id"]).count() == 0


def test_ranking_item_with_too_few_options_is_refused(requester_client):
    ranking = make_project(requester_client, task_type="ranking", label_config={"size": 3})

    response = post_items(requester_client, ranking["id"], [
        {"data": {"options": ["x", "y", "z"]}}, {"data": {"options": ["x", "y"]}}])

    error = assert_error(response, 400, "invalid_rows")
    assert error["fields"] == {"rows.2.data": [
        "Ranking items need 'data.options': a list of exactly 3 entries (the project's "
        "label_config size)."]}
    assert_nothing_stored(ranking["id"])
