"""Delivering webhooks: claim, send, record, retry, give up, disable.

Guarantee: every delivery is sent at least once while its endpoint is active (until
WEBHOOK_MAX_ATTEMPTS attempts failed), and never by two workers at the same time.

- The schedule lives on the row: ``status=pending`` with ``next_attempt_at``. Whoever wants
  a delivery sent (the enqueue after commit, the beat job every 30 s, a duplicate or
  replayed message) runs ``webhook_delivery_attempt``, which first claims it with a
  compare-and-swap ``pending -> delivering`` that takes the next attempt number and a
  lease. Only the winner of the swap sends, in the same job, right away; everybody else
  finds nothing to claim.
- The attempt number is the claim token: the result is written only where the row is
  still ``delivering`` with that number, so a worker that outlived its lease cannot
  overwrite a newer attempt.
- A worker that dies mid-attempt leaves the row ``delivering``; once the lease expires the
  beat job logs the attempt as lost and makes the delivery due again. The lease
  (LEASE_SECONDS) is many times the HTTP timeouts, so a live attempt is not duplicated.
- At-least-once, not exactly-once: a receiver can see the same delivery twice (a crash
  after its 2xx but before we recorded it). The ``Quorum-Delivery`` header (also ``id`` in
  the body) is the same on every attempt: receivers deduplicate on it.

HTTP never runs inside a transaction: the claim is one autocommit UPDATE, the request runs
with no transaction open, and the result is recorded in a short transaction afterwards.

Storm control: attempts back off exponentially with jitter (30 s, 1 min, 2 min ... capped
at BACKOFF_CAP_SECONDS); an endpoint whose every attempt has failed for 24 hours
(``failing_since``) is disabled with a reason, its pending deliveries are dropped and it
gets no new ones until re-enabled.
"""
import logging
import random
import time
from dataclasses import dataclass
from datetime import timedelta

import requests
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from ..models import WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint
from .destinations import UnsafeDestination, check_url, guarded_session
from .enums import DeliveryStatus
from .signing import SIGNATURE_HEADER, derive_secret, sign
from .subscriptions import webhook_subscriptions_changed

logger = logging.getLogger("quorum.webhooks")

TIMEOUT_SECONDS = 5  # connect and read, each
LEASE_SECONDS = 300
BACKOFF_BASE_SECONDS = 30
BACKOFF_CAP_SECONDS = 3600
BACKOFF_JITTER = 0.2  # +-20 %, so endpoints failing together do not retry in lockstep
DISABLE_AFTER = timedelta(hours=24)
SWEEP_BATCH = 200
EXCERPT_BYTES = 512
ERROR_MAX_CHARS = 1000
USER_AGENT = "Quorum-Webhooks/1.0"


@dataclass(frozen=True)
class AttemptOutcome:
    status_code: int | None
    error: str
    duration_ms: int

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def max_attempts() -> int:
    return settings.WEBHOOK_MAX_ATTEMPTS


def backoff_seconds(attempt: int, *, rng: random.Random = random) -> float:
    """Delay after failed attempt number ``attempt`` (1-based)."""
    base = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
    return base * rng.uniform(1 - BACKOFF_JITTER, 1 + BACKOFF_JITTER)


def webhook_delivery_claim(*, delivery_id: int) -> int | None:
    """Take the next attempt of a due delivery. Returns the attempt number, or None when
    the delivery is not due (sent, scheduled later, or claimed by someone else)."""
    now = timezone.now()
    # Compare-and-swap on the row's own columns only: PostgreSQL re-checks this WHERE on
    # the latest row version after waiting for a concurrent claimer, so one wins.
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now,
    ).update(status=DeliveryStatus.DELIVERING, attempts=F("attempts") + 1,
             next_attempt_at=None, lease_expires_at=now + timedelta(seconds=LEASE_SECONDS))
    if not claimed:
        return None
    # Safe to read back: while the lease runs nobody else changes the row.
    return WebhookDelivery.objects.values_list("attempts", flat=True).get(pk=delivery_id)


