"""Funding: Stripe top-ups credit only on Stripe's word, once, whatever arrives in what
order; a lost webhook is recovered by the reconcile job; admins credit invoiced
customers. Stripe is the real stripe-python client over HTTP to the test server."""
import pytest

from conftest import client_for
from payments import ledger
from payments.enums import JournalKind, TopUpStatus
from payments.models import Journal, ManualCredit, PaymentAuditEvent, StripeEvent, TopUp
from payments.services import topup_reconcile, topups_reconcile

from .factories import make_requester, make_staff, make_worker, org_available

pytestmark = pytest.mark.django_db

WEBHOOK = "/api/v1/payments/stripe/webhook"
TOPUPS = "/api/v1/billing/topups"


def _topup(client, amount_cents=5000, **headers) -> dict:
    response = client.post(TOPUPS, {"amount_cents": amount_cents}, format="json", **headers)
    assert response.status_code == 201, response.json()
    return response.json()


def _deliver(api_client, stripe_server, payload: bytes, signature: str | None = None):
    return api_client.post(WEBHOOK, data=payload, content_type="application/json",
                           HTTP_STRIPE_SIGNATURE=signature or stripe_server.sign(payload))


def test_a_topup_creates_a_payment_intent_and_credits_nothing_yet(stripe_server):
    requester = make_requester()

    body = _topup(client_for(requester), 5000)

    topup = TopUp.objects.get(pk=body["topup_id"])
    assert body["status"] == "pending"
    assert body["client_secret"] == topup.client_secret != ""
    intent = stripe_server.intent(topup.stripe_payment_intent_id)
    assert (intent["amount"], intent["currency"]) == (5000, "usd")
    assert intent["metadata"] == {"topup_id": str(topup.pk),
                                  "organization_id": str(requester.membership.organization.pk)}
    assert org_available(requester) == 0
    assert not Journal.objects.exists()


def test_the_same_idempotency_key_returns_the_same_topup(stripe_server):
    client = client_for(make_requester())

    first = _topup(client, 5000, HTTP_IDEMPOTENCY_KEY="topup-1")
    second = _topup(client, 5000, HTTP_IDEMPOTENCY_KEY="topup-1")
    reused = client.post(TOPUPS, {"amount_cents": 6000}, format="json",
                         HTTP_IDEMPOTENCY_KEY="topup-1")

    assert second == first
    assert reused.status_code == 409
    assert TopUp.objects.count() == 1


@pytest.mark.parametrize("amount", [0, 49, 10_000_001, "ten"])
def test_a_bad_amount_is_400(stripe_server, amount):
    response = client_for(make_requester()).post(TOPUPS, {"amount_cents": amount}, format="json")

    assert response.status_code == 400
    assert "amount_cents" in response.json()["error"]["fields"]
    assert not TopUp.objects.exists()


def test_only_requesters_top_up(stripe_server):
    assert client_for(make_worker().user).post(TOPUPS, {"amount_cents": 5000},
                                               format="json").status_code == 403


def test_stripe_down_answers_503_and_the_topup_waits_for_reconcile(settings, stripe_server):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    client = client_for(make_requester())

    response = client.post(TOPUPS, {"amount_cents": 5000}, format="json")

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "payment_provider_unavailable"
    topup = TopUp.objects.get()
    assert (topup.status, topup.stripe_payment_intent_id) == ("pending", None)

    settings.STRIPE_API_BASE = stripe_server.url
    assert topup_reconcile(topup_id=topup.pk) == "still_requires_payment_method"
    topup.refresh_from_db()
    assert topup.stripe_payment_intent_id.startswith("pi_")


def test_a_succeeded_webhook_credits_the_organization(api_client, stripe_server):
    requester = make_requester()
    topup = TopUp.objects.get(pk=_topup(client_for(requester), 5000)["topup_id"])
    intent = stripe_server.pay(topup.stripe_payment_intent_id)
    assert intent["status"] == "succeeded"

    response = _deliver(api_client, stripe_server,
                        stripe_server.event("payment_intent.succeeded", intent))

    assert response.status_code == 200
    assert response.json() == {"received": True, "outcome": "credited"}
    assert org_available(requester) == 5000
    topup.refresh_from_db()
    assert (topup.status, topup.credited_cents) == ("succeeded", 5000)
    journal = Journal.objects.get(kind=JournalKind.TOPUP)
    assert (journal.key, journal.topup_id) == (f"topup:{topup.pk}", topup.pk)
    balance = client_for(requester).get("/api/v1/billing/balance").json()
    assert balance == {"available_cents": 5000, "escrow_cents": 0, "spent_cents": 0,
                       "currency": "usd"}
    listed = client_for(requester).get(TOPUPS).json()["results"]
    assert [(t["id"], t["status"], t["credited_cents"]) for t in listed] == [
        (topup.pk, "succeeded", 5000)]


