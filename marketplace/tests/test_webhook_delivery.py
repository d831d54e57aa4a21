"""Webhook delivery against a real HTTP receiver on 127.0.0.1: signing, the
assignment.submitted subscriber, batching, retries with backoff up to the cap, disabling
after 24 h of failures, crash recovery, and no double sends from replayed or concurrent
beat jobs."""
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import fund_organization, requires_postgresql
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from marketplace import selectors
from marketplace.models import WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint
from marketplace.services import (
    assignment_claim,
    worker_pseudonym_for,
)
from marketplace.webhooks import delivery as delivery_module
from marketplace.webhooks import destinations
from marketplace.webhooks.delivery import backoff_seconds, webhook_delivery_claim
from marketplace.webhooks.services import (
    webhook_emit,
    webhook_emit_items_finalized,
    webhook_endpoint_create,
    webhook_endpoint_rotate_secret,
)
from marketplace.webhooks.signing import sign, verify_signature
from marketplace.webhooks.tasks import deliver_due_webhooks, deliver_webhook
from workers.tests.factories import make_project, make_ready_worker
from flows import work


class Receiver:
    """A webhook receiver as a requester would write one: it checks the signature with
    its secret and records what arrived. ``statuses`` scripts its answers (then 200)."""

    def __init__(self):
        self.secret = ""
        self.statuses: list[int] = []
        self.received: list[dict] = []
        self.lock = threading.Lock()
        self.url = ""

    def answer(self) -> int:
        with self.lock:
            return self.statuses.pop(0) if self.statuses else 200

    @property
    def delivery_ids(self) -> list[str]:
        return [entry["headers"]["Quorum-Delivery"] for entry in self.received]


@pytest.fixture
def receiver():
    recv = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            verified = verify_signature(recv.secret, self.headers.get("Quorum-Signature", ""),
                                        body)
            with recv.lock:
                recv.received.append({"path": self.path, "headers": self.headers,
                                      "body": body, "verified": verified})
            status = recv.answer() if verified else 400
            reply = b"ok" if status < 300 else b"receiver says no"
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", f"{recv.url}/elsewhere")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    recv.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/quorum"
    yield recv
    server.shutdown()
    server.server_close()


@pytest.fixture
def allow_private_urls():
    # The receiver listens on 127.0.0.1, which the SSRF guard refuses by default.
    with override_settings(WEBHOOK_ALLOW_PRIVATE_URLS=True):
        yield


def _subscribe(requester, receiver, events=("assignment.submitted",)) -> WebhookEndpoint:
    endpoint, secret = webhook_endpoint_create(
        organization=requester.membership.organization, actor=requester,
        url=receiver.url, events=list(events))
    receiver.secret = secret
    return endpoint


def _emit(requester, payload=None, event="assignment.submitted") -> int:
    return webhook_emit(organization_id=requester.membership.organization.pk, event=event,
                        payload=payload or {"assignment_id": 7})


def _active_project(requester, **overrides):
    fund_organization(requester)  # launch reserves the project's cost in escrow
    return make_project(requester, **overrides)


