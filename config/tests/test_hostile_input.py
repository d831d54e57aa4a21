"""Hostile input over every write endpoint, found from the URL conf: a new endpoint is
covered without anyone adding it here.

For each (path, method) the persona is chosen by the path (``/admin/`` staff, ``/worker/``
a worker holding a live assignment, ``/auth/`` and the Stripe webhook anonymous, the rest
the requester owning the project), and path parameters point at that world's own rows, so
the request reaches the body instead of stopping at a 404. The contract (API.md): a 4xx
in the error shape, never a 5xx, and a refused request writes nothing.
"""
import json
import re

import pytest
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient
from rest_framework.views import APIView

from conftest import client_for, make_requester
from config.input_rules import MAX_JSON_DEPTH
from marketplace.models import Assignment
from qa.tests.conftest import claim, eligible_worker, launched_project, pseudonym_of
from workers.models import WorkerApplication

WRITE_METHODS = ("post", "put", "patch", "delete")
_PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


def _routes(resolver=None, prefix: str = ""):
    """(route with <converters>, view class) for every API view in the URL conf."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _routes(entry, route)
        elif isinstance(entry, URLPattern):
            view_class = getattr(entry.callback, "view_class", None)
            if view_class and issubclass(view_class, APIView) and route.startswith("api/v1/"):
                yield route, view_class


WRITE_ENDPOINTS = sorted(
    (route, method) for route, view_class in _routes()
    for method in WRITE_METHODS if hasattr(view_class, method))

FIELD_NAMES = [
    "email", "password", "role", "organization_name", "name", "instructions", "task_type",
    "label_config", "required_skills", "domain", "sensitivity", "pay_model", "reward_cents",
    "hourly_rate_cents", "max_seconds_per_assignment", "items_per_task", "gold_per_task",
    "overlap", "max_overlap", "confidence_target", "min_gold_accuracy",
    "assignment_duration_seconds", "auto_approve_seconds", "budget_cents", "priority",
    "items", "answers", "reason", "worker_id", "amount_cents", "url", "events", "project_id",
    "statement", "credentials", "skills", "clearance", "note", "outcome", "message",
    "assignment_id", "reference", "version", "skill", "level", "verdict", "exam_id",
    "pass_score", "bio", "country", "languages", "full_name", "threshold", "min_level",
]


def _deep(depth: int) -> str:
    return '{"items": ' + "[" * depth + "]" * depth + "}"


# Raw bodies (sent as application/json): what a JSON library would never produce.
HOSTILE_JSON = {
    "recursion_bomb": "[" * 5000 + "]" * 5000,
    "object_bomb": '{"a":' * 5000 + "1" + "}" * 5000,
    "just_too_deep": _deep(MAX_JSON_DEPTH + 1),
    "nul_in_every_field": json.dumps({name: "a\u0000b" for name in FIELD_NAMES}),
    "nul_in_a_key": json.dumps({"data\u0000": 1, "items": [{"data": {"k\u0000": "v"}}]}),
    "lone_surrogate": '{' + ",".join(f'"{name}": "\\ud800"' for name in FIELD_NAMES) + '}',
    "int_beyond_bigint": json.dumps({name: 2**63 for name in FIELD_NAMES}),
    "int_far_beyond": json.dumps({name: 10**30 for name in FIELD_NAMES}),
    "int_at_bigint_max": json.dumps({name: 2**63 - 1 for name in FIELD_NAMES}),
    "negative_bigint": json.dumps({name: -(2**63) for name in FIELD_NAMES}),
    "wrong_types_list": json.dumps({name: [1, "x", None] for name in FIELD_NAMES}),
    "wrong_types_object": json.dumps({name: {"x": [1]} for name in FIELD_NAMES}),
    "wrong_types_null": json.dumps({name: None for name in FIELD_NAMES}),
    "wrong_types_bool": json.dumps({name: True for name in FIELD_NAMES}),
    "floats": json.dumps({name: 1e308 for name in FIELD_NAMES}),
    "nan": '{"amount_cents": NaN, "reward_cents": Infinity}',
    "top_level_list": "[1, 2, 3]",
    "top_level_string": '"hello"',
    "broken_json": '{"name": ',
    "not_utf8": b'{"name": "\xff\xfe"}',
}
# Bodies that must be refused by the parser whatever the endpoint does with them.
ALWAYS_REFUSED = {"recursion_bomb", "object_bomb", "just_too_deep", "nul_in_every_field",
                  "nul_in_a_key", "lone_surrogate", "int_beyond_bigint", "int_far_beyond",
                  "nan", "broken_json", "not_utf8"}

OTHER_CONTENT = [
    ("text/plain", b"hello"),
    ("application/xml", b"<a>1</a>"),
    ("application/x-www-form-urlencoded", b"name=a%00b&reason=x"),
]


def _table_counts() -> dict[str, int]:
    """Row counts of every table, in one query (a refused request must leave them all)."""
    tables = connection.introspection.django_table_names(only_existing=True)
    # Caches of a request's side effects that are not data: the idempotency records of
    # refused requests are not written, throttle counters live in Redis.
    query = " UNION ALL ".join(
        f"SELECT '{table}', COUNT(*) FROM {connection.ops.quote_name(table)}"
        for table in sorted(tables))
    with connection.cursor() as cursor:
        cursor.execute(query)
        return dict(cursor.fetchall())


@pytest.fixture
def world(db):
    requester = make_requester("owner@acme.example", "Acme AI")
    project = launched_project(requester, tasks=2)
    worker = eligible_worker("busy@workers.example")
    assignment = claim(worker, project)
    application_worker = eligible_worker("applicant@workers.example")
    application = WorkerApplication.objects.create(worker=application_worker,
                                                   statement="I label well.")
    from accounts.models import User

    staff = User.objects.create_superuser(email="root@quorum.example", password="x" * 12)
    return {
        "clients": {"requester": client_for(requester), "worker": client_for(worker.user),
                    "staff": client_for(staff), "anonymous": APIClient()},
        "ids": {"project_id": project.pk, "assignment_id": assignment.pk,
                "application_id": application.pk, "worker_id": worker.pk,
                "organization_id": requester.membership.organization.pk},
        "pseudonym": pseudonym_of(worker, project),
    }


def _persona(route: str) -> str:
    if route.startswith("api/v1/admin/"):
        return "staff"
    if route.startswith("api/v1/worker/"):
        return "worker"
    if route.startswith(("api/v1/auth/", "api/v1/payments/stripe/")):
        return "anonymous"
    return "requester"


def _path(route: str, world) -> str:
    def fill(match):
        name, converter = match["name"], match["converter"] or "str"
        if converter == "str" and name == "worker_id":
            return world["pseudonym"]
        return str(world["ids"].get(name, 1))
    return "/" + _PARAMETER.sub(fill, route)


def _assert_error_shape(response) -> None:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}


def _send(client, method: str, path: str, body, content_type="application/json"):
    return getattr(client, method)(path, data=body, content_type=content_type)


@pytest.mark.parametrize(("route", "method"), WRITE_ENDPOINTS)
def test_hostile_json_bodies_are_refused_without_writes(world, route, method):
    client = world["clients"][_persona(route)]
    path = _path(route, world)
    for name, body in HOSTILE_JSON.items():
        before = _table_counts()

        response = _send(client, method, path, body)

        assert response.status_code < 500, (name, response.status_code, response.content[:300])
        if response.status_code >= 400:
            _assert_error_shape(response)
            assert _table_counts() == before, name
        if name in ALWAYS_REFUSED:
            # Endpoints that never read their body (launch, return...) act or refuse on
            # their own terms; every other one refuses the body itself.
            assert response.status_code < 300 or response.status_code in (
                400, 401, 403, 404, 405, 409, 429), (name, response.status_code)


@pytest.mark.parametrize(("route", "method"), WRITE_ENDPOINTS)
def test_other_content_types_and_huge_bodies_are_4xx(world, route, method, settings):
    client = world["clients"][_persona(route)]
    path = _path(route, world)
    for content_type, body in OTHER_CONTENT:
        before = _table_counts()

        response = _send(client, method, path, body, content_type=content_type)

        assert response.status_code < 500, (content_type, response.content[:300])
        if response.status_code >= 400:
            _assert_error_shape(response)
            assert _table_counts() == before, content_type

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    before = _table_counts()
    response = _send(client, method, path, json.dumps({"reason": "x" * 4096}))
    assert response.status_code < 500, response.content[:300]
    if response.status_code >= 400:
        _assert_error_shape(response)
        assert _table_counts() == before


@pytest.mark.parametrize("method", ["post", "delete"])
def test_nul_in_a_path_parameter_is_a_400(world, method):
    client = world["clients"]["requester"]
    project_id = world["ids"]["project_id"]
    path = {"post": f"/api/v1/projects/{project_id}/suspensions/%00/lift",
            "delete": f"/api/v1/projects/{project_id}/blocks/%00"}[method]
    before = _table_counts()

    response = getattr(client, method)(path)

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "path": ["Must not contain the NUL character (\\u0000)."]}
    assert _table_counts() == before


def test_write_endpoints_are_found_from_the_url_conf():
    # The discovery itself must not silently find nothing (which would pass every test).
    found = {f"{method} {route}" for route, method in WRITE_ENDPOINTS}
    assert "post api/v1/auth/register" in found
    assert "post api/v1/projects/<int:project_id>/items" in found
    assert "post api/v1/worker/assignments/<int:assignment_id>/submit" in found
    assert "delete api/v1/projects/<int:project_id>/blocks/<str:worker_id>" in found
    assert len(WRITE_ENDPOINTS) >= 50
