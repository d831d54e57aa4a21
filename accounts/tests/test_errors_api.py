"""Every API error leaves in one shape, {"error": {"code", "message", "fields"}}, with the
contract's status codes; plus the operational endpoints (/healthz, schema, docs)."""
import pytest
from django.db import OperationalError
from rest_framework.test import APIClient

from accounts.models import IdempotencyRecord, User
from conftest import project_payload
from marketplace.models import Project

PROJECTS = "/api/v1/projects"


def _error(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


# --- 404 / 405 -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/does-not-exist", "/api/v1/me/", "/api/v2/me",
                                  "/nowhere"])
def test_unknown_path_is_a_json_404(requester_client, path):
    response = requester_client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == _error("not_found", "Not found.")


def test_unknown_path_is_a_json_404_without_a_token(api_client, db):
    response = api_client.post("/api/v1/does-not-exist", {"a": 1})

    assert response.status_code == 404
    assert response.json() == _error("not_found", "Not found.")


def test_project_of_another_organization_is_a_404(other_requester_client, project):
    response = other_requester_client.get(f"{PROJECTS}/{project['id']}")

    assert response.status_code == 404
    assert response.json() == _error("not_found", "Not found.")


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("put", "/api/v1/me", "GET"),
    ("post", "/api/v1/me", "GET"),
    ("delete", "/api/v1/skills", "GET"),
    ("get", "/api/v1/auth/token", "POST"),
])
def test_wrong_method_is_a_405(requester_client, method, path, allowed):
    response = getattr(requester_client, method)(path, {})

    assert response.status_code == 405
    assert response.json() == _error("method_not_allowed",
                                     f'Method "{method.upper()}" not allowed.')
    assert allowed in response["Allow"]


# --- 401 / 403 -------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/api/v1/me"), ("get", "/api/v1/skills"), ("get", PROJECTS),
    ("post", PROJECTS), ("delete", "/api/v1/auth/token"),
])
def test_missing_token_is_a_401(api_client, db, method, path):
    response = getattr(api_client, method)(path)

    assert response.status_code == 401
    assert response.json() == _error("not_authenticated",
                                     "Authentication credentials were not provided.")


def test_bad_token_is_a_401(api_client, db):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-real-token")

    response = api_client.get(PROJECTS)

    assert response.status_code == 401
    assert response.json() == _error("authentication_failed", "Invalid or expired token.")


@pytest.mark.parametrize("persona", ["worker_client", "staff_client"])
def test_non_requester_listing_projects_is_a_403(request, db, persona):
    client = request.getfixturevalue(persona)

    response = client.get(PROJECTS)

    assert response.status_code == 403
    assert response.json() == _error("permission_denied", "This endpoint is for requesters.")


def test_worker_creating_a_project_is_a_403_and_creates_nothing(worker_client):
    response = worker_client.post(PROJECTS, project_payload(), HTTP_IDEMPOTENCY_KEY="w-1")

    assert response.status_code == 403
    assert response.json() == _error("permission_denied", "This endpoint is for requesters.")
    assert Project.objects.count() == 0
    assert IdempotencyRecord.objects.count() == 0


# --- 400 -------------------------------------------------------------------------------


def test_validation_error_names_every_field(requester_client):
    response = requester_client.post(PROJECTS, {"name": ""})

    assert response.status_code == 400
    assert response.json() == _error(
        "validation_error", "Invalid input: name: This field may not be blank.",
        {"name": ["This field may not be blank."], "task_type": ["This field is required."],
         "label_config": ["This field is required."], "pay_model": ["This field is required."]})
    assert Project.objects.count() == 0


def test_validation_error_in_a_nested_list_is_named_by_path(requester_client):
    response = requester_client.post(PROJECTS, project_payload(
        required_skills=[{"skill": "sentiment-en", "min_level": 50},
                         {"skill": "sql", "min_level": 101}]))

    assert response.status_code == 400
    assert response.json() == _error(
        "validation_error",
        "Invalid input: required_skills.1.min_level: "
        "Ensure this value is less than or equal to 100.",
        {"required_skills.1.min_level": ["Ensure this value is less than or equal to 100."]})
    assert Project.objects.count() == 0


def test_service_validation_error_keeps_the_shape(requester_client):
    response = requester_client.post(PROJECTS, project_payload(
        required_skills=[{"skill": "underwater-basket-weaving", "min_level": 50}]))

    assert response.status_code == 400
    assert response.json() == _error(
        "validation_error", "Unknown or repeated skills.",
        {"required_skills.0.skill": ["Unknown skill 'underwater-basket-weaving'."]})
    assert Project.objects.count() == 0


