"""Webhook secrets and signatures.

Secrets: the project stores no secret in a form that can be used as-is, yet a signing
secret must be usable to sign. So the secret is not stored at all: each endpoint keeps a
random nonce and the secret is derived on demand as
``"whsec_" + hex(HMAC-SHA256(SECRET_KEY, "webhook-secret:" + nonce))``. Rotating an
endpoint's secret means drawing a new nonce; rotating DJANGO_SECRET_KEY rotates every
webhook secret at once (receivers must then be given their new secrets).

Signatures: ``Quorum-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``
over the exact body bytes sent. The timestamp lets receivers refuse replays of old
requests; ``verify_signature`` is the reference check for receivers (and the tests).
"""
import hashlib
import hmac
import secrets
import time

from django.conf import settings

SECRET_PREFIX = "whsec_"
SIGNATURE_HEADER = "Quorum-Signature"


def new_secret_nonce() -> str:
    return secrets.token_hex(32)


def derive_secret(nonce: str) -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), f"webhook-secret:{nonce}".encode(),
                      hashlib.sha256).hexdigest()
    return SECRET_PREFIX + digest


def _as_bytes(body: bytes | str) -> bytes:
    return body.encode() if isinstance(body, str) else bytes(body)


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body,
                    hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes | str, *, timestamp: int | None = None) -> str:
    """The Quorum-Signature header value for ``body``."""
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={timestamp},v1={_mac(secret, timestamp, _as_bytes(body))}"


def verify_signature(secret: str, header: str, body: bytes | str,
                     tolerance_seconds: int = 300, *, now: float | None = None) -> bool:
    """True when ``header`` is a valid Quorum-Signature of ``body`` made with ``secret``
    less than ``tolerance_seconds`` ago (either way, for clock skew).

    ``body`` must be the raw request body, not re-serialised JSON. Several ``v1=`` entries
    are accepted (any one matching is enough), so the header format can carry more than
    one signature later without breaking receivers.
    """
    if not secret or not header:
        return False
    timestamp = None
    candidates: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            return False
        if key == "t":
            if not value.isdigit():
                return False
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance_seconds:
        return False
    expected = _mac(secret, timestamp, _as_bytes(body))
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