def _post(delivery: WebhookDelivery, endpoint: WebhookEndpoint) -> AttemptOutcome:
    body = delivery.body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Quorum-Event": delivery.event,
        "Quorum-Delivery": str(delivery.public_id),
        SIGNATURE_HEADER: sign(derive_secret(endpoint.secret_nonce), body),
    }
    started = time.monotonic()

    def outcome(status_code: int | None, error: str) -> AttemptOutcome:
        duration_ms = int((time.monotonic() - started) * 1000)
        return AttemptOutcome(status_code, error[:ERROR_MAX_CHARS], duration_ms)

    try:
        check_url(endpoint.url)  # again now: what the name resolves to may have changed
        with guarded_session() as session:
            response = session.post(endpoint.url, data=body, headers=headers,
                                    timeout=TIMEOUT_SECONDS, allow_redirects=False,
                                    stream=True)
            try:
                excerpt = response.raw.read(EXCERPT_BYTES, decode_content=True) or b""
            except Exception:  # an unreadable error body changes nothing about the outcome
                excerpt = b""
            finally:
                response.close()
    except UnsafeDestination as exc:
        return outcome(None, f"Refused: {exc}")
    except requests.Timeout:
        return outcome(None, f"Timed out after {TIMEOUT_SECONDS} s.")
    except requests.RequestException as exc:
        return outcome(None, f"Request failed: {exc}")
    if 200 <= response.status_code < 300:
        return outcome(response.status_code, "")
    text = excerpt.decode("utf-8", errors="replace").strip()
    reason = "redirects are not followed" if 300 <= response.status_code < 400 else text
    return outcome(response.status_code,
                   f"HTTP {response.status_code}" + (f": {reason}" if reason else ""))


def _note_failure(endpoint_id: int, *, now, error: str) -> None:
    """Extend the endpoint's failure streak; disable it once the streak is 24 hours old."""
    WebhookEndpoint.objects.filter(pk=endpoint_id, failing_since__isnull=True).update(
        failing_since=now)
    failing_since = (WebhookEndpoint.objects.filter(pk=endpoint_id)
                     .values_list("failing_since", flat=True).first())
    if failing_since is None or failing_since > now - DISABLE_AFTER:
        return
    reason = (f"Disabled automatically: every delivery attempt failed from "
              f"{failing_since:%Y-%m-%d %H:%M} UTC to {now:%Y-%m-%d %H:%M} UTC. "
              f"Last error: {error}")[:ERROR_MAX_CHARS]
    # Compare-and-swap: only one failing attempt disables, and a success that cleared
    # the streak in the meantime wins.
    disabled = WebhookEndpoint.objects.filter(
        pk=endpoint_id, is_active=True, failing_since=failing_since,
    ).update(is_active=False, disabled_at=now, disabled_reason=reason)
    if disabled:
        organization_id = (WebhookEndpoint.objects.filter(pk=endpoint_id)
                           .values_list("organization_id", flat=True).first())
        if organization_id is not None:  # a queryset update sends no signal
            webhook_subscriptions_changed(organization_id=organization_id)
        dropped = WebhookDelivery.objects.filter(
            endpoint_id=endpoint_id, status=DeliveryStatus.PENDING,
        ).update(status=DeliveryStatus.FAILED, next_attempt_at=None,
                 last_error="Not sent: the endpoint was disabled.")
        logger.warning("webhook endpoint disabled",
                       extra={"endpoint_id": endpoint_id, "dropped_deliveries": dropped})


