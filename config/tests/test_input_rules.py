"""The input rules of API.md ("every input") on the inputs the hostile-client review found
answering 500: nesting, NUL and lone surrogates, integers beyond their column, query and
path parameters, upload rows."""
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from config.input_rules import MAX_JSON_DEPTH
from conftest import client_for, project_payload
from marketplace.models import Item, Project, Task
from qa.tests.conftest import claim, eligible_worker, launched_project, served

NUL = "Must not contain the NUL character (\\u0000)."
SURROGATE = "Must not contain a lone UTF-16 surrogate (invalid Unicode)."
TOO_DEEP = f"Nested deeper than {MAX_JSON_DEPTH} levels."
BOMB = "[" * 5000 + "]" * 5000


def _error(response, status_code=400) -> dict:
    assert response.status_code == status_code, response.content
    return response.json()["error"]


# --- 1. nesting ------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/auth/register", "/api/v1/auth/token"])
def test_recursion_bomb_to_anonymous_endpoints_is_a_400(api_client, db, path):
    response = api_client.post(path, data=BOMB, content_type="application/json")

    error = _error(response)
    assert error["code"] == "validation_error"
    assert error["message"] == (
        f"JSON parse error - JSON nested deeper than {MAX_JSON_DEPTH} levels.")


def test_recursion_bomb_to_projects_and_next_task(requester_client, worker_client):
    assert _error(requester_client.post("/api/v1/projects", data=BOMB,
                                        content_type="application/json"))
    assert _error(worker_client.post("/api/v1/worker/tasks/next", data=BOMB,
                                     content_type="application/json"))
    assert Project.objects.count() == 0


def test_nesting_one_level_past_the_limit_names_the_field(requester_client):
    label_config = {"choices": ["a", "b"], "x": []}
    inner = label_config["x"]
    for _ in range(MAX_JSON_DEPTH - 2):  # body 1, label_config 2, x 3, ... deepest 33
        inner.append([])
        inner = inner[0]

    response = requester_client.post("/api/v1/projects",
                                     project_payload(label_config=label_config), format="json")

    path = "label_config.x" + ".0" * (MAX_JSON_DEPTH - 2)
    assert _error(response)["fields"] == {path: [TOO_DEEP]}
    assert Project.objects.count() == 0


def test_nesting_at_the_limit_is_parsed(requester_client):
    deep = {"choices": ["a", "b"]}
    response = requester_client.post("/api/v1/projects", data=json.dumps(
        project_payload(label_config=deep, instructions="x")), content_type="application/json")
    assert response.status_code == 201


# --- 2. NUL and lone surrogates ----------------------------------------------------------

def test_nul_in_label_config_choice_is_a_400_naming_it(requester_client):
    response = requester_client.post("/api/v1/projects", project_payload(
        label_config={"choices": ["ok", "b\u0000ad"]}), format="json")

    assert _error(response)["fields"] == {"label_config.choices.1": [NUL]}
    assert Project.objects.count() == 0


def test_lone_surrogate_in_project_name_is_a_400(requester_client):
    body = json.dumps(project_payload()).replace('"Sentiment"', '"S\\ud800"', 1)

    response = requester_client.post("/api/v1/projects", data=body,
                                     content_type="application/json")

    assert _error(response)["fields"] == {"name": [SURROGATE]}
    assert Project.objects.count() == 0


def test_nul_in_inline_item_data_and_keys(requester_client, project):
    url = f"/api/v1/projects/{project['id']}/items"
    response = requester_client.post(url, {"items": [
        {"data": {"text": "fine"}}, {"data": {"te\u0000xt": "x"}}]}, format="json")

    assert _error(response)["fields"] == {"items.1.data.te\u0000xt": ["Key: " + NUL]}
    response = requester_client.post(url, {"items": [
        {"external_id": "a\u0000", "data": {"text": "x"}}]}, format="json")
    assert _error(response)["fields"] == {"items.0.external_id": [NUL]}
    assert Item.objects.count() == 0


def _upload(client, project_id, name, content: bytes):
    return client.post(f"/api/v1/projects/{project_id}/items",
                       {"file": SimpleUploadedFile(name, content)}, format="multipart")


