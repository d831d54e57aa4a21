"""The sandbox leaves no trace: counts of every real table, the ledger check, the real
project's progress and results are the same before and after; the API runs the job."""
import threading
from datetime import timedelta

import pytest
from django.db import connections

from accounts.models import User
from conftest import client_for, fund_organization, make_requester, requires_postgresql
from marketplace.models import Assignment, Item, Organization, Project, Task, WebhookDelivery
from marketplace.services import items_import, project_create
from marketplace.uploads import UploadRow
from payments.models import Earning, Journal, LedgerAccount, Payout
from payments.selectors import ledger_check, organization_balance, project_progress
from qa.models import QualityAction, WorkerProjectStats
from simulation.models import Simulation
from simulation.services import simulate, simulations_run_queued
from simulation.tasks import run_queued_simulations
from workers.models import WorkerProfile
from workers.tests.factories import project_fields
from flows import projects as projects_flow

pytestmark = pytest.mark.django_db

PARAMS = {"workers": 4, "accuracy": {"mean": 0.8, "sd": 0.05}, "spammer_share": 0.25,
          "spammer_kind": "random", "seconds_per_task": {"mean": 60, "sd": 10},
          "items": 8, "seed": 5, "sweep": False}
MODELS = [User, Organization, WorkerProfile, Project, Task, Item, Assignment, Journal,
          LedgerAccount, Earning, Payout, QualityAction, WorkerProjectStats, WebhookDelivery]


def _counts() -> dict:
    return {model.__name__: model.objects.count() for model in MODELS}


def _snapshot(requester, project) -> tuple:
    """Everything a real requester, admin or export could see."""
    results = client_for(requester).get(f"/api/v1/projects/{project.pk}/results?format=json")
    assert results.status_code == 200
    return (_counts(), ledger_check(), organization_balance(organization=project.organization),
            project_progress(project=project), b"".join(results.streaming_content)
            if results.streaming else results.content)


def _launched_project(requester) -> Project:
    fund_organization(requester)
    project = project_create(organization=requester.membership.organization, actor=requester,
                             fields=project_fields(items_per_task=4, overlap=2, max_overlap=2,
                                                   gold_per_task=1))
    items_import(project=project, actor=requester, is_gold=False, rows=[
        UploadRow(row=i + 1, external_id=f"i{i}", data={"text": f"item {i}"}, answer=None,
                  has_answer=False) for i in range(12)])
    items_import(project=project, actor=requester, is_gold=True, rows=[
        UploadRow(row=i + 1, external_id=f"g{i}", data={"text": f"gold {i}"},
                  answer="positive", has_answer=True) for i in range(4)])
    return projects_flow.launch(project=project, actor=requester)


# serialized_rollback: the skill taxonomy comes from a data migration the flush removes.
@requires_postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_simulation_leaves_no_trace():
    # Real commits here (no test transaction around it): the sandbox is the outermost
    # transaction, as in the Celery job, and other connections can look while it runs.
    requester = make_requester("real@acme.example", "Acme")
    project = _launched_project(requester)
    before = _snapshot(requester, project)
    seen_elsewhere = []

    def look_from_another_connection(fraction):
        def look():
            try:
                seen_elsewhere.append((
                    Organization.objects.filter(name__startswith="Simulation ").count(),
                    Organization.objects.filter(name="Acme").count()))
            finally:
                connections.close_all()
        thread = threading.Thread(target=look)
        thread.start()
        thread.join()

    report, detail = simulate(project=project, params=PARAMS,
                              progress=look_from_another_connection)
    after = _snapshot(requester, project)
    assert detail["submissions"] > 0 and report["cost_cents"] > 0
    assert after == before
    assert after[1]["ok"] is True
    # While it ran, another connection saw the real organization and never the sandbox's.
    assert len(seen_elsewhere) == detail["submissions"]
    assert set(seen_elsewhere) == {(0, 1)}
    assert not Organization.objects.filter(name__startswith="Simulation ").exists()
    assert not User.objects.filter(email__endswith="@simulation.invalid").exists()


def test_api_queues_a_simulation_and_reports_it(django_capture_on_commit_callbacks):
    requester = make_requester("api@acme.example", "Acme")
    project = _launched_project(requester)
    client = client_for(requester)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/projects/{project.pk}/simulations", PARAMS,
                               format="json")
    assert response.status_code == 202
    simulation_id = response.json()["id"]
    # Without a broker the request only queues it (it can run for minutes); the periodic
    # runner's sweep runs it.
    assert client.get(f"/api/v1/simulations/{simulation_id}").json()["status"] == "queued"
    assert run_queued_simulations() == 1
    body = client.get(f"/api/v1/simulations/{simulation_id}").json()
    assert body["status"] == "done" and body["progress"] == 1.0
    assert set(body["report"]) == {
        "cost_cents", "hours_to_finish", "accuracy", "accuracy_interval",
        "spammer_labels_before_stop", "spammer_paid_cents", "extra_labels",
        "effective_hourly_cents", "recommendations"}
    # Same seed, same settings: the job's report is the one simulate() gives.
    assert body["report"] == simulate(project=project, params=PARAMS)[0]


def test_with_a_broker_the_sweep_runs_only_simulations_whose_message_was_lost():
    requester = make_requester("lost@acme.example", "Acme")
    project = _launched_project(requester)
    simulation = Simulation.objects.create(organization=project.organization,
                                           project=project, params=PARAMS)
    assert simulations_run_queued(older_than_seconds=300) == 0
    Simulation.objects.filter(pk=simulation.pk).update(
        created_at=simulation.created_at - timedelta(seconds=301))
    assert simulations_run_queued(older_than_seconds=300) == 1
    simulation.refresh_from_db()
    assert simulation.status == "done"


def test_api_refuses_bad_input_and_other_organizations():
    requester = make_requester("api2@acme.example", "Acme")
    project = _launched_project(requester)
    other = make_requester("other@globex.example", "Globex")
    bad = client_for(requester).post(f"/api/v1/projects/{project.pk}/simulations",
                                     {**PARAMS, "accuracy": {"mean": 1.5, "sd": 0}},
                                     format="json")
    assert bad.status_code == 400
    assert bad.json()["error"]["fields"] == {
        "accuracy.mean": ["Ensure this value is less than or equal to 1."]}
    hidden = client_for(other).post(f"/api/v1/projects/{project.pk}/simulations", PARAMS,
                                    format="json")
    assert hidden.status_code == 404
    assert Simulation.objects.count() == 0
    assert client_for(other).get("/api/v1/simulations/1").status_code == 404


def test_api_refuses_a_project_without_items():
    requester = make_requester("empty@acme.example", "Acme")
    project = project_create(organization=requester.membership.organization, actor=requester,
                             fields=project_fields())
    response = client_for(requester).post(f"/api/v1/projects/{project.pk}/simulations",
                                          PARAMS, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"items": ["The project has no items."]}
    assert Simulation.objects.count() == 0
