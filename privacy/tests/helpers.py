"""Shared set-up for the privacy tests: a launched project with given item texts, and
workers cleared for personal data."""
from conftest import client_for, fund_organization, make_worker
from marketplace.models import Project
from flows.projects import launch
from marketplace.services import items_import, project_create
from marketplace.uploads import UploadRow
from workers.tests.factories import make_ready_worker, project_fields

NEXT = "/api/v1/worker/tasks/next"


def launched_project(requester, texts, *, gold=(), **overrides) -> Project:
    """An active project with one item per text (external ids t1, t2...); ``gold`` is a
    list of (text, answer)."""
    overrides.setdefault("items_per_task", 1)
    project = project_create(organization=requester.membership.organization,
                             actor=requester, fields=project_fields(**overrides))
    items_import(project=project, actor=requester, is_gold=False, rows=[
        UploadRow(row=i + 1, external_id=f"t{i + 1}", data={"text": text}, answer=None,
                  has_answer=False) for i, text in enumerate(texts)])
    if gold:
        items_import(project=project, actor=requester, is_gold=True, rows=[
            UploadRow(row=i + 1, external_id=f"g{i + 1}", data={"text": text}, answer=answer,
                      has_answer=True) for i, (text, answer) in enumerate(gold)])
    fund_organization(requester)
    launch(project=project, actor=requester)
    project.refresh_from_db()
    return project


def cleared_worker(email: str):
    """An active worker with the sentiment skill, cleared for pii (terms accepted)."""
    user = make_worker(email)
    profile = make_ready_worker(user, skills={"sentiment-en": 90}, clearance="pii",
                                terms=True)
    return profile, client_for(user)


def claim(client, project_id=None) -> dict:
    response = client.post(NEXT, {"project_id": project_id} if project_id else {},
                           format="json")
    assert response.status_code == 200, response.content
    return response.json()


def submit(client, served: dict, value):
    return client.post(f"/api/v1/worker/assignments/{served['assignment_id']}/submit",
                       {"answers": [{"item_id": item["id"], "value": value}
                                    for item in served["items"]]}, format="json")
