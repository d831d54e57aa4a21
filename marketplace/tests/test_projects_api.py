"""Requester project API: create, list, detail, edit, status transitions, items, and who may
call what. Every refused request also checks that nothing was written."""
import pytest
from conftest import fund_organization, project_payload

from marketplace.models import Item, Project, ProjectSkillRequirement, Task

PROJECTS = "/api/v1/projects"

VALID_CONFIGS = {
    "single_choice": {"choices": ["positive", "negative"]},
    "multi_choice": {"choices": ["red", "green", "blue"]},
    "rating": {"min": 1, "max": 5},
    "text": {"max_length": 500},
    "spans": {"labels": ["PER", "ORG"]},
    "bbox": {"labels": ["cat", "dog"]},
    "pairwise": {"allow_tie": True},
    "ranking": {"size": 3},
}


# --- helpers ---------------------------------------------------------------------------


def _url(project_id, action: str = "") -> str:
    return f"{PROJECTS}/{project_id}" + (f"/{action}" if action else "")


def _payload_without(*keys, **overrides) -> dict:
    payload = project_payload(**overrides)
    for key in keys:
        payload.pop(key)
    return payload


def _assert_error(response, status: int, code: str, fields: dict | None = None) -> dict:
    """The contract's error shape, exactly: {"error": {"code", "message", "fields"}}."""
    assert response.status_code == status, response.json()
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if fields is not None:
        assert body["error"]["fields"] == fields
    return body["error"]


def _snapshot(project_id) -> dict:
    """Everything a refused request must leave alone (updated_at moves on any save)."""
    row = Project.objects.filter(pk=project_id).values().get()
    row["skills"] = sorted(ProjectSkillRequirement.objects.filter(project_id=project_id)
                           .values_list("skill__slug", "min_level"))
    row["items"] = sorted(Item.objects.filter(project_id=project_id)
                          .values_list("id", "is_gold", "task_id"))
    row["tasks"] = sorted(Task.objects.filter(project_id=project_id).values_list("id", flat=True))
    return row


def _upload(client, project_id, count: int = 3):
    response = client.post(_url(project_id, "items"),
                           {"items": [{"data": {"text": f"text {i}"}} for i in range(count)]},
                           format="json")
    assert response.status_code == 201, response.json()
    return response


def _upload_gold(client, project_id, answers: list):
    response = client.post(_url(project_id, "gold"), {"items": [
        {"data": {"text": f"gold {i}"}, "answer": answer} for i, answer in enumerate(answers)
    ]}, format="json")
    assert response.status_code == 201, response.json()
    return response


def _bring_to(client, project_id, status: str) -> None:
    """Move a fresh draft (any items it needs are uploaded here) to ``status``."""
    if status == "draft":
        return
    _upload(client, project_id)
    if status == "cancelled":
        assert client.post(_url(project_id, "cancel")).status_code == 200
        return
    if status == "completed":
        # Only the system completes projects; there is no requester call for it.
        Project.objects.filter(pk=project_id).update(status="completed")
        return
    fund_organization(Project.objects.get(pk=project_id).organization)
    assert client.post(_url(project_id, "launch")).status_code == 200
    if status == "paused":
        assert client.post(_url(project_id, "pause")).status_code == 200
    assert Project.objects.get(pk=project_id).status == status


# --- create ----------------------------------------------------------------------------


def test_create_returns_a_draft_echoing_every_named_field(requester_client, requester):
    body = project_payload(
        name="Invoices", instructions="Read the invoice.", task_type="multi_choice",
        label_config={"choices": ["total", "tax", "date"]},
        required_skills=[{"skill": "financial-statements", "min_level": 40},
                         {"skill": "fraud-detection", "min_level": 10}],
        domain="finance", sensitivity="confidential", pay_model="per_task", reward_cents=25,
        items_per_task=5, gold_per_task=1, overlap=2, max_overlap=4, confidence_target=0.8,
        min_gold_accuracy=0.7, assignment_duration_seconds=1800, auto_approve_seconds=86400,
        budget_cents=500_000, priority=3)

    response = requester_client.post(PROJECTS, body, format="json")

    assert response.status_code == 201, response.json()
    created = response.json()
    assert isinstance(created["id"], int)
    assert created["status"] == "draft"
    assert created["launched_at"] is None
    assert created["hourly_rate_cents"] is None
    assert created["max_seconds_per_assignment"] is None
    assert {name: created[name] for name in body} == body
    project = Project.objects.get(pk=created["id"])
    assert project.organization == requester.membership.organization
    assert project.created_by == requester
    assert project.status == "draft"
    assert project.domain.slug == "finance"
    assert sorted(project.skill_requirements.values_list("skill__slug", "min_level")) == [
        ("financial-statements", 40), ("fraud-detection", 10)]


def test_create_fills_in_defaults(requester_client):
    body = {"name": "Minimal", "task_type": "rating", "label_config": {"min": 1, "max": 3},
            "pay_model": "per_task", "reward_cents": 1}

    response = requester_client.post(PROJECTS, body, format="json")

    assert response.status_code == 201, response.json()
    created = response.json()
    assert {name: created[name] for name in (
        "instructions", "required_skills", "domain", "sensitivity", "reward_cents",
        "hourly_rate_cents", "max_seconds_per_assignment", "items_per_task", "gold_per_task",
        "overlap", "max_overlap", "confidence_target", "min_gold_accuracy",
        "assignment_duration_seconds", "auto_approve_seconds", "budget_cents", "priority",
        "status")} == {
        "instructions": "", "required_skills": [], "domain": None, "sensitivity": "public",
        "reward_cents": 1, "hourly_rate_cents": None, "max_seconds_per_assignment": None,
        "items_per_task": 1, "gold_per_task": 0, "overlap": 1, "max_overlap": 1,
        "confidence_target": None, "min_gold_accuracy": None,
        "assignment_duration_seconds": 3600, "auto_approve_seconds": 3 * 24 * 3600,
        "budget_cents": None, "priority": 0, "status": "draft"}
    assert {name: created[name] for name in (
        "estimated_seconds_per_task", "min_effective_hourly_cents",
        "rejection_ceiling_percent")} == {
        "estimated_seconds_per_task": None, "min_effective_hourly_cents": None,
        "rejection_ceiling_percent": 10}