def test_a_webhook_replayed_100_times_credits_once(api_client, stripe_server):
    requester = make_requester()
    topup = TopUp.objects.get(pk=_topup(client_for(requester), 5000)["topup_id"])
    payload = stripe_server.event("payment_intent.succeeded",
                                  stripe_server.pay(topup.stripe_payment_intent_id))
    signature = stripe_server.sign(payload)

    outcomes = [_deliver(api_client, stripe_server, payload, signature).json()["outcome"]
                for _ in range(100)]

    assert outcomes == ["credited"] + ["duplicate"] * 99
    assert org_available(requester) == 5000
    assert Journal.objects.filter(kind=JournalKind.TOPUP).count() == 1
    assert StripeEvent.objects.count() == 1


def test_distinct_events_and_out_of_order_failures_credit_once(api_client, stripe_server):
    requester = make_requester()
    topup = TopUp.objects.get(pk=_topup(client_for(requester), 5000)["topup_id"])
    intent = stripe_server.pay(topup.stripe_payment_intent_id)
    failed = dict(intent, status="requires_payment_method",
                  last_payment_error={"message": "Card declined"})

    outcomes = [_deliver(api_client, stripe_server, stripe_server.event(kind, obj)).json()
                ["outcome"] for kind, obj in [
                    ("payment_intent.payment_failed", failed),
                    ("payment_intent.succeeded", intent),
                    ("payment_intent.succeeded", intent),  # a new event id, same intent
                    ("payment_intent.payment_failed", failed),  # late, out of order
                ]]

    assert outcomes == ["failed", "credited", "already_credited", "already_credited"]
    assert org_available(requester) == 5000
    assert TopUp.objects.get().status == TopUpStatus.SUCCEEDED


@pytest.mark.parametrize("signature", [None, "t=1,v1=deadbeef", "garbage"])
def test_a_bad_signature_is_400_and_changes_nothing(api_client, stripe_server, signature):
    requester = make_requester()
    topup = TopUp.objects.get(pk=_topup(client_for(requester), 5000)["topup_id"])
    payload = stripe_server.event("payment_intent.succeeded",
                                  stripe_server.pay(topup.stripe_payment_intent_id))
    headers = {} if signature is None else {"HTTP_STRIPE_SIGNATURE": signature}

    response = api_client.post(WEBHOOK, data=payload, content_type="application/json",
                               **headers)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_signature"
    assert org_available(requester) == 0
    assert not StripeEvent.objects.exists()


def test_a_payload_signed_with_another_secret_is_400(api_client, stripe_server):
    payload = stripe_server.event("payment_intent.succeeded", {"id": "pi_x"})

    response = _deliver(api_client, stripe_server, payload,
                        stripe_server.sign(payload, secret="whsec_someone_else"))

    assert response.status_code == 400


def test_an_event_for_an_unknown_intent_is_recorded_and_ignored(api_client, stripe_server):
    payload = stripe_server.event("payment_intent.succeeded",
                                  {"id": "pi_not_ours", "amount": 100, "currency": "usd"})

    assert _deliver(api_client, stripe_server, payload).json()["outcome"] == "unknown_intent"
    assert not Journal.objects.exists()


def test_reconcile_credits_a_topup_whose_webhook_was_lost(api_client, stripe_server):
    requester = make_requester()
    topup = TopUp.objects.get(pk=_topup(client_for(requester), 5000)["topup_id"])
    other = TopUp.objects.get(pk=_topup(client_for(requester), 700)["topup_id"])  # unpaid
    intent = stripe_server.pay(topup.stripe_payment_intent_id)

    outcomes = topups_reconcile(older_than_seconds=0)
    late = _deliver(api_client, stripe_server,
                    stripe_server.event("payment_intent.succeeded", intent))

    assert outcomes == {"credited": 1, "still_requires_payment_method": 1}
    assert late.json()["outcome"] == "already_credited"
    assert org_available(requester) == 5000
    other.refresh_from_db()
    assert other.status == TopUpStatus.PENDING
    assert topups_reconcile(older_than_seconds=0) == {"still_requires_payment_method": 1}


