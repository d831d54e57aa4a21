"""Money in: Stripe top-ups (credited only on Stripe's word) and manual admin credits.

Guarantee: a top-up credits its organization exactly once, whatever arrives and in what
order - the webhook once or a hundred times, events out of order, the reconcile job
before or after the webhook. Three things make it so: each Stripe event id is stored
once (unique), the top-up row is locked and its status checked before crediting, and the
credit journal's key is ``topup:<id>`` (unique). Stripe is never called inside a
transaction: the top-up row is committed first, so a crash after Stripe created the
PaymentIntent is repaired by the reconcile job (same Stripe idempotency key, same intent).
"""
import hashlib
import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from config import input_rules
from config.errors import Conflict, InvalidInput, required_text
from marketplace.models import Organization

from .. import ledger, providers
from ..enums import JournalKind, PayoutAccountStatus, TopUpStatus
from ..errors import (
    ProviderDeclinedError,
    ProviderNotConfiguredError,
    ProviderUnavailableError,
)
from ..events import audit
from ..locks import topup_for_update
from ..models import ManualCredit, PayoutAccount, StripeEvent, TopUp

logger = logging.getLogger("quorum.payments")

# Stripe keeps idempotency keys for 24 hours: past that, re-creating a lost intent could
# make a second one, so a top-up that never reached Stripe by then is given up.
INTENT_CREATE_WINDOW = timedelta(hours=23)
RECONCILE_WINDOW = timedelta(days=7)


# --- Top-ups -------------------------------------------------------------------------------

def topup_create(*, organization: Organization, actor: User, amount_cents: int,
                 request_key: str | None = None) -> TopUp:
    """Record the top-up, then ask Stripe for a PaymentIntent (outside the transaction).

    ``request_key`` is the client's Idempotency-Key: the same key returns the same top-up
    (and intent) instead of creating another.
    """
    with transaction.atomic(durable=True):
        topup = _existing_request(actor, request_key, amount_cents)
        if topup is None:
            try:
                with transaction.atomic():
                    topup = TopUp.objects.create(organization=organization, created_by=actor,
                                                 amount_cents=amount_cents,
                                                 request_key=request_key,
                                                 sandbox=settings.PAYMENTS_SANDBOX)
            except IntegrityError:
                # A concurrent twin with the same key committed first.
                topup = _existing_request(actor, request_key, amount_cents)
    if not topup.stripe_payment_intent_id and topup.status == TopUpStatus.PENDING:
        _attach_intent(topup)
        topup.refresh_from_db()
    if topup.sandbox and topup.status == TopUpStatus.PENDING:
        # Test money: the payment "succeeds" at once and is credited by the very code
        # that credits Stripe's webhook (one event id, applied once).
        intent = providers.payment_intent_retrieve(topup.stripe_payment_intent_id)
        stripe_event_receive(event=providers.sandbox_payment_succeeded_event(intent))
        topup.refresh_from_db()
    return topup


def _existing_request(actor, request_key, amount_cents) -> TopUp | None:
    if not request_key:
        return None
    topup = TopUp.objects.filter(created_by=actor, request_key=request_key).first()
    if topup is not None and topup.amount_cents != amount_cents:
        raise Conflict("This Idempotency-Key was used with a different request.",
                       code="idempotency_key_reused")
    return topup


def _attach_intent(topup: TopUp) -> None:
    try:
        intent = providers.payment_intent_create(
            amount_cents=topup.amount_cents,
            metadata={"topup_id": str(topup.pk),
                      "organization_id": str(topup.organization_id)},
            idempotency_key=f"topup:{topup.pk}")
    except providers.ProviderDeclined as exc:
        TopUp.objects.filter(pk=topup.pk, status=TopUpStatus.PENDING).update(
            status=TopUpStatus.FAILED, failure_reason=str(exc)[:1000])
        raise ProviderDeclinedError(f"Stripe refused the payment: {exc}")
    except providers.ProviderNotConfigured as exc:
        # Nothing reached any provider and nothing will: the top-up is closed, not left
        # for the reconcile job.
        TopUp.objects.filter(pk=topup.pk, status=TopUpStatus.PENDING).update(
            status=TopUpStatus.FAILED, failure_reason=str(exc)[:1000])
        raise ProviderNotConfiguredError()
    except providers.ProviderUnavailable:
        # The row stays pending; a retry with the same Idempotency-Key or the reconcile
        # job asks Stripe again with the same key and gets the same intent.
        raise ProviderUnavailableError()
    TopUp.objects.filter(pk=topup.pk, stripe_payment_intent_id__isnull=True).update(
        stripe_payment_intent_id=intent["id"], client_secret=intent.get("client_secret") or "")