def test_jsonl_rows_too_deep_or_with_nul_name_the_line(requester_client, project):
    deep = '{"data": {"text": "x", "n": ' + "[" * 5000 + "]" * 5000 + "}}"
    content = ('{"data": {"text": "ok"}}\n' + deep + "\n").encode()

    error = _error(_upload(requester_client, project["id"], "rows.jsonl", content))

    assert error["code"] == "invalid_row"
    assert error["fields"] == {"rows.2": [
        f"invalid JSON (JSON nested deeper than {MAX_JSON_DEPTH} levels.)."]}

    content = b'{"data": {"text": "ok"}}\n{"data": {"text": "a\\u0000b"}}\n'
    error = _error(_upload(requester_client, project["id"], "rows.jsonl", content))
    assert error["fields"] == {"rows.2": ["data.text: " + NUL]}

    content = b'[{"data": {"text": "ok"}}, {"data": {"text": "\\udfff"}}]'
    error = _error(_upload(requester_client, project["id"], "rows.json", content))
    assert error["fields"] == {"rows.2": ["data.text: " + SURROGATE]}
    assert Item.objects.count() == 0


def test_jsonl_rows_past_a_rule_are_named_among_clean_rows(requester_client, project):
    # Row 2 parses (far below the recursion limit) but nests one level too deep, row 3
    # holds an integer past 64 bits: only a walk over those rows finds them, while the
    # clean rows around them skip the walk.
    nested = "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1)
    content = ('{"data": {"text": "ok"}}\n'
               '{"data": {"text": "deep", "n": ' + nested + '}}\n'
               '{"data": {"text": "big", "n": 123456789012345678901}}\n'
               '{"data": {"text": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[ in a string"}}\n').encode()

    error = _error(_upload(requester_client, project["id"], "rows.jsonl", content))

    assert error["code"] == "invalid_row"
    (message,) = error["fields"]["rows.2"]
    assert message.startswith("data.n.0.") and message.endswith(TOO_DEEP)
    assert Item.objects.count() == 0

    content = content.replace(nested.encode(), b"[[1]]")
    error = _error(_upload(requester_client, project["id"], "rows.jsonl", content))
    assert error["fields"] == {"rows.3": [
        "data.n: Integers must lie between -9223372036854775808 and 9223372036854775807."]}

    content = content.replace(b"123456789012345678901", b"12345678901234567")
    response = _upload(requester_client, project["id"], "rows.jsonl", content)
    assert response.status_code == 201, response.content
    assert Item.objects.count() == 4


