"""The outside world: Stripe (funding, Connect accounts, transfers) and the manual payout
provider. The one place stripe-python is configured and called.

Every call here is slow network I/O and is never made inside a database transaction.
Errors are sorted into two kinds, because money depends on the difference:
- ``ProviderDeclined``: a definite answer; the operation did not and will not happen
  (a 4xx such as an invalid destination or an insufficient platform balance);
- ``ProviderUnavailable``: we do not know (timeout, connection reset, 5xx, rate limit);
  the caller keeps the money where it is and a reconcile job asks again later.
"""
import json
import logging
from dataclasses import dataclass
from functools import lru_cache

import requests
import stripe
from django.conf import settings

from config import input_rules

from .enums import PayoutProvider

logger = logging.getLogger("quorum.payments")

CURRENCY = "usd"


class ProviderError(Exception):
    pass


class ProviderUnavailable(ProviderError):
    """Outcome unknown: retry or ask later, with the same idempotency key."""


class ProviderDeclined(ProviderError):
    """Definite refusal: nothing happened at the provider."""


class ProviderNotConfigured(ProviderUnavailable):
    """No provider is set up (no STRIPE_SECRET_KEY, sandbox off). Nothing reached any
    provider; for money already in flight it behaves as "unknown" (stays put)."""


class WebhookSignatureInvalid(Exception):
    pass


class WebhookEventMalformed(Exception):
    """Signed by Stripe (so not an attacker's noise) but not an event we can read: answered
    400 and recorded (``services.stripe_event_record_malformed``) for someone to look at."""

    def __init__(self, problem: str, event: object = None):
        super().__init__(problem)
        self.problem = problem
        self.event = event


# --- Stripe client -------------------------------------------------------------------------

class _RequestsClient(stripe.RequestsClient):
    """stripe-python's requests client without a per-call cost: a requests session that
    trusts the environment scans every environment variable twice on each call, looking
    for proxy settings (and stats ~/.netrc): 0.4 ms of CPU, over a third of what a
    transfer costs the client (bench/payout_run.py). Here the proxy settings for the API
    address are read once, when the client is built (no_proxy honoured), and each thread
    gets its own session as stripe-python gives it (requests sessions are not
    thread-safe). Stripe authenticates with its own header and passes its CA bundle, so
    nothing else the environment could say applies. Relies on stripe-python's
    per-thread session attribute (pinned in requirements.txt)."""

    def __init__(self, *, api_base: str, **kwargs):
        super().__init__(**kwargs)
        self._environ_proxies = requests.utils.get_environ_proxies(api_base)

    def _request_internal(self, *args, **kwargs):
        if getattr(self._thread_local, "session", None) is None:
            session = requests.Session()
            session.trust_env = False
            session.proxies.update(self._environ_proxies)
            self._thread_local.session = session
        return super()._request_internal(*args, **kwargs)


@lru_cache(maxsize=4)
def _client(api_key: str, api_base: str, timeout: float, retries: int) -> stripe.StripeClient:
    base_addresses = {"api": api_base, "connect": api_base} if api_base else None
    return stripe.StripeClient(
        api_key, base_addresses=base_addresses, max_network_retries=retries,
        http_client=_RequestsClient(timeout=timeout,
                                    api_base=api_base or stripe.DEFAULT_API_BASE))


def stripe_client() -> stripe.StripeClient:
    """Built from settings on each call (cached per configuration), so tests can point
    STRIPE_API_BASE at a local server with the ``settings`` fixture."""
    if not settings.STRIPE_SECRET_KEY:
        raise ProviderNotConfigured(
            "No payment provider is configured: set STRIPE_SECRET_KEY (and "
            "STRIPE_WEBHOOK_SECRET), or PAYMENTS_SANDBOX=true for test money.")
    return _client(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE,
                   float(settings.STRIPE_TIMEOUT_SECONDS), settings.STRIPE_MAX_NETWORK_RETRIES)


def _classify(exc: stripe.StripeError) -> ProviderError:
    status = getattr(exc, "http_status", None)
    message = getattr(exc, "user_message", None) or str(exc) or exc.__class__.__name__
    if isinstance(exc, (stripe.APIConnectionError, stripe.RateLimitError,
                        stripe.AuthenticationError, stripe.IdempotencyError)):
        # Authentication and idempotency-key misuse are our configuration problems,
        # not a refusal of this payment: keep the money where it is and alert.
        return ProviderUnavailable(message)
    if status is None or status >= 500 or status in (408, 409, 429):
        return ProviderUnavailable(message)
    return ProviderDeclined(message)