def test_create_refuses_zero_reward_per_task(requester_client):
    body = {"name": "Free labour", "task_type": "rating", "label_config": {"min": 1, "max": 3},
            "pay_model": "per_task", "reward_cents": 0}

    response = requester_client.post(PROJECTS, body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "reward_cents": ["Must be at least 1 cent when pay_model is per_task."]}
    assert not Project.objects.filter(name="Free labour").exists()


def test_create_defaults_max_overlap_to_overlap(requester_client):
    response = requester_client.post(PROJECTS, project_payload(overlap=4), format="json")

    assert response.status_code == 201, response.json()
    assert (response.json()["overlap"], response.json()["max_overlap"]) == (4, 4)


def test_create_min_level_defaults_to_zero(requester_client):
    response = requester_client.post(
        PROJECTS, project_payload(required_skills=[{"skill": "sentiment-en"}]), format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["required_skills"] == [{"skill": "sentiment-en", "min_level": 0}]


def test_create_hourly_project(requester_client):
    response = requester_client.post(PROJECTS, _payload_without(
        "reward_cents", pay_model="hourly", hourly_rate_cents=1800,
        max_seconds_per_assignment=900), format="json")

    assert response.status_code == 201, response.json()
    created = response.json()
    assert (created["pay_model"], created["hourly_rate_cents"],
            created["max_seconds_per_assignment"], created["reward_cents"]) == (
        "hourly", 1800, 900, None)


@pytest.mark.parametrize("task_type", sorted(VALID_CONFIGS))
def test_create_accepts_every_task_type_with_a_valid_label_config(requester_client, task_type):
    response = requester_client.post(PROJECTS, project_payload(
        task_type=task_type, label_config=VALID_CONFIGS[task_type]), format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["task_type"] == task_type
    assert response.json()["label_config"] == VALID_CONFIGS[task_type]
    assert Project.objects.get(pk=response.json()["id"]).label_config == VALID_CONFIGS[task_type]


@pytest.mark.parametrize("task_type, label_config, problem", [
    ("single_choice", {"choices": ["only"]}, "'choices' needs at least 2 entries."),
    ("single_choice", {"labels": ["a", "b"]}, "Unknown key(s) for this task type: labels."),
    ("multi_choice", {"choices": ["a", "b", "a"]}, "'choices' has duplicate entries."),
    ("rating", {"min": 5, "max": 1}, "'min' must be less than 'max'."),
    ("rating", {"min": True, "max": 5}, "'min' and 'max' must be integers."),
    ("text", {"max_length": 0}, "'max_length' must be an integer from 1 to 100000."),
    ("spans", {"labels": []}, "'labels' needs at least 1 entries."),
    ("bbox", {"labels": ["cat"], "colors": ["red"]},
     "Unknown key(s) for this task type: colors."),
    ("pairwise", {"allow_tie": "yes"}, "'allow_tie' must be true or false."),
    ("ranking", {"size": 1}, "'size' must be an integer from 2 to 100."),
    ("ranking", "size=3", "label_config must be an object."),
])
def test_create_rejects_an_invalid_label_config(requester_client, task_type, label_config,
                                                problem):
    response = requester_client.post(PROJECTS, project_payload(
        task_type=task_type, label_config=label_config), format="json")

    error = _assert_error(response, 400, "validation_error")
    assert error["fields"]["label_config"][0] == problem
    assert Project.objects.count() == 0


@pytest.mark.parametrize("task_type", sorted(VALID_CONFIGS))
def test_create_rejects_another_task_types_label_config(requester_client, task_type):
    other = "rating" if task_type != "rating" else "text"

    response = requester_client.post(PROJECTS, project_payload(
        task_type=task_type, label_config=VALID_CONFIGS[other]), format="json")

    error = _assert_error(response, 400, "validation_error")
    assert list(error["fields"]) == ["label_config"]
    assert Project.objects.count() == 0


GE_0 = "Ensure this value is greater than or equal to 0."
GE_1 = "Ensure this value is greater than or equal to 1."
NOT_INT = "A valid integer is required."


@pytest.mark.parametrize("body, fields", [
    # counts
    (project_payload(overlap=0), {"overlap": [GE_1]}),
    (project_payload(overlap=-2), {"overlap": [GE_1]}),
    (project_payload(overlap=True), {"overlap": [NOT_INT]}),
    (project_payload(overlap="three"), {"overlap": [NOT_INT]}),
    (project_payload(overlap=3, max_overlap=2),
     {"max_overlap": ["Must be greater than or equal to overlap."]}),
    (project_payload(max_overlap=0), {"max_overlap": [GE_1]}),
    (project_payload(overlap=1, max_overlap=3),
     {"confidence_target": ["Required when max_overlap is above overlap."]}),
    (project_payload(items_per_task=0), {"items_per_task": [GE_1]}),
    (project_payload(items_per_task=False), {"items_per_task": [NOT_INT]}),
    (project_payload(gold_per_task=-1), {"gold_per_task": [GE_0]}),
    # money
    (project_payload(reward_cents=-1), {"reward_cents": [GE_0]}),
    (project_payload(reward_cents=10.5), {"reward_cents": [NOT_INT]}),
    (project_payload(budget_cents=-100), {"budget_cents": [GE_0]}),
    (_payload_without("reward_cents", pay_model="hourly", hourly_rate_cents=-1,
                      max_seconds_per_assignment=600), {"hourly_rate_cents": [GE_0]}),
    # fractions
    (project_payload(min_gold_accuracy=1.5),
     {"min_gold_accuracy": ["Ensure this value is less than or equal to 1.0."]}),
    (project_payload(min_gold_accuracy=-0.1),
     {"min_gold_accuracy": ["Ensure this value is greater than or equal to 0.0."]}),
    (project_payload(overlap=1, max_overlap=3, confidence_target=1.2),
     {"confidence_target": ["Ensure this value is less than or equal to 1.0."]}),
    # durations
    (project_payload(assignment_duration_seconds=10),
     {"assignment_duration_seconds": ["Ensure this value is greater than or equal to 30."]}),
    (project_payload(assignment_duration_seconds=8 * 24 * 3600),
     {"assignment_duration_seconds": ["Ensure this value is less than or equal to 604800."]}),
    # skills and domain
    (project_payload(required_skills=[{"skill": "astrology", "min_level": 10}]),
     {"required_skills.0.skill": ["Unknown skill 'astrology'."]}),
    (project_payload(required_skills=[{"skill": "sentiment-en", "min_level": 10},
                                      {"skill": "palmistry", "min_level": 10}]),
     {"required_skills.1.skill": ["Unknown skill 'palmistry'."]}),
    (project_payload(required_skills=[{"skill": "sentiment-en"}, {"skill": "sentiment-en"}]),
     {"required_skills": ["Each skill may appear once."]}),
    (project_payload(required_skills=[{"skill": "sentiment-en", "min_level": 101}]),
     {"required_skills.0.min_level": ["Ensure this value is less than or equal to 100."]}),
    (project_payload(required_skills=[{"min_level": 10}]),
     {"required_skills.0.skill": ["This field is required."]}),
    (project_payload(domain="astrology"), {"domain": ["Unknown domain."]}),
    # pay models
    (_payload_without("reward_cents"),
     {"reward_cents": ["Required when pay_model is per_task."]}),
    (project_payload(reward_cents=None),
     {"reward_cents": ["Required when pay_model is per_task."]}),
    (_payload_without("reward_cents", pay_model="hourly"),
     {"hourly_rate_cents": ["Required when pay_model is hourly."],
      "max_seconds_per_assignment": ["Required when pay_model is hourly."]}),
    (_payload_without("reward_cents", pay_model="hourly", hourly_rate_cents=1500),
     {"max_seconds_per_assignment": ["Required when pay_model is hourly."]}),
    (_payload_without("reward_cents", pay_model="hourly", max_seconds_per_assignment=600),
     {"hourly_rate_cents": ["Required when pay_model is hourly."]}),
    (_payload_without("reward_cents", pay_model="hourly", hourly_rate_cents=1500,
                      max_seconds_per_assignment=7200, assignment_duration_seconds=3600),
     {"max_seconds_per_assignment": ["Cannot exceed assignment_duration_seconds."]}),
    (project_payload(pay_model="piecework"),
     {"pay_model": ['"piecework" is not a valid choice.']}),
    # enums and plain fields
    (project_payload(task_type="polygon"), {"task_type": ['"polygon" is not a valid choice.']}),
    (project_payload(sensitivity="secret"),
     {"sensitivity": ['"secret" is not a valid choice.']}),
    (project_payload(name=""), {"name": ["This field may not be blank."]}),
    (project_payload(name="x" * 201),
     {"name": ["Ensure this field has no more than 200 characters."]}),
    (project_payload(label_config=None), {"label_config": ["This field may not be null."]}),
    # unknown fields are refused, not ignored
    (project_payload(status="active", colour="red"),
     {"colour": ["Unknown field."], "status": ["Unknown field."]}),
    (project_payload(id=99), {"id": ["Unknown field."]}),
    ({}, {"name": ["This field is required."], "task_type": ["This field is required."],
          "label_config": ["This field is required."],
          "pay_model": ["This field is required."]}),
])
def test_create_rejects_invalid_input_and_stores_nothing(requester_client, body, fields):
    response = requester_client.post(PROJECTS, body, format="json")

    _assert_error(response, 400, "validation_error", fields)
    assert Project.objects.count() == 0
    assert ProjectSkillRequirement.objects.count() == 0


def test_create_error_message_names_the_first_problem(requester_client):
    response = requester_client.post(PROJECTS, project_payload(overlap=0), format="json")

    assert response.json() == {"error": {
        "code": "validation_error",
        "message": "Invalid input: overlap: Ensure this value is greater than or equal to 1.",
        "fields": {"overlap": ["Ensure this value is greater than or equal to 1."]}}}


@pytest.mark.parametrize("body", [[project_payload()], "a project", 42])
def test_create_rejects_a_body_that_is_not_an_object(requester_client, body):
    response = requester_client.post(PROJECTS, body, format="json")

    _assert_error(response, 400, "validation_error")
    assert Project.objects.count() == 0


def test_create_rejects_malformed_json(requester_client):
    response = requester_client.post(PROJECTS, '{"name": ', content_type="application/json")

    _assert_error(response, 400, "validation_error")
    assert Project.objects.count() == 0


def test_create_with_the_same_idempotency_key_creates_one_project(requester_client):
    first = requester_client.post(PROJECTS, project_payload(), format="json",
                                  HTTP_IDEMPOTENCY_KEY="create-sentiment-1")
    second = requester_client.post(PROJECTS, project_payload(), format="json",
                                   HTTP_IDEMPOTENCY_KEY="create-sentiment-1")

    assert first.status_code == 201, first.json()
    assert second.status_code == 201, second.json()
    assert second.json() == first.json()
    assert Project.objects.count() == 1


# --- list and detail -------------------------------------------------------------------


def test_list_shows_only_the_organizations_projects_newest_first(
        requester_client, other_requester_client):
    for name in ("first", "second", "third"):
        assert requester_client.post(PROJECTS, project_payload(name=name),
                                     format="json").status_code == 201
    assert other_requester_client.post(PROJECTS, project_payload(name="globex"),
                                       format="json").status_code == 201

    response = requester_client.get(PROJECTS)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert (body["count"], body["next"], body["previous"]) == (3, None, None)
    assert [project["name"] for project in body["results"]] == ["third", "second", "first"]
    assert [p["name"] for p in other_requester_client.get(PROJECTS).json()["results"]] == [
        "globex"]


def test_list_results_are_full_projects(requester_client, project):
    response = requester_client.get(PROJECTS)

    assert response.json()["results"] == [project]


def test_list_is_paged_by_page_size(requester_client):
    for index in range(3):
        requester_client.post(PROJECTS, project_payload(name=f"p{index}"), format="json")

    first = requester_client.get(PROJECTS, {"page_size": 2}).json()
    second = requester_client.get(PROJECTS, {"page_size": 2, "page": 2}).json()

    assert first["count"] == 3
    assert [p["name"] for p in first["results"]] == ["p2", "p1"]
    assert first["previous"] is None
    assert first["next"] == "http://testserver/api/v1/projects?page=2&page_size=2"
    assert second["count"] == 3
    assert [p["name"] for p in second["results"]] == ["p0"]
    assert second["next"] is None
    assert second["previous"] == "http://testserver/api/v1/projects?page_size=2"


def test_list_filters_by_status(requester_client, project):
    requester_client.post(PROJECTS, project_payload(name="to cancel"), format="json")
    cancelled_id = Project.objects.get(name="to cancel").pk
    requester_client.post(_url(cancelled_id, "cancel"))

    drafts = requester_client.get(PROJECTS, {"status": "draft"}).json()
    cancelled = requester_client.get(PROJECTS, {"status": "cancelled"}).json()

    assert [p["id"] for p in drafts["results"]] == [project["id"]]
    assert [p["id"] for p in cancelled["results"]] == [cancelled_id]


def test_detail_returns_the_project(requester_client, project):
    response = requester_client.get(_url(project["id"]))

    assert response.status_code == 200
    assert response.json() == project


@pytest.mark.parametrize("project_id", [999_999, 0])
def test_detail_of_a_missing_project_is_404(requester_client, project_id):
    response = requester_client.get(_url(project_id))

    _assert_error(response, 404, "not_found", {})


# --- PATCH -----------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["draft", "active", "paused"])
def test_name_and_instructions_are_editable_while_open(requester_client, project, status):
    _bring_to(requester_client, project["id"], status)

    response = requester_client.patch(_url(project["id"]), {
        "name": "Sentiment v2", "instructions": "Read twice."}, format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["name"], response.json()["instructions"],
            response.json()["status"]) == ("Sentiment v2", "Read twice.", status)
    project_row = Project.objects.get(pk=project["id"])
    assert (project_row.name, project_row.instructions) == ("Sentiment v2", "Read twice.")


def test_patch_leaves_fields_it_does_not_name(requester_client, project):
    response = requester_client.patch(_url(project["id"]), {"priority": 7}, format="json")

    assert response.status_code == 200, response.json()
    expected = dict(project, priority=7)
    assert {k: v for k, v in response.json().items() if k != "updated_at"} == {
        k: v for k, v in expected.items() if k != "updated_at"}


def test_patch_replaces_required_skills_and_domain(requester_client, project):
    response = requester_client.patch(_url(project["id"]), {
        "required_skills": [{"skill": "translation-de", "min_level": 70}],
        "domain": None}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["required_skills"] == [{"skill": "translation-de", "min_level": 70}]
    assert response.json()["domain"] is None
    assert list(ProjectSkillRequirement.objects.filter(project_id=project["id"])
                .values_list("skill__slug", "min_level")) == [("translation-de", 70)]


# Pay and overlap changes: (body, what the project then shows, the 409's fields when active)
PAY_CHANGES = [
    ({"reward_cents": 25}, {"reward_cents": 25}, ["reward_cents"]),
    ({"overlap": 5}, {"overlap": 5, "max_overlap": 5}, ["max_overlap", "overlap"]),
    ({"max_overlap": 6, "confidence_target": 0.8}, {"max_overlap": 6, "confidence_target": 0.8},
     ["confidence_target", "max_overlap"]),
    ({"confidence_target": 0.9}, {"confidence_target": 0.9}, ["confidence_target"]),
    ({"gold_per_task": 1}, {"gold_per_task": 1}, ["gold_per_task"]),
    ({"budget_cents": 100_000}, {"budget_cents": 100_000}, ["budget_cents"]),
    ({"pay_model": "hourly", "hourly_rate_cents": 1500, "max_seconds_per_assignment": 600},
     {"pay_model": "hourly", "hourly_rate_cents": 1500, "max_seconds_per_assignment": 600},
     ["hourly_rate_cents", "max_seconds_per_assignment", "pay_model"]),
]


@pytest.mark.parametrize("status", ["draft", "paused"])
@pytest.mark.parametrize("body, expected, _", PAY_CHANGES)
def test_pay_and_overlap_fields_are_editable_in_draft_and_paused(
        requester_client, project, status, body, expected, _):
    _bring_to(requester_client, project["id"], status)

    response = requester_client.patch(_url(project["id"]), body, format="json")

    assert response.status_code == 200, response.json()
    assert {name: response.json()[name] for name in expected} == expected
    row = Project.objects.filter(pk=project["id"]).values(*expected).get()
    assert row == expected


@pytest.mark.parametrize("body, _, locked", PAY_CHANGES)
def test_pay_and_overlap_fields_are_locked_while_active(requester_client, project, body, _,
                                                        locked):
    _bring_to(requester_client, project["id"], "active")
    before = _snapshot(project["id"])

    response = requester_client.patch(_url(project["id"]), body, format="json")

    _assert_error(response, 409, "project_not_editable",
                  {name: ["Pause the project first."] for name in locked})
    assert _snapshot(project["id"]) == before


def test_active_project_accepts_pay_fields_that_do_not_change(requester_client, project):
    _bring_to(requester_client, project["id"], "active")

    response = requester_client.patch(_url(project["id"]), {
        "reward_cents": 10, "overlap": 3, "name": "Renamed"}, format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["reward_cents"], response.json()["overlap"],
            response.json()["name"]) == (10, 3, "Renamed")


def test_active_project_refuses_a_mixed_patch_entirely(requester_client, project):
    _bring_to(requester_client, project["id"], "active")
    before = _snapshot(project["id"])

    response = requester_client.patch(_url(project["id"]), {
        "name": "Renamed", "reward_cents": 99}, format="json")

    _assert_error(response, 409, "project_not_editable")
    assert _snapshot(project["id"]) == before


def test_raising_overlap_above_max_overlap_raises_max_overlap(requester_client, project):
    requester_client.patch(_url(project["id"]), {"max_overlap": 4, "confidence_target": 0.9},
                           format="json")

    response = requester_client.patch(_url(project["id"]), {"overlap": 6}, format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["overlap"], response.json()["max_overlap"]) == (6, 6)


def test_lowering_overlap_keeps_adaptive_overlap_off(requester_client, project):
    # Created with overlap 3 and no max_overlap: max_overlap followed overlap to 3.
    response = requester_client.patch(_url(project["id"]), {"overlap": 1}, format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["overlap"], response.json()["max_overlap"],
            response.json()["confidence_target"]) == (1, 1, None)


def test_changing_overlap_keeps_an_adaptive_max_overlap(requester_client, project):
    requester_client.patch(_url(project["id"]), {"max_overlap": 6, "confidence_target": 0.9},
                           format="json")

    response = requester_client.patch(_url(project["id"]), {"overlap": 2}, format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["overlap"], response.json()["max_overlap"]) == (2, 6)


@pytest.mark.parametrize("body", [
    {"task_type": "rating", "label_config": {"min": 1, "max": 5}},
    {"label_config": {"choices": ["yes", "no"]}},
    {"items_per_task": 4},
])
def test_structure_is_editable_on_a_draft_without_items(requester_client, project, body):
    response = requester_client.patch(_url(project["id"]), body, format="json")

    assert response.status_code == 200, response.json()
    assert {name: response.json()[name] for name in body} == body
    assert Project.objects.filter(pk=project["id"]).values(*body).get() == body


STRUCTURE_CHANGES = [
    ({"task_type": "rating", "label_config": {"min": 1, "max": 5}},
     {"label_config": ["Items already exist."], "task_type": ["Items already exist."]}),
    ({"label_config": {"choices": ["yes", "no"]}}, {"label_config": ["Items already exist."]}),
    ({"items_per_task": 4}, {"items_per_task": ["Items already exist."]}),
]


@pytest.mark.parametrize("body, fields", STRUCTURE_CHANGES)
def test_structure_is_locked_once_items_exist(requester_client, project, body, fields):
    _upload(requester_client, project["id"], 1)
    before = _snapshot(project["id"])

    response = requester_client.patch(_url(project["id"]), body, format="json")

    _assert_error(response, 409, "project_not_editable", fields)
    assert _snapshot(project["id"]) == before


@pytest.mark.parametrize("body, fields", STRUCTURE_CHANGES)
def test_structure_is_locked_once_gold_items_exist(requester_client, project, body, fields):
    _upload_gold(requester_client, project["id"], ["positive"])
    before = _snapshot(project["id"])

    response = requester_client.patch(_url(project["id"]), body, format="json")

    _assert_error(response, 409, "project_not_editable", fields)
    assert _snapshot(project["id"]) == before


@pytest.mark.parametrize("status", ["active", "paused"])
@pytest.mark.parametrize("body, fields", STRUCTURE_CHANGES)
def test_structure_is_locked_after_launch(requester_client, project, status, body, fields):
    _bring_to(requester_client, project["id"], status)
    before = _snapshot(project["id"])

    response = requester_client.patch(_url(project["id"]), body, format="json")

    _assert_error(response, 409, "project_not_editable", fields)
    assert _snapshot(project["id"]) == before


@pytest.mark.parametrize("status", ["cancelled", "completed"])
@pytest.mark.parametrize("body", [
    {"name": "Renamed"}, {"reward_cents": 50}, {"label_config": {"choices": ["y", "n"]}},
    {"required_skills": []}, {},
])
def test_closed_projects_cannot_be_edited(requester_client, project, status, body):
    _bring_to(requester_client, project["id"], status)
    before = _snapshot(project["id"])

    response = requester_client.patch(_url(project["id"]), body, format="json")

    error = _assert_error(response, 409, "project_closed", {})
    assert error["message"] == f"A {status} project cannot be edited."
    assert _snapshot(project["id"]) == before


@pytest.mark.parametrize("body, fields", [
    ({"overlap": 0}, {"overlap": [GE_1]}),
    ({"items_per_task": 0}, {"items_per_task": [GE_1]}),
    ({"reward_cents": -5}, {"reward_cents": [GE_0]}),
    ({"reward_cents": None}, {"reward_cents": ["Required when pay_model is per_task."]}),
    ({"max_overlap": 1}, {"max_overlap": ["Must be greater than or equal to overlap."]}),
    ({"label_config": {"choices": ["only"]}},
     {"label_config": ["'choices' needs at least 2 entries."]}),
    ({"task_type": "rating"}, {"label_config": ["'min' and 'max' must be integers."]}),
    ({"pay_model": "hourly"}, {"hourly_rate_cents": ["Required when pay_model is hourly."],
                               "max_seconds_per_assignment": [
                                   "Required when pay_model is hourly."]}),
    ({"required_skills": [{"skill": "astrology"}]},
     {"required_skills.0.skill": ["Unknown skill 'astrology'."]}),
    ({"domain": "astrology"}, {"domain": ["Unknown domain."]}),
    ({"min_gold_accuracy": 2}, {"min_gold_accuracy": [
        "Ensure this value is less than or equal to 1.0."]}),
    ({"status": "active"}, {"status": ["Unknown field."]}),
    ({"name": None}, {"name": ["This field may not be null."]}),
])
def test_patch_rejects_invalid_changes_and_changes_nothing(requester_client, project, body,
                                                           fields):
    before = _snapshot(project["id"])

    response = requester_client.patch(_url(project["id"]), body, format="json")

    _assert_error(response, 400, "validation_error", fields)
    assert _snapshot(project["id"]) == before


def test_patch_with_bad_skills_keeps_the_other_changes_out(requester_client, project):
    before = _snapshot(project["id"])

    response = requester_client.patch(_url(project["id"]), {
        "name": "Renamed", "required_skills": [{"skill": "astrology"}]}, format="json")

    _assert_error(response, 400, "validation_error")
    assert _snapshot(project["id"]) == before


# --- transitions -----------------------------------------------------------------------


@pytest.mark.parametrize("status, action, target", [
    ("draft", "launch", "active"),
    ("draft", "cancel", "cancelled"),
    ("active", "pause", "paused"),
    ("active", "cancel", "cancelled"),
    ("paused", "resume", "active"),
    ("paused", "cancel", "cancelled"),
])
def test_legal_transition(requester_client, project, status, action, target):
    _bring_to(requester_client, project["id"], status)
    if status == "draft":
        _upload(requester_client, project["id"])
        fund_organization(Project.objects.get(pk=project["id"]).organization)

    response = requester_client.post(_url(project["id"], action))

    assert response.status_code == 200, response.json()
    assert response.json()["id"] == project["id"]
    assert response.json()["status"] == target
    assert Project.objects.get(pk=project["id"]).status == target


def test_launch_stamps_launched_at_and_resume_keeps_it(requester_client, project):
    _upload(requester_client, project["id"])
    fund_organization(Project.objects.get(pk=project["id"]).organization)

    launched = requester_client.post(_url(project["id"], "launch")).json()
    requester_client.post(_url(project["id"], "pause"))
    resumed = requester_client.post(_url(project["id"], "resume")).json()

    assert launched["launched_at"] is not None
    assert resumed["launched_at"] == launched["launched_at"]
    assert Project.objects.get(pk=project["id"]).launched_at is not None


@pytest.mark.parametrize("status, action", [
    ("draft", "pause"),
    ("draft", "resume"),
    ("active", "launch"),
    ("active", "resume"),
    ("paused", "launch"),
    ("paused", "pause"),
    ("cancelled", "launch"),
    ("cancelled", "pause"),
    ("cancelled", "resume"),
    ("cancelled", "cancel"),
    ("completed", "launch"),
    ("completed", "pause"),
    ("completed", "resume"),
    ("completed", "cancel"),
])
def test_illegal_transition_is_409_and_changes_nothing(requester_client, project, status,
                                                       action):
    _bring_to(requester_client, project["id"], status)
    before = _snapshot(project["id"])

    response = requester_client.post(_url(project["id"], action))

    error = _assert_error(response, 409, "illegal_transition", {})
    assert error["message"] == f"Cannot {action} a project that is {status}."
    assert _snapshot(project["id"]) == before


def test_launch_without_items_is_409_no_items(requester_client, project):
    before = _snapshot(project["id"])

    response = requester_client.post(_url(project["id"], "launch"))

    assert response.json() == {"error": {
        "code": "no_items", "message": "Upload at least one item before launching.",
        "fields": {}}}
    assert response.status_code == 409
    assert _snapshot(project["id"]) == before


def test_launch_with_only_gold_items_is_409_no_items(requester_client, project):
    _upload_gold(requester_client, project["id"], ["positive"])
    before = _snapshot(project["id"])

    response = requester_client.post(_url(project["id"], "launch"))

    _assert_error(response, 409, "no_items", {})
    assert _snapshot(project["id"]) == before


def test_launch_with_fewer_gold_items_than_gold_per_task_is_409(requester_client):
    created = requester_client.post(PROJECTS, project_payload(gold_per_task=2),
                                    format="json").json()
    _upload(requester_client, created["id"])
    _upload_gold(requester_client, created["id"], ["positive"])
    before = _snapshot(created["id"])

    response = requester_client.post(_url(created["id"], "launch"))

    error = _assert_error(response, 409, "not_enough_gold", {})
    assert error["message"] == ("gold_per_task is 2 but only 1 gold items exist; upload more "
                                "gold first.")
    assert _snapshot(created["id"]) == before


def test_launch_with_enough_gold_items(requester_client):
    created = requester_client.post(PROJECTS, project_payload(gold_per_task=2),
                                    format="json").json()
    _upload(requester_client, created["id"])
    _upload_gold(requester_client, created["id"], ["positive", "negative"])
    fund_organization(Project.objects.get(pk=created["id"]).organization)

    response = requester_client.post(_url(created["id"], "launch"))

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "active"


# --- items, gold and tasks -------------------------------------------------------------


def test_upload_cuts_items_into_tasks(requester_client, project):
    response = requester_client.post(_url(project["id"], "items"), {"items": [
        {"external_id": "a-1", "data": {"text": "one"}},
        {"data": {"text": "two"}},
        {"external_id": 7, "data": {"text": "three"}},
        {"data": {"text": "four"}},
        {"data": {"text": "five"}},
    ]}, format="json")

    assert response.status_code == 201, response.json()
    assert response.json() == {"created": 5, "tasks_created": 3, "pii_raised": 0}
    item_ids = list(Item.objects.filter(project_id=project["id"]).order_by("id")
                    .values_list("id", flat=True))
    tasks = requester_client.get(_url(project["id"], "tasks")).json()
    assert (tasks["count"], tasks["next"], tasks["previous"]) == (3, None, None)
    assert [task["item_ids"] for task in tasks["results"]] == [
        item_ids[0:2], item_ids[2:4], item_ids[4:5]]
    assert [(task["status"], task["overlap"]) for task in tasks["results"]] == [
        ("open", 3)] * 3


def test_items_list_shows_uploaded_items(requester_client, project):
    requester_client.post(_url(project["id"], "items"), {"items": [
        {"external_id": "a-1", "data": {"text": "one"}},
        {"external_id": 7, "data": {"text": "two"}},
        {"data": {"text": "three"}},
    ]}, format="json")
    tasks = requester_client.get(_url(project["id"], "tasks")).json()["results"]

    response = requester_client.get(_url(project["id"], "items"))

    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["next"], body["previous"]) == (3, None, None)
    items = body["results"]
    assert [(item["external_id"], item["data"], item["task_id"]) for item in items] == [
        ("a-1", {"text": "one"}, tasks[0]["id"]),
        ("7", {"text": "two"}, tasks[0]["id"]),
        (None, {"text": "three"}, tasks[1]["id"]),
    ]
    assert {(item["is_gold"], item["gold_answer"], item["result"], item["confidence"])
            for item in items} == {(False, None, None, None)}


def test_items_list_filters_gold(requester_client, project):
    _upload(requester_client, project["id"], 2)
    _upload_gold(requester_client, project["id"], ["neutral"])

    gold = requester_client.get(_url(project["id"], "items"), {"is_gold": "true"}).json()
    plain = requester_client.get(_url(project["id"], "items"), {"is_gold": "false"}).json()
    every = requester_client.get(_url(project["id"], "items")).json()

    assert [(i["data"], i["is_gold"], i["gold_answer"], i["task_id"])
            for i in gold["results"]] == [({"text": "gold 0"}, True, "neutral", None)]
    assert [i["data"] for i in plain["results"]] == [{"text": "text 0"}, {"text": "text 1"}]
    assert every["count"] == 3


def test_items_list_is_paged(requester_client, project):
    _upload(requester_client, project["id"], 5)

    body = requester_client.get(_url(project["id"], "items"), {"page_size": 2}).json()

    assert body["count"] == 5
    assert [i["data"] for i in body["results"]] == [{"text": "text 0"}, {"text": "text 1"}]
    assert body["next"] == (f"http://testserver/api/v1/projects/{project['id']}/items"
                            "?page=2&page_size=2")


def test_page_size_is_capped_at_500(requester_client, project):
    _upload(requester_client, project["id"], 501)

    body = requester_client.get(_url(project["id"], "items"), {"page_size": 10_000}).json()

    assert body["count"] == 501
    assert len(body["results"]) == 500
    assert body["next"] is not None


def test_a_second_draft_upload_tops_up_the_last_task(requester_client, project):
    _upload(requester_client, project["id"], 3)

    response = _upload(requester_client, project["id"], 2)

    assert response.json() == {"created": 2, "tasks_created": 1, "pii_raised": 0}
    tasks = requester_client.get(_url(project["id"], "tasks")).json()["results"]
    assert [len(task["item_ids"]) for task in tasks] == [2, 2, 1]


def test_upload_with_a_bad_row_names_it_and_stores_nothing(requester_client, project):
    before = _snapshot(project["id"])

    response = requester_client.post(_url(project["id"], "items"), {"items": [
        {"data": {"text": "fine"}}, {"data": {}}]}, format="json")

    _assert_error(response, 400, "invalid_rows",
                  {"rows.2.data": ["'data' must be a non-empty object."]})
    assert _snapshot(project["id"]) == before


def test_upload_to_a_cancelled_project_is_409(requester_client, project):
    requester_client.post(_url(project["id"], "cancel"))
    before = _snapshot(project["id"])

    response = requester_client.post(_url(project["id"], "items"),
                                     {"items": [{"data": {"text": "late"}}]}, format="json")

    _assert_error(response, 409, "project_closed")
    assert _snapshot(project["id"]) == before


# A valid and an invalid gold answer for each task type, checked against VALID_CONFIGS.
GOLD_ANSWERS = {
    "single_choice": ("positive", "happy"),
    "multi_choice": (["red", "blue"], ["red", "red"]),
    "rating": (4, 6),
    "text": ("A short answer.", "x" * 501),
    "spans": ([{"start": 0, "end": 4, "label": "PER"}],
              [{"start": 0, "end": 99, "label": "PER"}]),
    "bbox": ([{"x": 0.1, "y": 0.1, "w": 0.5, "h": 0.5, "label": "cat"}],
             [{"x": 0.8, "y": 0.1, "w": 0.5, "h": 0.5, "label": "cat"}]),
    "pairwise": ({"choice": "tie", "rationale": "Both fine."}, "c"),
    "ranking": ([2, 0, 1], [0, 1, 1]),
}


@pytest.mark.parametrize("task_type", sorted(GOLD_ANSWERS))
def test_gold_answers_are_validated_against_the_label_config(requester_client, task_type):
    created = requester_client.post(PROJECTS, project_payload(
        task_type=task_type, label_config=VALID_CONFIGS[task_type]), format="json").json()
    good, bad = GOLD_ANSWERS[task_type]
    data = {"text": "Dana joined", "image_url": "https://img.example/1.png",
            "options": ["x", "y", "z"]}  # ranking items carry exactly size options

    refused = requester_client.post(_url(created["id"], "gold"), {"items": [
        {"data": data, "answer": good}, {"data": data, "answer": bad}]}, format="json")
    accepted = requester_client.post(_url(created["id"], "gold"), {"items": [
        {"data": data, "answer": good}]}, format="json")

    error = _assert_error(refused, 400, "invalid_rows")
    assert list(error["fields"]) == ["rows.2.answer"]
    assert accepted.status_code == 201, accepted.json()
    assert accepted.json() == {"created": 1, "pii_raised": 0}
    assert list(Item.objects.filter(project_id=created["id"])
                .values_list("is_gold", "gold_answer")) == [(True, good)]


# --- who may call what -----------------------------------------------------------------


# (method, action, body): every requester endpoint that addresses one project.
PROJECT_ENDPOINTS = [
    ("get", "", None),
    ("patch", "", {"name": "Hijacked"}),
    ("post", "launch", None),
    ("post", "pause", None),
    ("post", "resume", None),
    ("post", "cancel", None),
    ("get", "items", None),
    ("post", "items", {"items": [{"data": {"text": "injected"}}]}),
    ("post", "gold", {"items": [{"data": {"text": "injected"}, "answer": "positive"}]}),
    ("get", "tasks", None),
]


def _call(client, method, path, body):
    if body is None:
        return getattr(client, method)(path)
    return getattr(client, method)(path, body, format="json")


@pytest.fixture
def alices_project(requester_client, project) -> dict:
    """Alice's draft with items, so that any leaked launch or upload would succeed."""
    _upload(requester_client, project["id"], 2)
    return project


@pytest.mark.parametrize("method, action, body", PROJECT_ENDPOINTS)
def test_another_organization_gets_404(other_requester_client, alices_project, method, action,
                                       body):
    before = _snapshot(alices_project["id"])

    response = _call(other_requester_client, method, _url(alices_project["id"], action), body)

    _assert_error(response, 404, "not_found", {})
    assert _snapshot(alices_project["id"]) == before


@pytest.mark.parametrize("persona", ["worker_client", "staff_client"])
@pytest.mark.parametrize("method, action, body", PROJECT_ENDPOINTS)
def test_workers_and_staff_get_403_on_project_endpoints(request, alices_project, persona,
                                                        method, action, body):
    client = request.getfixturevalue(persona)
    before = _snapshot(alices_project["id"])

    response = _call(client, method, _url(alices_project["id"], action), body)

    error = _assert_error(response, 403, "permission_denied", {})
    assert error["message"] == "This endpoint is for requesters."
    assert _snapshot(alices_project["id"]) == before


@pytest.mark.parametrize("persona", ["worker_client", "staff_client"])
@pytest.mark.parametrize("method, body", [("get", None), ("post", project_payload())])
def test_workers_and_staff_get_403_on_the_project_list(request, project, persona, method,
                                                       body):
    client = request.getfixturevalue(persona)

    response = _call(client, method, PROJECTS, body)

    _assert_error(response, 403, "permission_denied", {})
    assert Project.objects.count() == 1


@pytest.mark.parametrize("method, action, body", [
    *PROJECT_ENDPOINTS, ("get", None, None), ("post", None, project_payload())])
def test_unauthenticated_gets_401(api_client, alices_project, method, action, body):
    path = PROJECTS if action is None else _url(alices_project["id"], action)
    before = _snapshot(alices_project["id"])

    response = _call(api_client, method, path, body)

    _assert_error(response, 401, "not_authenticated", {})
    assert _snapshot(alices_project["id"]) == before
    assert Project.objects.count() == 1


@pytest.mark.parametrize("header, code", [
    ("Bearer not-a-real-token", "authentication_failed"),
    ("Bearer ", "authentication_failed"),
    # Not our scheme: refused with a message naming Bearer (issue 10), not "no credentials".
    ("Token abc", "authentication_failed"),
])
def test_a_bad_token_gets_401(api_client, alices_project, header, code):
    api_client.credentials(HTTP_AUTHORIZATION=header)

    response = api_client.get(_url(alices_project["id"]))

    _assert_error(response, 401, code, {})


def test_a_revoked_token_gets_401(requester_client, alices_project):
    assert requester_client.delete("/api/v1/auth/token").status_code == 204

    response = requester_client.get(_url(alices_project["id"]))

    _assert_error(response, 401, "authentication_failed", {})


def test_other_organization_list_does_not_show_alices_project(other_requester_client,
                                                              alices_project):
    response = other_requester_client.get(PROJECTS)

    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}