@pytest.mark.parametrize("text, clean", [
    ("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH, True),
    ("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1), False),
    ('[["' + "[" * 100 + '"]]', True),  # brackets inside a string do not nest
    ('{"a": "x\\u0000"}', False),
    ('{"a": "\\ud800"}', False),
    ('{"a": "\\u00e9"}', True),
    ('{"a": 1234567890123456789}', False),  # 19 digits: walk to be sure
    ('{"a": 123456789012345678}', True),
])
def test_json_text_is_clean_answers_walk_when_a_rule_may_break(text, clean):
    from config.input_rules import json_text_is_clean

    assert json_text_is_clean(text) is clean


@pytest.mark.parametrize("text, clean", [
    ('{"a": "\u00e9é٣٣٣", "n": 123456789012345678}', True),
    # Arabic-Indic and fullwidth digits are not JSON integers: only ASCII runs count.
    ('{"a": "' + "٣" * 25 + "９" * 25 + '"}', True),
    ('{"a": "é' + "9" * 19 + '"}', False),  # in a string too: walk to be sure
    ('{"n": -' + "0" * 19 + "}", False),
    ('{"a": "\\udfff"}', False),
    ('{"a": "\udfff"}', True),  # a raw lone surrogate cannot come out of UTF-8 decoding
])
def test_long_digit_runs_are_found_across_non_ascii_text(text, clean):
    from config.input_rules import json_text_has_no_bad_scalars

    assert json_text_has_no_bad_scalars(text) is clean


@pytest.mark.parametrize("line", [
    '{"data": {"text": "a"}}', '  {"data": 1}\r', '[1, 2]', '"text"', "3", "null",
    '{"data": 1} x', '{"data": 1}{"data": 2}', "", "   ", '{"data": NaN}', "Infinity",
    '{"data": ', "\ufeff{}", "\u00a0{}", "{}\u00a0", "[" * 5000 + "]" * 5000,
])
def test_loads_line_gives_the_value_or_the_error_of_loads(line):
    from config.input_rules import loads, loads_line

    def outcome(parse):
        try:
            return "value", parse(line)
        except ValueError as exc:
            return type(exc).__name__, str(exc)

    assert outcome(loads_line) == outcome(loads)


def test_csv_cell_with_nul_names_the_line(requester_client, project):
    content = b"external_id,text\nc1,fine\nc2,b\x00ad\n"

    error = _error(_upload(requester_client, project["id"], "rows.csv", content))

    assert error["fields"] == {"rows.3": ["text: " + NUL]}
    assert Item.objects.count() == 0


def test_nul_in_a_text_answer_at_submit_is_a_400(requester):
    project = launched_project(requester, task_type="text", label_config={"max_length": 50})
    profile = eligible_worker("texter@workers.example")
    assignment = claim(profile, project)
    client = client_for(profile.user)
    answers = [{"item_id": answer.pk, "value": "x\u0000y"} for answer in served(assignment)]

    response = client.post(f"/api/v1/worker/assignments/{assignment.pk}/submit",
                           {"answers": answers}, format="json")

    assert _error(response)["fields"] == {"answers.0.value": [NUL]}
    assignment.refresh_from_db()
    assert assignment.status == "assigned"
    assert assignment.submitted_at is None


# --- 3. query and path parameters ---------------------------------------------------------

@pytest.mark.parametrize(("persona", "path"), [
    ("requester", "/api/v1/projects"),
    ("worker", "/api/v1/worker/assignments"),
    ("staff", "/api/v1/admin/applications"),
    ("staff", "/api/v1/admin/workers"),
    ("staff", "/api/v1/admin/disputes"),
    ("staff", "/api/v1/admin/payouts"),
    ("staff", "/api/v1/admin/payouts/export.csv"),
])
def test_nul_and_unknown_status_filters_are_400(request, persona, path):
    client = request.getfixturevalue(f"{persona}_client")

    response = client.get(path + "?status=%00")
    assert _error(response)["fields"] == {"status": [NUL]}

    error = _error(client.get(path + "?status=no-such-status"))
    assert error["code"] == "validation_error"
    assert list(error["fields"]) == ["status"]
    assert error["fields"]["status"][0].startswith("Choose from ")


def test_project_assignments_status_filter(requester, requester_client):
    project = launched_project(requester)
    url = f"/api/v1/projects/{project.pk}/assignments"
    assert _error(requester_client.get(url + "?status=%00"))["fields"] == {"status": [NUL]}
    assert list(_error(requester_client.get(url + "?status=nope"))["fields"]) == ["status"]
    assert requester_client.get(url + "?status=submitted").status_code == 200


def test_bad_boolean_filter_is_a_400(requester_client, project):
    response = requester_client.get(f"/api/v1/projects/{project['id']}/items?is_gold=maybe")

    assert _error(response)["fields"] == {"is_gold": ["Must be true or false."]}


# --- 4. integers beyond their column -------------------------------------------------------

@pytest.mark.parametrize("value", [9223372036854775808, 99999999999999999999999])
def test_budget_beyond_bigint_is_a_400_on_create_and_patch(requester_client, project, value):
    response = requester_client.post("/api/v1/projects",
                                     project_payload(budget_cents=value), format="json")
    assert list(_error(response)["fields"]) == ["budget_cents"]

    response = requester_client.patch(f"/api/v1/projects/{project['id']}",
                                      {"budget_cents": value}, format="json")
    assert list(_error(response)["fields"]) == ["budget_cents"]
    assert Project.objects.get().budget_cents is None


def test_next_task_with_a_huge_project_id(worker_client):
    response = worker_client.post("/api/v1/worker/tasks/next",
                                  {"project_id": 9223372036854775808}, format="json")
    assert list(_error(response)["fields"]) == ["project_id"]

    response = worker_client.post("/api/v1/worker/tasks/next",
                                  {"project_id": 9223372036854775807}, format="json")
    assert response.status_code < 500
    assert Task.objects.count() == 0


# --- the net under all of it -----------------------------------------------------------------

def test_database_errors_are_logged_with_the_request_id_and_counted(
        requester_client, monkeypatch, caplog):
    from django.db import DataError

    def broken(*args, **kwargs):
        raise DataError("invalid byte sequence")

    monkeypatch.setattr("marketplace.selectors.project_list", broken)

    response = requester_client.get("/api/v1/projects", HTTP_X_REQUEST_ID="req-42")

    assert response.status_code == 500
    assert response.json() == {"error": {"code": "server_error",
                                         "message": "Internal server error.", "fields": {}}}
    logged = [record for record in caplog.records
              if record.name == "quorum.database_errors"]
    assert [record.fields["request_id"] for record in logged] == ["req-42"]
    assert logged[0].fields["error_type"] == "DataError"
    metrics = requester_client.get("/healthz/metrics").json()
    assert metrics == {"database_errors": {"total": 1, "by_type": {"DataError": 1}}}
