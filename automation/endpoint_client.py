"""Calling a requester's prediction endpoint (their model server) with one batch.

The request is a webhook in all but name, and reuses the webhooks' pieces: the same
signature (``Quorum-Signature``, marketplace/webhooks/signing.py) and the same SSRF guard
(marketplace/webhooks/destinations.py: the URL checked before every attempt and the
connected peer checked at connect time, no redirects, no proxies from the environment).

Retries: only what can succeed on retry - a network error, a timeout, 429 or a 5xx - up
to PREDICTION_ENDPOINT_MAX_ATTEMPTS attempts, sleeping PREDICTION_ENDPOINT_BACKOFF_SECONDS
x 1, 2, 4 ... between them (the job holds no transaction while it waits). A 4xx, an
unsafe destination or an answer that is not JSON is final.
"""
import json
import time
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings

from marketplace.webhooks.destinations import UnsafeDestination, check_url, guarded_session
from marketplace.webhooks.signing import SIGNATURE_HEADER, sign

TIMEOUT_SECONDS = (5, 60)  # connect, read: a model may take a while on a batch
MAX_ANSWER_BYTES = 20 * 1024 * 1024
USER_AGENT = "Quorum-Predictions/1.0"
EVENT = "predictions.request"


@dataclass(frozen=True)
class EndpointAnswer:
    payload: Any  # the parsed JSON answer; None when the call failed
    error: str
    attempts: int

    @property
    def ok(self) -> bool:
        return not self.error


class _Retryable(Exception):
    pass


def _read_limited(response: requests.Response) -> bytes:
    body = bytearray()
    for chunk in response.iter_content(64 * 1024):
        body += chunk
        if len(body) > MAX_ANSWER_BYTES:
            raise ValueError(f"the answer is larger than {MAX_ANSWER_BYTES} bytes")
    return bytes(body)


def _attempt(url: str, secret: str, body: bytes) -> Any:
    check_url(url)  # again now: what the name resolves to may have changed
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
               "Quorum-Event": EVENT, SIGNATURE_HEADER: sign(secret, body)}
    try:
        with guarded_session() as session:
            response = session.post(url, data=body, headers=headers, timeout=TIMEOUT_SECONDS,
                                    allow_redirects=False, stream=True)
            with response:
                status = response.status_code
                if status == 429 or status >= 500:
                    raise _Retryable(f"HTTP {status}")
                if not 200 <= status < 300:
                    reason = " (redirects are not followed)" if 300 <= status < 400 else ""
                    raise ValueError(f"HTTP {status}{reason}")
                answer = _read_limited(response)
    except requests.Timeout as exc:
        raise _Retryable("timed out") from exc
    except requests.RequestException as exc:
        raise _Retryable(f"request failed: {exc}") from exc
    try:
        return json.loads(answer)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"the answer is not JSON ({exc})") from exc


def request_predictions(*, url: str, secret: str, body: bytes) -> EndpointAnswer:
    """POST one signed batch; the parsed answer, or why it failed after the retries."""
    attempts = settings.PREDICTION_ENDPOINT_MAX_ATTEMPTS
    for attempt in range(1, attempts + 1):
        try:
            return EndpointAnswer(_attempt(url, secret, body), "", attempt)
        except UnsafeDestination as exc:
            return EndpointAnswer(None, f"Refused: {exc}", attempt)
        except ValueError as exc:
            return EndpointAnswer(None, f"The endpoint answered badly: {exc}.", attempt)
        except _Retryable as exc:
            if attempt == attempts:
                return EndpointAnswer(None, f"Gave up after {attempt} attempts: {exc}.",
                                      attempt)
            time.sleep(settings.PREDICTION_ENDPOINT_BACKOFF_SECONDS * 2 ** (attempt - 1))
    raise AssertionError("unreachable")