def _topup_for_intent(intent: dict) -> TopUp | None:
    """The locked top-up behind a PaymentIntent: by intent id, or - when we crashed between
    Stripe creating the intent and us saving its id - by the metadata we sent."""
    topup_id = (TopUp.objects.filter(stripe_payment_intent_id=intent["id"])
                .values_list("pk", flat=True).first())
    if topup_id is None:
        metadata = intent.get("metadata") or {}
        raw = str(metadata.get("topup_id", ""))
        if not raw.isdigit():
            return None
        topup_id = int(raw)
    try:
        topup = topup_for_update(topup_id=topup_id)
    except TopUp.DoesNotExist:
        return None
    if topup.stripe_payment_intent_id and topup.stripe_payment_intent_id != intent["id"]:
        return None  # metadata naming a top-up that belongs to another intent: not ours
    claimed_organization = (intent.get("metadata") or {}).get("organization_id")
    if claimed_organization is not None and str(claimed_organization) != str(
            topup.organization_id):
        return None
    return topup


def _credit(topup: TopUp, intent: dict) -> str:
    """Credit a succeeded intent once. Caller holds the top-up row lock."""
    if topup.status == TopUpStatus.SUCCEEDED:
        return "already_credited"
    if (intent.get("currency") or "usd").lower() != providers.CURRENCY:
        logger.error("top-up %s: intent %s in %s", topup.pk, intent["id"], intent.get("currency"))
        return "wrong_currency"
    # What Stripe actually collected; the amount we asked for if it does not say.
    amount = int(intent.get("amount_received") or intent.get("amount") or 0)
    if amount <= 0:
        return "nothing_received"
    ledger.post_journal(
        key=f"topup:{topup.pk}", kind=JournalKind.TOPUP,
        lines=[(ledger.EXTERNAL_FUNDING, -amount),
               (ledger.organization_available(topup.organization_id), amount)],
        memo=(f"TEST MONEY (sandbox) {intent['id']}" if topup.sandbox
              else f"Stripe PaymentIntent {intent['id']}"),
        organization_id=topup.organization_id, topup=topup)
    topup.status = TopUpStatus.SUCCEEDED
    topup.credited_cents = amount
    topup.succeeded_at = timezone.now()
    topup.stripe_payment_intent_id = intent["id"]
    topup.failure_reason = ""
    topup.save(update_fields=["status", "credited_cents", "succeeded_at",
                              "stripe_payment_intent_id", "failure_reason"])
    return "credited"


def _intent_closed(topup: TopUp, intent: dict, status: str) -> str:
    """Failure or cancellation never undoes a credit: a later, out-of-order failure
    event for a succeeded intent changes nothing."""
    if topup.status == TopUpStatus.SUCCEEDED:
        return "already_credited"
    error = intent.get("last_payment_error") or {}
    topup.status = status
    topup.failure_reason = (error.get("message") or status)[:1000]
    topup.save(update_fields=["status", "failure_reason"])
    return status


def stripe_event_receive(*, event: dict) -> str:
    """Apply one verified Stripe event, once per event id. Returns what happened."""
    with transaction.atomic(durable=True):
        try:
            with transaction.atomic():
                record = StripeEvent.objects.create(event_id=event["id"],
                                                    type=str(event["type"])[:100],
                                                    payload=event)
        except IntegrityError:
            return "duplicate"  # a replay; or a twin that waited on the index for us
        outcome = _apply_event(event)
        record.outcome = outcome
        record.save(update_fields=["outcome"])
        return outcome


def stripe_event_record_malformed(*, body: bytes, problem: str, event=None) -> StripeEvent:
    """Keep a signed event we could not read, once per event id (or per body when the id
    itself is unusable), with what was wrong: Stripe will redeliver it, and someone has to
    find out why our reading and Stripe's writing disagree."""
    event_id = event.get("id") if isinstance(event, dict) else None
    if not (isinstance(event_id, str) and event_id and len(event_id) <= 200
            and input_rules.text_problem(event_id) is None):
        event_id = "malformed:" + hashlib.sha256(body).hexdigest()
    else:
        event_id = "malformed:" + event_id
    event_type = event.get("type") if isinstance(event, dict) else None
    event_type = (str(event_type) if event_type is not None else "")
    # The body as text, with NUL and invalid sequences escaped: jsonb cannot hold them.
    text = _printable(body.decode("utf-8", errors="backslashreplace"))
    record, _ = StripeEvent.objects.get_or_create(event_id=event_id, defaults={
        "type": _printable(event_type)[:100], "payload": {"malformed_body": text},
        "outcome": ("malformed: " + _printable(problem))[:200]})
    return record


def _printable(text: str) -> str:
    return input_rules.BAD_CHARACTERS.sub(lambda found: f"\\u{ord(found.group()):04x}",
                                          text)