def test_reconcile_recovers_an_intent_created_before_a_crash(stripe_server):
    requester = make_requester()
    topup = TopUp.objects.get(pk=_topup(client_for(requester), 5000)["topup_id"])
    intent_id = topup.stripe_payment_intent_id
    # We crashed after Stripe made the intent, before we saved its id.
    TopUp.objects.filter(pk=topup.pk).update(stripe_payment_intent_id=None, client_secret="")
    stripe_server.pay(intent_id)

    assert topup_reconcile(topup_id=topup.pk) == "credited"

    topup.refresh_from_db()
    assert topup.stripe_payment_intent_id == intent_id  # same idempotency key, same intent
    assert org_available(requester) == 5000


# --- Manual credits -------------------------------------------------------------------------

def test_an_admin_credits_an_invoiced_customer_once_per_idempotency_key():
    requester = make_requester()
    organization = requester.membership.organization
    staff = make_staff()
    client = client_for(staff)
    url = f"/api/v1/admin/organizations/{organization.pk}/credit"
    body = {"amount_cents": 250_000, "reason": "Invoice 2026-014 paid by wire"}

    first = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="inv-2026-014")
    again = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="inv-2026-014")

    assert first.status_code == 201, first.json()
    assert again.json() == first.json()
    assert first.json()["amount_cents"] == 250_000
    assert org_available(requester) == 250_000
    credit = ManualCredit.objects.get()
    assert (credit.created_by_id, credit.reason) == (staff.pk, body["reason"])
    audit = PaymentAuditEvent.objects.get(kind="manual_credit")
    assert (audit.actor_id, audit.organization_id) == (staff.pk, organization.pk)
    assert Journal.objects.get().actor_id == staff.pk


@pytest.mark.parametrize("who, status", [("requester", 403), ("worker", 403)])
def test_only_staff_credit(who, status):
    requester = make_requester()
    user = requester if who == "requester" else make_worker().user
    url = f"/api/v1/admin/organizations/{requester.membership.organization.pk}/credit"

    response = client_for(user).post(url, {"amount_cents": 100, "reason": "x"}, format="json")

    assert response.status_code == status
    assert not ManualCredit.objects.exists()


def test_credit_input_is_validated():
    requester = make_requester()
    client = client_for(make_staff())
    url = f"/api/v1/admin/organizations/{requester.membership.organization.pk}/credit"

    assert client.post(url, {"amount_cents": -5, "reason": "x"}, format="json") \
        .status_code == 400
    assert client.post(url, {"amount_cents": 5}, format="json").status_code == 400
    assert client.post("/api/v1/admin/organizations/999999/credit",
                       {"amount_cents": 5, "reason": "x"}, format="json").status_code == 404
    assert ledger.balance_of(ledger.EXTERNAL_FUNDING) == 0


# --- signed but malformed events (issue 10) --------------------------------------------------

MALFORMED = [
    (b'{"id": "evt_int_type", "type": 7, "data": {"object": {}}}',
     "malformed:evt_int_type", "7",
     "'type' must be a non-empty string of at most 100 characters."),
    (b'{"id": "evt_str_data", "type": "payment_intent.succeeded", "data": "x"}',
     "malformed:evt_str_data", "payment_intent.succeeded", "'data' must be an object."),
    (b'{"id": "evt_list_obj", "type": "payment_intent.succeeded", "data": {"object": [1]}}',
     "malformed:evt_list_obj", "payment_intent.succeeded", "'data.object' must be an object."),
    (b'{"id": "evt_nul", "type": "payment_intent.succ\\u0000eeded", "data": {}}',
     "malformed:evt_nul", "payment_intent.succ\\u0000eeded",
     "type: Must not contain the NUL character (\\u0000)."),
]


@pytest.mark.parametrize(("payload", "event_id", "event_type", "problem"), MALFORMED)
def test_a_signed_but_malformed_event_is_400_and_recorded(api_client, stripe_server, payload,
                                                          event_id, event_type, problem):
    response = _deliver(api_client, stripe_server, payload)

    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "malformed_event", "message": f"Signed event not understood: {problem}",
        "fields": {}}
    record = StripeEvent.objects.get()
    assert (record.event_id, record.type, record.outcome) == (
        event_id, event_type, f"malformed: {problem}")
    assert record.payload == {"malformed_body": payload.decode()}

    again = _deliver(api_client, stripe_server, payload)

    assert again.status_code == 400
    assert StripeEvent.objects.count() == 1
    assert not Journal.objects.exists()


def test_a_signed_body_that_is_not_json_is_recorded_by_its_digest(api_client, stripe_server):
    payload = b"[" * 5000

    response = _deliver(api_client, stripe_server, payload)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_event"
    record = StripeEvent.objects.get()
    assert record.event_id.startswith("malformed:") and len(record.event_id) == 74
    assert record.payload == {"malformed_body": payload.decode()}
