"""Exact statement counts of the worker's hot path: next (new lease, live lease) and
submit, over HTTP through the whole request stack."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import client_for, fund_organization, make_worker
from flows import projects as projects_flow
from marketplace.services import items_import, project_create
from marketplace.uploads import UploadRow
from workers.tests.factories import make_ready_worker, project_fields

pytestmark = pytest.mark.django_db

NEXT = "/api/v1/worker/tasks/next"


def launched(requester, *, gold_per_task=1, tasks=20, gold=5, **fields):
    project = project_create(organization=requester.membership.organization, actor=requester,
                             fields=project_fields(gold_per_task=gold_per_task, overlap=2,
                                                   **fields))
    items_import(project=project, actor=requester, is_gold=False, rows=[
        UploadRow(row=i + 1, external_id=None, data={"text": f"t{i}"}, answer=None,
                  has_answer=False) for i in range(tasks)])
    if gold:
        items_import(project=project, actor=requester, is_gold=True, rows=[
            UploadRow(row=i + 1, external_id=None, data={"text": f"g{i}"},
                      answer="positive", has_answer=True) for i in range(gold)])
    fund_organization(requester)
    return projects_flow.launch(project=project, actor=requester)


def test_measure(requester):
    launched(requester)
    user = make_worker("dana@workers.example")
    make_ready_worker(user, skills={"sentiment-en": 90})
    client = client_for(user)
    for label in ("next-new", "next-live"):
        with CaptureQueriesContext(connection) as ctx:
            response = client.post(NEXT, {}, format="json")
        print(f"\n== {label}: {len(ctx.captured_queries)}")
        for q in ctx.captured_queries:
            print("  ", q["sql"][:220])
    body = response.json()
    answers = [{"item_id": item["id"], "value": "positive"} for item in body["items"]]
    with CaptureQueriesContext(connection) as ctx:
        r = client.post(f"/api/v1/worker/assignments/{body['assignment_id']}/submit",
                        {"answers": answers}, format="json")
    assert r.status_code == 200, r.content
    print(f"\n== submit: {len(ctx.captured_queries)}")
    for q in ctx.captured_queries:
        print("  ", q["sql"][:220])
