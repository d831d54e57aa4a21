"""A requester's model server on 127.0.0.1 (a thread with http.server): registration with
a secret shown once, signed batches of items waiting for a prediction, answers stored
item by item (bad ones recorded as errors), retries on 5xx, the SSRF guard, runs after
imports and on demand, scoped to the requester's organization."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import override_settings

from automation.models import Prediction, PredictionEndpoint, PredictionRun
from conftest import client_for, project_payload
from marketplace.models import Item
from marketplace.webhooks.signing import verify_signature

pytestmark = pytest.mark.django_db


class ModelServer:
    """A model server as a requester would write one: it checks the signature, then
    answers each item with ``label(data)``. ``statuses`` scripts failures first."""

    def __init__(self):
        self.secret = ""
        self.statuses: list[int] = []
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.url = ""
        self.answer = self.label_by_text

    @staticmethod
    def label_by_text(body: dict) -> dict:
        return {"predictions": [
            {"item_id": item["item_id"],
             "value": "positive" if "good" in item["data"]["text"] else "negative",
             "score": 0.75, "model_version": "server-1"} for item in body["items"]]}


@pytest.fixture
def model_server():
    server_state = ModelServer()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            verified = verify_signature(server_state.secret,
                                        self.headers.get("Quorum-Signature", ""), raw)
            with server_state.lock:
                server_state.requests.append({"body": json.loads(raw), "verified": verified,
                                              "event": self.headers.get("Quorum-Event")})
                status = server_state.statuses.pop(0) if server_state.statuses else 200
            if not verified:
                status = 401
            reply = (json.dumps(server_state.answer(json.loads(raw))).encode()
                     if status == 200 else b"no")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server_state.url = f"http://127.0.0.1:{server.server_address[1]}/predict"
    yield server_state
    server.shutdown()
    server.server_close()


@pytest.fixture
def allow_private_urls():
    # The model server listens on 127.0.0.1, which the SSRF guard refuses by default.
    with override_settings(WEBHOOK_ALLOW_PRIVATE_URLS=True,
                           PREDICTION_ENDPOINT_BACKOFF_SECONDS=0):
        yield


def endpoint_url(project_id) -> str:
    return f"/api/v1/projects/{project_id}/prediction-endpoint"


def new_project(client, texts=("good day", "bad day", "good food")) -> int:
    project = client.post("/api/v1/projects", project_payload(), format="json").json()
    response = client.post(f"/api/v1/projects/{project['id']}/items", {"items": [
        {"external_id": f"e{i}", "data": {"text": text}} for i, text in enumerate(texts)]},
        format="json")
    assert response.status_code == 201, response.json()
    return project["id"]


def register(client, project_id, server, batch_size=2):
    response = client.post(endpoint_url(project_id), {"url": server.url,
                                                      "batch_size": batch_size},
                           format="json")
    assert response.status_code == 201, response.json()
    server.secret = response.json()["secret"]
    return response.json()


def run_now(client, project_id, capture):
    with capture(execute=True):
        response = client.post(endpoint_url(project_id) + "/run")
    assert response.status_code == 202, response.json()
    return PredictionRun.objects.get(pk=response.json()["id"])


def predictions(project_id) -> dict:
    return dict(Prediction.objects.filter(project_id=project_id).values_list(
        "item__external_id", "value"))


@pytest.mark.usefixtures("allow_private_urls")
def test_register_shows_the_secret_once_and_run_sends_signed_batches(
        requester_client, model_server, django_capture_on_commit_callbacks):
    project_id = new_project(requester_client)
    created = register(requester_client, project_id, model_server, batch_size=2)

    run = run_now(requester_client, project_id, django_capture_on_commit_callbacks)

    assert created["secret"].startswith("whsec_") and created["batch_size"] == 2
    assert run.status == "succeeded"
    assert (run.items_sent, run.predictions_stored, run.requests, run.errors) == (3, 3, 2, [])
    assert [r["verified"] for r in model_server.requests] == [True, True]
    assert {r["event"] for r in model_server.requests} == {"predictions.request"}
    first = model_server.requests[0]["body"]
    assert first["project_id"] == project_id and first["task_type"] == "single_choice"
    assert [item["external_id"] for item in first["items"]] == ["e0", "e1"]
    assert predictions(project_id) == {"e0": "positive", "e1": "negative", "e2": "positive"}
    shown = requester_client.get(endpoint_url(project_id)).json()
    assert "secret" not in shown and shown["url"] == model_server.url
    assert [r["status"] for r in shown["runs"]] == ["succeeded"]


@pytest.mark.usefixtures("allow_private_urls")
def test_a_second_run_sends_only_items_still_without_prediction(
        requester_client, model_server, django_capture_on_commit_callbacks):
    project_id = new_project(requester_client)
    register(requester_client, project_id, model_server)
    run_now(requester_client, project_id, django_capture_on_commit_callbacks)

    again = run_now(requester_client, project_id, django_capture_on_commit_callbacks)

    assert (again.status, again.items_sent, again.requests) == ("succeeded", 0, 0)
    assert len(model_server.requests) == 2


@pytest.mark.usefixtures("allow_private_urls")
def test_bad_answers_are_recorded_per_item_and_the_rest_is_stored(
        requester_client, model_server, django_capture_on_commit_callbacks):
    project_id = new_project(requester_client)
    register(requester_client, project_id, model_server, batch_size=10)
    ids = dict(Item.objects.values_list("external_id", "pk"))
    model_server.answer = lambda body: {"predictions": [
        {"item_id": ids["e0"], "value": "positive", "score": 0.9, "model_version": "s"},
        {"item_id": ids["e1"], "value": "sideways", "score": 0.9, "model_version": "s"},
        {"item_id": ids["e2"], "value": "negative", "score": 7, "model_version": "s"},
        {"item_id": 10**12, "value": "negative", "score": 0.5, "model_version": "s"},
        {"item_id": ids["e0"], "value": "negative", "score": 0.5, "model_version": "s"},
        {"item_id": [ids["e1"]], "value": "negative", "score": 0.5, "model_version": "s"},
        "not an object",
    ]}

    run = run_now(requester_client, project_id, django_capture_on_commit_callbacks)

    assert run.status == "succeeded" and run.predictions_stored == 1
    assert predictions(project_id) == {"e0": "positive"}
    by_content = lambda error: json.dumps(error, sort_keys=True)  # noqa: E731
    assert sorted(run.errors, key=by_content) == sorted([
        {"item_id": None, "field": "item_id",
         "message": "Not an item of the batch that was sent."},
        {"item_id": None, "field": "item_id",
         "message": "Not an item of the batch that was sent."},
        {"item_id": ids["e0"], "field": "item_id",
         "message": "Answered twice; the first answer counts."},
        {"item_id": ids["e1"], "field": "value",
         "message": "Must be one of: positive, negative, neutral."},
        {"item_id": ids["e2"], "field": "score", "message": "Must be a number from 0 to 1."},
        {"item_id": 10**12, "field": "item_id",
         "message": "Not an item of the batch that was sent."}], key=by_content)


@pytest.mark.usefixtures("allow_private_urls")
def test_5xx_is_retried_then_the_batch_is_stored(
        requester_client, model_server, django_capture_on_commit_callbacks):
    project_id = new_project(requester_client, texts=("good",))
    register(requester_client, project_id, model_server)
    model_server.statuses = [503, 500]

    run = run_now(requester_client, project_id, django_capture_on_commit_callbacks)

    assert (run.status, run.requests, run.predictions_stored) == ("succeeded", 3, 1)
    assert len(model_server.requests) == 3


@pytest.mark.usefixtures("allow_private_urls")
def test_run_fails_after_the_bounded_retries_and_stores_nothing(
        requester_client, model_server, django_capture_on_commit_callbacks):
    project_id = new_project(requester_client)
    register(requester_client, project_id, model_server, batch_size=2)
    model_server.statuses = [502] * 10

    run = run_now(requester_client, project_id, django_capture_on_commit_callbacks)

    assert (run.status, run.requests) == ("failed", 3)
    assert len(model_server.requests) == 3  # PREDICTION_ENDPOINT_MAX_ATTEMPTS, first batch
    assert run.errors == [{"item_id": None, "field": None,
                           "message": "Gave up after 3 attempts: HTTP 502."}]
    assert Prediction.objects.count() == 0


@pytest.mark.usefixtures("allow_private_urls")
def test_4xx_is_not_retried(requester_client, model_server,
                            django_capture_on_commit_callbacks):
    project_id = new_project(requester_client)
    register(requester_client, project_id, model_server)
    model_server.secret = "whsec_wrong"  # the server refuses the signature: 401

    run = run_now(requester_client, project_id, django_capture_on_commit_callbacks)

    assert (run.status, run.requests) == ("failed", 1)
    assert run.errors[-1]["message"] == "The endpoint answered badly: HTTP 401."


@pytest.mark.usefixtures("allow_private_urls")
def test_import_triggers_a_run(requester_client, model_server,
                               django_capture_on_commit_callbacks):
    project_id = new_project(requester_client, texts=("good",))
    register(requester_client, project_id, model_server)

    with django_capture_on_commit_callbacks(execute=True):
        response = requester_client.post(f"/api/v1/projects/{project_id}/items", {"items": [
            {"external_id": "n1", "data": {"text": "good news"}},
            {"external_id": "n2", "data": {"text": "bad news"},
             "prediction": {"value": "neutral", "score": 0.2, "model_version": "own"}}]},
            format="json")

    assert response.status_code == 201
    run = PredictionRun.objects.get()
    assert (run.trigger, run.status, run.items_sent) == ("import", "succeeded", 2)
    # The item imported with its own prediction is not sent.
    assert predictions(project_id) == {"e0": "positive", "n1": "positive", "n2": "neutral"}


def test_ssrf_guard_refuses_a_private_url_at_registration(requester_client):
    project_id = new_project(requester_client)

    with override_settings(WEBHOOK_ALLOW_PRIVATE_URLS=False):
        response = requester_client.post(endpoint_url(project_id), {
            "url": "http://127.0.0.1:9/predict", "batch_size": 5}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unsafe_url"
    assert PredictionEndpoint.objects.count() == 0


def test_ssrf_guard_refuses_a_private_url_before_sending(
        requester_client, model_server, django_capture_on_commit_callbacks):
    project_id = new_project(requester_client)
    with override_settings(WEBHOOK_ALLOW_PRIVATE_URLS=True):
        register(requester_client, project_id, model_server)

    with override_settings(WEBHOOK_ALLOW_PRIVATE_URLS=False):
        run = run_now(requester_client, project_id, django_capture_on_commit_callbacks)

    assert run.status == "failed" and run.requests == 1
    assert run.errors[-1]["message"].startswith("Refused: The host '127.0.0.1' resolves to "
                                                "127.0.0.1")
    assert model_server.requests == []


@pytest.mark.parametrize("body, field", [
    ({"url": "ftp://example.com/x", "batch_size": 5}, "url"),
    ({"url": "https://example.com/x", "batch_size": 0}, "batch_size"),
    ({"url": "https://example.com/x", "batch_size": 501}, "batch_size"),
])
def test_bad_registration_is_refused(requester_client, body, field):
    project_id = new_project(requester_client)

    response = requester_client.post(endpoint_url(project_id), body, format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert PredictionEndpoint.objects.count() == 0


@pytest.mark.usefixtures("allow_private_urls")
def test_other_organization_sees_nothing_and_delete_removes_it(
        requester_client, other_requester, model_server):
    project_id = new_project(requester_client)
    register(requester_client, project_id, model_server)
    other = client_for(other_requester)

    assert other.get(endpoint_url(project_id)).status_code == 404
    assert other.post(endpoint_url(project_id) + "/run").status_code == 404
    assert other.delete(endpoint_url(project_id)).status_code == 404
    assert requester_client.delete(endpoint_url(project_id)).status_code == 204
    assert requester_client.get(endpoint_url(project_id)).status_code == 404
    assert requester_client.post(endpoint_url(project_id) + "/run").status_code == 404
    assert PredictionEndpoint.objects.count() == 0


@pytest.mark.usefixtures("allow_private_urls")
def test_replacing_the_endpoint_stops_the_live_run(requester_client, model_server):
    project_id = new_project(requester_client)
    register(requester_client, project_id, model_server)
    live = requester_client.post(endpoint_url(project_id) + "/run").json()  # not committed
    # (no commit hooks ran: the run is still queued)

    register(requester_client, project_id, model_server)

    run = PredictionRun.objects.get(pk=live["id"])
    assert run.status == "failed"
    assert run.errors == [{"item_id": None, "field": None,
                           "message": "Stopped: the endpoint was replaced."}]
    assert model_server.requests == []


@pytest.mark.usefixtures("allow_private_urls")
def test_a_replayed_registration_changes_nothing_and_shows_no_secret(requester_client):
    project_id = new_project(requester_client)
    body = {"url": "http://127.0.0.1:9/quorum", "batch_size": 10}

    first = requester_client.post(endpoint_url(project_id), body, format="json",
                                  HTTP_IDEMPOTENCY_KEY="reg-1")
    nonce = PredictionEndpoint.objects.get().secret_nonce
    again = requester_client.post(endpoint_url(project_id), body, format="json",
                                  HTTP_IDEMPOTENCY_KEY="reg-1")

    assert first.status_code == again.status_code == 201
    assert first.json()["secret"].startswith("whsec_")
    assert again.json() == {key: value for key, value in first.json().items()
                            if key != "secret"}
    assert PredictionEndpoint.objects.get().secret_nonce == nonce


@pytest.mark.usefixtures("allow_private_urls")
def test_a_run_whose_job_died_is_replaced_by_the_periodic_sweep(
        requester_client, model_server, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    from flows.prediction_endpoints import resume_stale_runs

    project_id = new_project(requester_client)
    register(requester_client, project_id, model_server)
    # A run claimed by a job that then died: running, its heartbeat long gone.
    dead = PredictionRun.objects.create(
        endpoint=PredictionEndpoint.objects.get(project_id=project_id), trigger="manual",
        status="running", heartbeat_at=timezone.now() - timedelta(minutes=16))
    finished = PredictionRun.objects.create(
        endpoint=PredictionEndpoint.objects.get(project_id=project_id), trigger="manual",
        status="failed")  # a finished run is never resumed

    with django_capture_on_commit_callbacks(execute=True):
        assert resume_stale_runs() == 1
    assert resume_stale_runs() == 0  # nothing stale any more

    dead.refresh_from_db()
    finished.refresh_from_db()
    assert dead.status == "failed" and finished.status == "failed"
    resumed = PredictionRun.objects.get(trigger="resume")
    assert resumed.status == "succeeded" and resumed.predictions_stored == 3
    assert predictions(project_id) == {"e0": "positive", "e1": "negative", "e2": "positive"}