@pytest.mark.parametrize("path", ["/api/v1/auth/register", PROJECTS])
def test_malformed_json_is_a_400_in_the_error_shape(requester_client, path):
    users_before = User.objects.count()

    response = requester_client.post(path, '{"email": "x@y.example",',
                                     content_type="application/json",
                                     HTTP_IDEMPOTENCY_KEY="malformed-1")

    assert response.status_code == 400
    assert response.json() == _error(
        "validation_error",
        "JSON parse error - Expecting property name enclosed in double quotes: "
        "line 1 column 25 (char 24)")
    assert User.objects.count() == users_before
    assert Project.objects.count() == 0
    assert IdempotencyRecord.objects.count() == 0


def test_json_that_is_not_an_object_is_a_400(api_client, db):
    response = api_client.post("/api/v1/auth/register", [1, 2], format="json")

    assert response.status_code == 400
    assert response.json() == _error(
        "validation_error",
        "Invalid input: non_field_errors: Invalid data. Expected a dictionary, but got list.",
        {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})
    assert User.objects.count() == 0


def test_unsupported_content_type_is_a_415(requester_client):
    response = requester_client.post(PROJECTS, "name=x", content_type="text/plain")

    assert response.status_code == 415
    assert response.json() == _error("unsupported_media_type",
                                     'Unsupported media type "text/plain" in request.')
    assert Project.objects.count() == 0


def test_too_long_idempotency_key_is_a_400_and_creates_nothing(requester_client):
    response = requester_client.post(PROJECTS, project_payload(),
                                     HTTP_IDEMPOTENCY_KEY="k" * 256)

    assert response.status_code == 400
    assert response.json() == _error("validation_error",
                                     "Idempotency-Key is at most 255 characters.",
                                     {"Idempotency-Key": ["Too long."]})
    assert Project.objects.count() == 0
    assert IdempotencyRecord.objects.count() == 0


def test_nul_in_idempotency_key_is_a_400_and_creates_nothing(requester_client):
    response = requester_client.post(PROJECTS, project_payload(),
                                     HTTP_IDEMPOTENCY_KEY="key\x00one")

    assert response.status_code == 400
    assert response.json() == _error("validation_error",
                                     "Idempotency-Key must not contain NUL characters.",
                                     {"Idempotency-Key": ["Contains a NUL character."]})
    assert Project.objects.count() == 0
    assert IdempotencyRecord.objects.count() == 0


# --- 500 -------------------------------------------------------------------------------


def test_unexpected_failure_is_a_json_500(requester, monkeypatch):
    def explode(*, user):
        raise RuntimeError("boom")

    monkeypatch.setattr("accounts.selectors.me_describe", explode)
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(requester)

    response = client.get("/api/v1/me")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == _error("server_error", "Internal server error.")


def test_errors_carry_the_callers_request_id(api_client, db):
    response = api_client.get("/api/v1/me", HTTP_X_REQUEST_ID="req-123")

    assert response.status_code == 401
    assert response["X-Request-Id"] == "req-123"


# --- /healthz, schema, docs ------------------------------------------------------------


def test_healthz_reports_database_and_eager_broker(api_client, db):
    response = api_client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "eager"}


def test_healthz_is_503_when_the_database_fails(api_client, db, monkeypatch):
    class UnreachableDatabase:
        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr("config.health.connection", UnreachableDatabase())

    response = api_client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "unhealthy", "database": "error: OperationalError",
                               "broker": "eager"}


def test_openapi_schema_lists_the_contract_paths(api_client, db):
    response = api_client.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.oai.openapi+json"
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Quorum API"
    for path in ("/api/v1/projects", "/api/v1/auth/register", "/api/v1/auth/token",
                 "/api/v1/me", "/api/v1/skills"):
        assert path in schema["paths"]
    assert set(schema["paths"]["/api/v1/projects"]) == {"get", "post"}
    assert set(schema["paths"]["/api/v1/auth/token"]) == {"post", "delete"}


def test_openapi_schema_defaults_to_yaml(api_client, db):
    response = api_client.get("/api/schema/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.oai.openapi; charset=utf-8"
    text = response.content.decode()
    assert text.startswith("openapi: 3.")
    assert "\n  /api/v1/projects:\n" in text
    assert "\n  /api/v1/auth/register:\n" in text


def test_swagger_ui_is_served_as_html(api_client, db):
    response = api_client.get("/api/docs/")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    html = response.content.decode()
    assert "<title>Quorum API</title>" in html
    assert "swagger-ui" in html
    # Swagger UI's start-up script is a file (no inline script under the CSP); it names
    # the schema.
    assert '<script src="/api/docs/?script="></script>' in html
    assert "/api/schema/" in api_client.get("/api/docs/?script=").content.decode()


@pytest.mark.parametrize("scheme", ["Token", "Basic", "bearer-ish"])
def test_a_wrong_authorization_scheme_names_bearer(requester_client, scheme):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{scheme} abcdef")

    response = client.get(PROJECTS)

    assert response.status_code == 401
    assert response.json() == _error(
        "authentication_failed",
        f"Unsupported authorization scheme '{scheme}': send 'Authorization: Bearer <token>'.")