def _apply_event(event: dict) -> str:
    kind = event["type"]
    obj = ((event.get("data") or {}).get("object")) or {}
    if kind.startswith("payment_intent.") and obj.get("id"):
        topup = _topup_for_intent(obj)
        if topup is None:
            return "unknown_intent"
        if kind == "payment_intent.succeeded":
            return _credit(topup, obj)
        if kind == "payment_intent.payment_failed":
            return _intent_closed(topup, obj, TopUpStatus.FAILED)
        if kind == "payment_intent.canceled":
            return _intent_closed(topup, obj, TopUpStatus.CANCELED)
        return "ignored"
    if kind == "account.updated" and obj.get("id"):
        return _payout_account_refresh(obj)
    return "ignored"


def _payout_account_refresh(remote: dict) -> str:
    status = (PayoutAccountStatus.ACTIVE if providers.connect_account_can_receive(remote)
              else PayoutAccountStatus.ONBOARDING)
    updated = PayoutAccount.objects.filter(stripe_account_id=remote["id"]).exclude(
        status=PayoutAccountStatus.DISABLED).update(status=status, updated_at=timezone.now())
    return f"payout_account_{status}" if updated else "unknown_account"


def topup_reconcile(*, topup_id: int) -> str:
    """Ask Stripe where a top-up stands and apply it: the safety net for lost webhooks."""
    topup = TopUp.objects.get(pk=topup_id)
    if topup.status == TopUpStatus.SUCCEEDED:
        return "already_credited"
    try:
        if topup.stripe_payment_intent_id:
            intent = providers.payment_intent_retrieve(topup.stripe_payment_intent_id)
        elif timezone.now() - topup.created_at < INTENT_CREATE_WINDOW:
            _attach_intent(topup)
            topup.refresh_from_db()
            intent = providers.payment_intent_retrieve(topup.stripe_payment_intent_id)
        else:
            TopUp.objects.filter(pk=topup.pk, status=TopUpStatus.PENDING,
                                 stripe_payment_intent_id__isnull=True).update(
                status=TopUpStatus.FAILED, failure_reason="Never reached Stripe.")
            return TopUpStatus.FAILED
    except (providers.ProviderError, ProviderUnavailableError, ProviderDeclinedError) as exc:
        logger.warning("top-up %s not reconciled: %s", topup.pk, exc)
        return "provider_error"
    with transaction.atomic(durable=True):
        topup = topup_for_update(topup_id=topup.pk)
        topup.last_checked_at = timezone.now()
        topup.save(update_fields=["last_checked_at"])
        if intent.get("status") == "succeeded":
            return _credit(topup, intent)
        if intent.get("status") == "canceled":
            return _intent_closed(topup, intent, TopUpStatus.CANCELED)
        return "still_" + str(intent.get("status"))


def topups_reconcile(*, older_than_seconds: int | None = None, now=None) -> dict:
    """The periodic job: every recent top-up not yet credited, older than the grace
    period (webhooks normally arrive within seconds)."""
    now = now or timezone.now()
    grace = (settings.TOPUP_RECONCILE_AFTER_SECONDS if older_than_seconds is None
             else older_than_seconds)
    due = (TopUp.objects.filter(status__in=[TopUpStatus.PENDING, TopUpStatus.FAILED],
                                created_at__lte=now - timedelta(seconds=grace),
                                created_at__gte=now - RECONCILE_WINDOW)
           .order_by("pk").values_list("pk", flat=True))
    outcomes: dict[str, int] = {}
    for topup_id in list(due):
        outcome = topup_reconcile(topup_id=topup_id)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


# --- Manual credits ------------------------------------------------------------------------

def organization_credit(*, organization: Organization, actor: User | None, amount_cents: int,
                        reason: str, key: str | None = None) -> ManualCredit:
    """Credit an invoiced customer's balance (admin action, audited).

    ``key`` makes the credit happen once whatever the number of calls (seed_demo uses a
    fixed one); the API's Idempotency-Key does the same for HTTP retries.
    """
    reason = required_text(reason, message="A credit needs a reason.")
    if amount_cents <= 0:
        raise InvalidInput("amount_cents must be positive.",
                           fields={"amount_cents": ["Must be greater than 0."]})
    with transaction.atomic():
        if key and (existing := ManualCredit.objects.filter(key=key).first()):
            return existing
        try:
            with transaction.atomic():
                credit = ManualCredit.objects.create(organization=organization,
                                                     amount_cents=amount_cents, reason=reason,
                                                     created_by=actor, key=key)
        except IntegrityError:
            return ManualCredit.objects.get(key=key)
        ledger.post_journal(
            key=f"manual_credit:{credit.pk}", kind=JournalKind.MANUAL_CREDIT,
            lines=[(ledger.EXTERNAL_FUNDING, -amount_cents),
                   (ledger.organization_available(organization.pk), amount_cents)],
            memo=reason, actor=actor, organization=organization, manual_credit=credit)
        audit("manual_credit", actor=actor, organization=organization,
              credit_id=credit.pk, amount_cents=amount_cents, reason=reason)
    return credit