def _make_due(delivery: WebhookDelivery) -> None:
    """Time travel: the scheduled retry is due now."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1))


pytestmark = pytest.mark.usefixtures("allow_private_urls")


# --- signing --------------------------------------------------------------------------


def test_signature_verifies_only_the_exact_body_secret_and_recent_time():
    header = sign("whsec_a", b'{"x":1}', timestamp=1_700_000_000)

    assert header.startswith("t=1700000000,v1=") and len(header.split("v1=")[1]) == 64
    assert verify_signature("whsec_a", header, b'{"x":1}', now=1_700_000_100)
    assert verify_signature("whsec_a", header, '{"x":1}', now=1_700_000_100)
    assert not verify_signature("whsec_a", header, b'{"x": 1}', now=1_700_000_100)
    assert not verify_signature("whsec_b", header, b'{"x":1}', now=1_700_000_100)
    assert not verify_signature("whsec_a", header, b'{"x":1}', now=1_700_000_301)
    assert not verify_signature("whsec_a", header, b'{"x":1}', tolerance_seconds=60,
                                now=1_700_000_100)
    assert not verify_signature("whsec_a", "v1=abc", b'{"x":1}')
    assert not verify_signature("whsec_a", "garbage", b'{"x":1}')
    assert not verify_signature("", header, b'{"x":1}', now=1_700_000_100)


# --- assignment.submitted end to end ------------------------------------------------------


def test_submitting_an_assignment_delivers_a_signed_webhook(
        requester, worker, receiver, django_capture_on_commit_callbacks):
    endpoint = _subscribe(requester, receiver)
    project = _active_project(requester, items=2, overlap=1)
    profile = make_ready_worker(worker, skills={"sentiment-en": 60})
    assignment = assignment_claim(worker=profile, project_id=project.pk)
    answers = [{"item_id": item["id"], "value": "positive"}
               for item in selectors.served_items(assignment=assignment)]

    with django_capture_on_commit_callbacks(execute=True):
        work.submit(assignment_id=assignment.pk, worker=profile, answers=answers)

    assert len(receiver.received) == 1
    request = receiver.received[0]
    assert request["verified"] is True
    assert request["path"] == "/hooks/quorum"
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["Quorum-Event"] == "assignment.submitted"
    assert request["headers"]["Quorum-Delivery"] == str(delivery.public_id)
    assert request["body"] == delivery.body.encode()
    body = json.loads(request["body"])
    assert set(body) == {"id", "event", "created_at", "data"}
    assert body["id"] == str(delivery.public_id)
    assert body["event"] == "assignment.submitted"
    assignment.refresh_from_db()
    assert body["data"] == {
        "assignment_id": assignment.pk,
        "project_id": project.pk,
        "task_id": assignment.task_id,
        "worker_id": worker_pseudonym_for(project=project, worker=profile),
        "submitted_at": body["data"]["submitted_at"],
    }
    assert body["data"]["worker_id"].startswith("w_")
    assert parse_datetime(body["data"]["submitted_at"]) == assignment.submitted_at
    assert delivery.status == "succeeded"
    assert delivery.attempts == 1
    assert delivery.last_status_code == 200
    assert delivery.delivered_at is not None
    attempt = WebhookDeliveryAttempt.objects.get(delivery=delivery)
    assert (attempt.number, attempt.status_code, attempt.error) == (1, 200, "")
    assert attempt.duration_ms is not None


def test_submission_without_subscribers_creates_no_delivery(
        requester, worker, receiver, django_capture_on_commit_callbacks):
    _subscribe(requester, receiver, events=["item.finalized"])
    project = _active_project(requester, items=2, overlap=3)
    profile = make_ready_worker(worker, skills={"sentiment-en": 60})
    assignment = assignment_claim(worker=profile, project_id=project.pk)
    answers = [{"item_id": item["id"], "value": "neutral"}
               for item in selectors.served_items(assignment=assignment)]

    with django_capture_on_commit_callbacks(execute=True):
        work.submit(assignment_id=assignment.pk, worker=profile, answers=answers)

    assert WebhookDelivery.objects.count() == 0
    assert receiver.received == []


# --- emission -----------------------------------------------------------------------------


def test_emit_reaches_only_active_subscribed_endpoints_of_the_organization(
        requester, other_requester, receiver):
    subscribed = _subscribe(requester, receiver, events=["project.completed"])
    _subscribe(requester, receiver, events=["item.finalized"])
    disabled = _subscribe(requester, receiver, events=["project.completed"])
    WebhookEndpoint.objects.filter(pk=disabled.pk).update(is_active=False)
    _subscribe(other_requester, receiver, events=["project.completed"])

    created = _emit(requester, {"project_id": 3}, event="project.completed")

    assert created == 1
    assert list(WebhookDelivery.objects.values_list("endpoint_id", flat=True)) == [
        subscribed.pk]
    with pytest.raises(ValueError):
        _emit(requester, event="project.exploded")


def test_a_rolled_back_decision_sends_nothing(requester, receiver,
                                              django_capture_on_commit_callbacks):
    _subscribe(requester, receiver)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            _emit(requester)
            raise RuntimeError("the decision failed")

    assert callbacks == []
    assert WebhookDelivery.objects.count() == 0
    assert receiver.received == []


def test_finalized_items_are_batched_500_per_delivery(
        requester, receiver, django_capture_on_commit_callbacks):
    _subscribe(requester, receiver, events=["item.finalized"])
    project = _active_project(requester, items=2)
    items = [{"item_id": n, "external_id": f"x{n}", "result": "positive", "confidence": 0.9}
             for n in range(1201)]

    with django_capture_on_commit_callbacks(execute=True):
        created = webhook_emit_items_finalized(project=project, groups=[items])

    assert created == 3
    bodies = [json.loads(entry["body"]) for entry in receiver.received]
    assert all(entry["verified"] for entry in receiver.received)
    assert [body["event"] for body in bodies] == ["item.finalized"] * 3
    assert sorted(len(body["data"]["items"]) for body in bodies) == [201, 500, 500]
    assert {body["data"]["project_id"] for body in bodies} == {project.pk}
    delivered = sorted(item["item_id"] for body in bodies for item in body["data"]["items"])
    assert delivered == list(range(1201))
    assert len(set(receiver.delivery_ids)) == 3


# --- retries, backoff, cap ----------------------------------------------------------------


def test_failing_receiver_is_retried_with_backoff_until_the_cap(
        requester, receiver, django_capture_on_commit_callbacks, settings):
    assert settings.WEBHOOK_MAX_ATTEMPTS == 8
    _subscribe(requester, receiver)
    receiver.statuses = [500] * 20

    with django_capture_on_commit_callbacks(execute=True):
        _emit(requester)
    delivery = WebhookDelivery.objects.get()

    for attempt in range(1, 9):
        delivery.refresh_from_db()
        assert delivery.attempts == attempt
        assert len(receiver.received) == attempt
        assert delivery.last_status_code == 500
        assert delivery.last_error == "HTTP 500: receiver says no"
        if attempt == 8:
            break
        assert delivery.status == "pending"
        expected = min(3600, 30 * 2 ** (attempt - 1))
        delay = (delivery.next_attempt_at - timezone.now()).total_seconds()
        assert expected * 0.8 - 5 <= delay <= expected * 1.2, (attempt, delay)
        assert deliver_due_webhooks() == 0  # not due yet: nothing sent
        assert len(receiver.received) == attempt
        _make_due(delivery)
        assert deliver_due_webhooks() == 1

    assert delivery.status == "failed"
    assert delivery.next_attempt_at is None
    log = list(WebhookDeliveryAttempt.objects.filter(delivery=delivery)
               .values_list("number", "status_code"))
    assert log == [(n, 500) for n in range(1, 9)]
    # Every attempt carried the same delivery id and body, so receivers can deduplicate.
    assert set(receiver.delivery_ids) == {str(delivery.public_id)}
    assert {entry["body"] for entry in receiver.received} == {delivery.body.encode()}
    _make_due(delivery)
    assert deliver_due_webhooks() == 0
    assert len(receiver.received) == 8


def test_backoff_doubles_from_30_seconds_with_jitter_and_a_cap():
    class Fixed:
        def __init__(self, value):
            self.value = value

        def uniform(self, low, high):
            return low if self.value == "low" else high

    assert backoff_seconds(1, rng=Fixed("low")) == pytest.approx(24)
    assert backoff_seconds(1, rng=Fixed("high")) == pytest.approx(36)
    assert backoff_seconds(2, rng=Fixed("low")) == pytest.approx(48)
    assert backoff_seconds(3, rng=Fixed("high")) == pytest.approx(144)
    assert backoff_seconds(30, rng=Fixed("high")) == pytest.approx(3600 * 1.2)


def test_success_after_failures_ends_the_failure_streak(
        requester, receiver, django_capture_on_commit_callbacks):
    endpoint = _subscribe(requester, receiver)
    receiver.statuses = [503]
    with django_capture_on_commit_callbacks(execute=True):
        _emit(requester)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None

    _make_due(WebhookDelivery.objects.get())
    deliver_due_webhooks()

    delivery = WebhookDelivery.objects.get()
    endpoint.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("succeeded", 2, "")
    assert endpoint.failing_since is None
    assert endpoint.is_active is True


def test_redirects_are_not_followed(requester, receiver, django_capture_on_commit_callbacks):
    _subscribe(requester, receiver)
    receiver.statuses = [302]

    with django_capture_on_commit_callbacks(execute=True):
        _emit(requester)

    delivery = WebhookDelivery.objects.get()
    assert len(receiver.received) == 1
    assert delivery.status == "pending"
    assert delivery.last_error == "HTTP 302: redirects are not followed"


def test_unreachable_receiver_is_logged_as_an_error(requester, receiver,
                                                    django_capture_on_commit_callbacks):
    endpoint = _subscribe(requester, receiver)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url="http://127.0.0.1:9/closed")

    with django_capture_on_commit_callbacks(execute=True):
        _emit(requester)

    attempt = WebhookDeliveryAttempt.objects.get()
    assert attempt.status_code is None
    assert attempt.error.startswith("Request failed:")
    assert WebhookDelivery.objects.get().status == "pending"


# --- disabling after 24 hours of failures ------------------------------------------------


def test_endpoint_failing_for_24_hours_is_disabled_and_gets_no_new_deliveries(
        requester, requester_client, receiver, django_capture_on_commit_callbacks):
    endpoint = _subscribe(requester, receiver)
    receiver.statuses = [500] * 10
    with django_capture_on_commit_callbacks(execute=True):
        _emit(requester, {"assignment_id": 1})
    endpoint.refresh_from_db()
    assert endpoint.is_active is True and endpoint.failing_since is not None

    # 23 hours of failures: still active.
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(hours=23))
    _make_due(WebhookDelivery.objects.get())
    deliver_due_webhooks()
    endpoint.refresh_from_db()
    assert endpoint.is_active is True

    # Another event waits for its turn while the streak passes 24 hours.
    with django_capture_on_commit_callbacks(execute=False):
        _emit(requester, {"assignment_id": 2})
    waiting = WebhookDelivery.objects.latest("id")
    WebhookDelivery.objects.filter(pk=waiting.pk).update(
        next_attempt_at=timezone.now() + timedelta(minutes=5))
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(hours=24, minutes=1))
    first = WebhookDelivery.objects.earliest("id")
    _make_due(first)
    sent_before = len(receiver.received)
    deliver_due_webhooks()

    endpoint.refresh_from_db()
    assert len(receiver.received) == sent_before + 1
    assert endpoint.is_active is False
    assert endpoint.disabled_at is not None
    assert endpoint.disabled_reason.startswith(
        "Disabled automatically: every delivery attempt failed")
    assert "HTTP 500" in endpoint.disabled_reason
    waiting.refresh_from_db()
    assert waiting.status == "failed"
    assert waiting.last_error == "Not sent: the endpoint was disabled."
    first.refresh_from_db()
    assert first.status == "failed"
    assert _emit(requester, {"assignment_id": 3}) == 0
    shown = requester_client.get(f"/api/v1/webhooks/{endpoint.pk}").json()
    assert shown["is_active"] is False
    assert shown["disabled_reason"] == endpoint.disabled_reason
    _make_due(waiting)
    deliver_due_webhooks()
    assert len(receiver.received) == sent_before + 1


def test_delivery_queued_before_the_endpoint_was_disabled_is_not_sent(
        requester, receiver, django_capture_on_commit_callbacks):
    endpoint = _subscribe(requester, receiver)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _emit(requester)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False)

    for callback in callbacks:
        callback()

    delivery = WebhookDelivery.objects.get()
    assert receiver.received == []
    assert delivery.status == "failed"
    assert delivery.last_error == "Not sent: the endpoint is disabled."


# --- no double sends; crash recovery -------------------------------------------------------


def test_replayed_jobs_do_not_send_twice(requester, receiver,
                                         django_capture_on_commit_callbacks):
    _subscribe(requester, receiver)
    with django_capture_on_commit_callbacks(execute=True):
        _emit(requester)
    delivery = WebhookDelivery.objects.get()

    assert deliver_due_webhooks() == 0
    assert deliver_due_webhooks() == 0
    assert deliver_webhook(delivery.pk) is None  # a duplicate message of the first enqueue
    assert deliver_webhook.apply(args=(delivery.pk,)).get() is None

    assert len(receiver.received) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 1)


def test_delivery_held_by_a_live_lease_is_not_sent_again(
        requester, receiver, django_capture_on_commit_callbacks):
    _subscribe(requester, receiver)
    with django_capture_on_commit_callbacks(execute=False):
        _emit(requester)
    delivery = WebhookDelivery.objects.get()
    assert webhook_delivery_claim(delivery_id=delivery.pk) == 1  # another worker has it

    assert webhook_delivery_claim(delivery_id=delivery.pk) is None
    assert deliver_due_webhooks() == 0
    assert deliver_webhook(delivery.pk) is None
    assert receiver.received == []


def test_attempt_lost_with_its_worker_is_retried_after_the_lease(
        requester, receiver, django_capture_on_commit_callbacks):
    _subscribe(requester, receiver)
    with django_capture_on_commit_callbacks(execute=False):
        _emit(requester)
    delivery = WebhookDelivery.objects.get()
    assert webhook_delivery_claim(delivery_id=delivery.pk) == 1
    # ...and the worker that claimed it died. Time travel past its lease.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1))

    assert deliver_due_webhooks() == 1

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)
    log = list(WebhookDeliveryAttempt.objects.filter(delivery=delivery)
               .values_list("number", "status_code", "error"))
    assert log == [(1, None, "No result recorded: the attempt was lost (worker stopped or "
                             "timed out)."), (2, 200, "")]
    assert len(receiver.received) == 1


def test_late_result_of_a_lost_attempt_does_not_overwrite_the_newer_one(
        requester, receiver, django_capture_on_commit_callbacks):
    _subscribe(requester, receiver)
    with django_capture_on_commit_callbacks(execute=False):
        _emit(requester)
    delivery = WebhookDelivery.objects.get()
    assert webhook_delivery_claim(delivery_id=delivery.pk) == 1
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1))
    deliver_due_webhooks()  # attempt 2 succeeds

    # The slow worker of attempt 1 finally reports a failure.
    late = delivery_module.AttemptOutcome(status_code=500, error="HTTP 500", duration_ms=9)
    result = delivery_module._record(delivery, 1, started_at=timezone.now(), outcome=late)

    delivery.refresh_from_db()
    assert result is None
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)
    assert WebhookDeliveryAttempt.objects.get(delivery=delivery, number=1).status_code == 500


@requires_postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_beat_jobs_send_each_delivery_once(requester, receiver):
    _subscribe(requester, receiver)
    with transaction.atomic():
        for n in range(5):
            _emit(requester, {"assignment_id": n})  # enqueue after commit...
    receiver.received.clear()  # ...ran inline (eager); make them all due again
    WebhookDelivery.objects.update(status="pending", attempts=0, delivered_at=None,
                                   next_attempt_at=timezone.now() - timedelta(seconds=1))
    WebhookDeliveryAttempt.objects.all().delete()
    start = threading.Barrier(4)
    errors = []

    def beat():
        try:
            start.wait()
            deliver_due_webhooks()
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=beat) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(receiver.received) == 5
    assert len(set(receiver.delivery_ids)) == 5
    assert set(WebhookDelivery.objects.values_list("status", "attempts")) == {("succeeded", 1)}


# --- SSRF at delivery time ----------------------------------------------------------------


def test_delivery_refuses_a_url_that_now_points_at_a_private_address(
        requester, receiver, django_capture_on_commit_callbacks):
    _subscribe(requester, receiver)  # made while private URLs were allowed

    with override_settings(WEBHOOK_ALLOW_PRIVATE_URLS=False):
        with django_capture_on_commit_callbacks(execute=True):
            _emit(requester)

    attempt = WebhookDeliveryAttempt.objects.get()
    assert receiver.received == []
    assert attempt.status_code is None
    assert attempt.error.startswith("Refused: ")
    assert "127.0.0.1" in attempt.error


def test_dns_rebinding_is_refused_at_connect_time(
        requester, receiver, monkeypatch, django_capture_on_commit_callbacks):
    _subscribe(requester, receiver)
    # The name check sees a public address; the connection still lands on 127.0.0.1.
    monkeypatch.setattr(destinations, "resolve", lambda host, port: ["93.184.216.34"])

    with override_settings(WEBHOOK_ALLOW_PRIVATE_URLS=False):
        with django_capture_on_commit_callbacks(execute=True):
            _emit(requester)

    attempt = WebhookDeliveryAttempt.objects.get()
    assert receiver.received == []
    assert attempt.error == "Refused: connected to 127.0.0.1, which is not a public address."


def test_rotated_secret_signs_the_next_attempt(requester, receiver,
                                               django_capture_on_commit_callbacks):
    endpoint = _subscribe(requester, receiver)
    old_secret = receiver.secret
    _, receiver.secret = webhook_endpoint_rotate_secret(endpoint=endpoint, actor=requester)

    with django_capture_on_commit_callbacks(execute=True):
        _emit(requester)

    request = receiver.received[0]
    assert request["verified"] is True
    assert not verify_signature(old_secret, request["headers"]["Quorum-Signature"],
                                request["body"])