def _record(delivery: WebhookDelivery, attempt: int, *, started_at,
            outcome: AttemptOutcome) -> str | None:
    """Log the attempt and move the delivery on. Returns its new status, or None when the
    attempt no longer owned the delivery (lease lost) or the delivery was deleted."""
    now = timezone.now()
    owned = WebhookDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.DELIVERING,
                                           attempts=attempt)
    result = {"last_status_code": outcome.status_code, "last_error": outcome.error,
              "lease_expires_at": None}
    if outcome.succeeded:
        new_status = DeliveryStatus.SUCCEEDED
        result.update(status=new_status, next_attempt_at=None, delivered_at=now)
    elif attempt >= max_attempts():
        new_status = DeliveryStatus.FAILED
        result.update(status=new_status, next_attempt_at=None)
    else:
        new_status = DeliveryStatus.PENDING
        result.update(status=new_status,
                      next_attempt_at=now + timedelta(seconds=backoff_seconds(attempt)))
    try:
        with transaction.atomic():
            if not WebhookDelivery.objects.filter(pk=delivery.pk).exists():
                return None  # its endpoint was deleted while we were sending
            # update_or_create: a "lost" placeholder for this number (the lease expired
            # while we were slow) is replaced by what really happened.
            WebhookDeliveryAttempt.objects.update_or_create(
                delivery_id=delivery.pk, number=attempt, defaults={
                    "started_at": started_at, "duration_ms": outcome.duration_ms,
                    "status_code": outcome.status_code, "error": outcome.error})
            moved = owned.update(**result)
            # The endpoint's streak follows what receivers answered, even for an attempt
            # that lost its lease: it did reach (or fail to reach) the receiver.
            if outcome.succeeded:
                WebhookEndpoint.objects.filter(pk=delivery.endpoint_id,
                                               failing_since__isnull=False).update(
                    failing_since=None)
            else:
                _note_failure(delivery.endpoint_id, now=now, error=outcome.error)
    except IntegrityError:
        return None  # deleted concurrently: the attempt row's foreign key failed at commit
    return new_status if moved else None


def webhook_delivery_attempt(*, delivery_id: int) -> str | None:
    """Claim and make the next attempt of a due delivery. Returns the delivery's new
    status, or None when it was not due or the result could not be recorded."""
    attempt = webhook_delivery_claim(delivery_id=delivery_id)
    if attempt is None:
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(
        pk=delivery_id).first()
    if delivery is None:
        return None  # its endpoint was deleted a moment ago
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        # Disabled between the emit and now: drop it instead of calling the receiver.
        WebhookDelivery.objects.filter(
            pk=delivery.pk, status=DeliveryStatus.DELIVERING, attempts=attempt,
        ).update(status=DeliveryStatus.FAILED, lease_expires_at=None,
                 last_error="Not sent: the endpoint is disabled.")
        return DeliveryStatus.FAILED
    started_at = timezone.now()
    outcome = _post(delivery, endpoint)  # no transaction is open here
    return _record(delivery, attempt, started_at=started_at, outcome=outcome)


def _recover_lost(now) -> int:
    """Deliveries whose worker died mid-attempt: log the attempt as lost and make them due
    again (or give up if that was the last attempt)."""
    recovered = 0
    expired = list(WebhookDelivery.objects.filter(
        status=DeliveryStatus.DELIVERING, lease_expires_at__lte=now,
    ).values_list("pk", "attempts")[:SWEEP_BATCH])
    for delivery_id, attempt in expired:
        gave_up = attempt >= max_attempts()
        error = "No result recorded: the attempt was lost (worker stopped or timed out)."
        with transaction.atomic():
            moved = WebhookDelivery.objects.filter(
                pk=delivery_id, status=DeliveryStatus.DELIVERING, attempts=attempt,
                lease_expires_at__lte=now,
            ).update(status=DeliveryStatus.FAILED if gave_up else DeliveryStatus.PENDING,
                     next_attempt_at=None if gave_up else now, lease_expires_at=None,
                     last_status_code=None, last_error=error)
            if moved:
                WebhookDeliveryAttempt.objects.get_or_create(
                    delivery_id=delivery_id, number=attempt,
                    defaults={"started_at": now, "error": error})
                recovered += 1
    return recovered


def webhook_deliveries_due(*, limit: int = SWEEP_BATCH) -> list[int]:
    """The beat job's sweep: recover lost attempts, then list due deliveries, oldest due
    first. Listing claims nothing: each one is claimed by the job that sends it."""
    now = timezone.now()
    _recover_lost(now)
    return list(WebhookDelivery.objects.filter(
        status=DeliveryStatus.PENDING, next_attempt_at__lte=now,
    ).order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit])