def _call(operation, *args, **kwargs) -> dict:
    try:
        result = operation(*args, **kwargs)
    except stripe.StripeError as exc:
        error = _classify(exc)
        logger.warning("stripe call failed: %s (%s)", error, type(error).__name__)
        raise error from exc
    return result.to_dict() if hasattr(result, "to_dict") else dict(result)


def payment_intent_create(*, amount_cents: int, metadata: dict, idempotency_key: str) -> dict:
    if settings.PAYMENTS_SANDBOX:
        return sandbox_intent(amount_cents=amount_cents, metadata=metadata,
                              topup_id=metadata["topup_id"])
    return _call(stripe_client().v1.payment_intents.create,
                 params={"amount": amount_cents, "currency": CURRENCY,
                         "payment_method_types": ["card"], "metadata": metadata},
                 options={"idempotency_key": idempotency_key})


def payment_intent_retrieve(intent_id: str) -> dict:
    if intent_id.startswith(SANDBOX_PREFIX):
        return _sandbox_intent_by_id(intent_id)
    return _call(stripe_client().v1.payment_intents.retrieve, intent_id)


def webhook_event(payload: bytes, signature_header: str | None) -> dict:
    """Verify Stripe's signature (HMAC with STRIPE_WEBHOOK_SECRET, timestamp tolerance)
    and return the event as plain JSON."""
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret or not signature_header:
        raise WebhookSignatureInvalid("Missing Stripe-Signature or webhook secret.")
    try:
        stripe.WebhookSignature.verify_header(payload.decode("utf-8"), signature_header, secret,
                                              stripe.Webhook.DEFAULT_TOLERANCE)
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as exc:
        raise WebhookSignatureInvalid(str(exc)) from exc
    try:
        event = input_rules.loads(payload)
    except ValueError as exc:
        raise WebhookEventMalformed(f"Not JSON: {exc}") from exc
    problem = _event_problem(event)
    if problem:
        raise WebhookEventMalformed(problem, event)
    return event


def _event_problem(event) -> str | None:
    """What makes a signed body unusable as an event (its shape, or content PostgreSQL
    cannot store), or None."""
    if not isinstance(event, dict):
        return "The event is not a JSON object."
    for name, max_length in (("id", 255), ("type", 100)):
        value = event.get(name)
        if not isinstance(value, str) or not value or len(value) > max_length:
            return f"'{name}' must be a non-empty string of at most {max_length} characters."
    data = event.get("data")
    if data is not None and not isinstance(data, dict):
        return "'data' must be an object."
    if data is not None and not isinstance(data.get("object", {}), dict):
        return "'data.object' must be an object."
    found = input_rules.value_problem(event)
    if found:
        path, problem = found
        return f"{path}: {problem}"
    return None
# --- Sandbox (zero-setup mode: test money) ---------------------------------------------------

SANDBOX_PREFIX = "sandbox_"


def sandbox_intent(*, amount_cents: int, metadata: dict, topup_id) -> dict:
    """What Stripe would answer for a PaymentIntent that succeeded at once."""
    return {"id": f"{SANDBOX_PREFIX}pi_{topup_id}", "object": "payment_intent",
            "amount": amount_cents, "amount_received": amount_cents, "currency": CURRENCY,
            "status": "succeeded", "client_secret": f"{SANDBOX_PREFIX}pi_{topup_id}_secret",
            "metadata": metadata, "livemode": False}


def _sandbox_intent_by_id(intent_id: str) -> dict:
    from .models import TopUp  # the sandbox keeps no server: the top-up row is its memory

    topup = TopUp.objects.filter(stripe_payment_intent_id=intent_id, sandbox=True).first()
    if topup is None:
        raise ProviderDeclined(f"No sandbox PaymentIntent {intent_id}.")
    return sandbox_intent(amount_cents=topup.amount_cents,
                          metadata={"topup_id": str(topup.pk),
                                    "organization_id": str(topup.organization_id)},
                          topup_id=topup.pk)


def sandbox_payment_succeeded_event(intent: dict) -> dict:
    """The ``payment_intent.succeeded`` event Stripe would send, for the webhook's own
    code path (funding.stripe_event_receive): credited once, like any event id."""
    return {"id": f"{SANDBOX_PREFIX}evt_{intent['id']}", "type": "payment_intent.succeeded",
            "livemode": False, "data": {"object": intent}}


# --- Connect accounts ----------------------------------------------------------------------

def connect_account_create(*, worker_id: int, email: str) -> dict:
    return _call(stripe_client().v1.accounts.create,
                 params={"type": "express", "email": email,
                         "capabilities": {"transfers": {"requested": True}},
                         "metadata": {"worker_id": str(worker_id)}},
                 options={"idempotency_key": f"payout_account:{worker_id}"})


def connect_account_retrieve(account_id: str) -> dict:
    return _call(stripe_client().v1.accounts.retrieve, account_id)


def connect_onboarding_link(account_id: str) -> str:
    link = _call(stripe_client().v1.account_links.create,
                 params={"account": account_id, "type": "account_onboarding",
                         "refresh_url": settings.PAYOUT_ONBOARDING_REFRESH_URL,
                         "return_url": settings.PAYOUT_ONBOARDING_RETURN_URL})
    return link["url"]


def connect_account_can_receive(account: dict) -> bool:
    capabilities = account.get("capabilities") or {}
    return bool(account.get("payouts_enabled")) or capabilities.get("transfers") == "active"


# --- Payout providers ----------------------------------------------------------------------

@dataclass(frozen=True)
class TransferOutcome:
    settled: bool  # False: accepted, settles later (manual payouts wait for an admin)
    reference: str = ""


def transfer_group(payout) -> str:
    return f"payout_{payout.pk}"


class StripePayouts:
    name = PayoutProvider.STRIPE

    def transfer(self, payout) -> TransferOutcome:
        transfer = _call(
            stripe_client().v1.transfers.create,
            params={"amount": payout.amount_cents, "currency": CURRENCY,
                    "destination": payout.payout_account.stripe_account_id,
                    "transfer_group": transfer_group(payout),
                    "metadata": {"payout_id": str(payout.pk),
                                 "worker_id": str(payout.worker_id)}},
            options={"idempotency_key": f"payout:{payout.pk}"})
        return TransferOutcome(settled=True, reference=transfer["id"])

    def find(self, payout) -> str | None:
        """The transfer this payout made, if any - asked by transfer group, which does not
        expire the way a 24-hour idempotency key does."""
        found = _call(stripe_client().v1.transfers.list,
                      params={"transfer_group": transfer_group(payout), "limit": 10})
        for transfer in found.get("data", []):
            if (transfer.get("metadata") or {}).get("payout_id") == str(payout.pk):
                return transfer["id"]
        return None


class ManualPayouts:
    """Money leaves by bank transfer outside the platform: an admin exports the in-flight
    payouts as CSV, pays them, and marks each paid (or failed)."""

    name = PayoutProvider.MANUAL

    def transfer(self, payout) -> TransferOutcome:
        return TransferOutcome(settled=False)

    def find(self, payout) -> str | None:
        return None


class SandboxPayouts:
    """Zero-setup mode: a payout to a sandbox account is test money and is marked paid at
    once. Refused (money returned) when the sandbox is off, so a sandbox account left
    over in a real deployment can never be "paid" with nothing sent."""

    name = PayoutProvider.SANDBOX

    def transfer(self, payout) -> TransferOutcome:
        if not settings.PAYMENTS_SANDBOX:
            raise ProviderDeclined("Sandbox payouts are off (PAYMENTS_SANDBOX is false).")
        return TransferOutcome(settled=True, reference=f"{SANDBOX_PREFIX}tr_{payout.pk}")

    def find(self, payout) -> str | None:
        return f"{SANDBOX_PREFIX}tr_{payout.pk}" if settings.PAYMENTS_SANDBOX else None


def payout_provider(name: str):
    if name == PayoutProvider.STRIPE:
        return StripePayouts()
    if name == PayoutProvider.MANUAL:
        return ManualPayouts()
    if name == PayoutProvider.SANDBOX:
        return SandboxPayouts()
    raise ValueError(f"unknown payout provider {name!r}")
