"""Payments fixtures: a Stripe-compatible server over HTTP (localstripe plus Connect and
transfers, see stripe_server.py) started once per session, and settings pointing the real
stripe-python client at it."""
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
STRIPE_KEY = "sk_test_quorum"
WEBHOOK_SECRET = "whsec_test_quorum"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def stripe_server_url():
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "payments.tests.stripe_server", "--port", str(port)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            requests.post(f"{url}/_config/reset", timeout=1)
            break
        except requests.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("the Stripe test server did not start: "
                                   + process.stderr.read().decode(errors="replace"))
            time.sleep(0.1)
    yield url
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()


class StripeTestServer:
    """Test-side controls of the Stripe server, plus what Stripe's own side would do
    (a customer paying an intent, Stripe signing a webhook)."""

    def __init__(self, url: str):
        self.url = url
        self.session = requests.Session()
        self.session.auth = (STRIPE_KEY, "")

    def reset(self) -> None:
        self.session.post(f"{self.url}/_config/reset", timeout=5).raise_for_status()

    def fault(self, mode: str, *, count: int = 1, delay: float = 2.0) -> None:
        self.session.post(f"{self.url}/_config/faults", json={
            "mode": mode, "count": count, "delay": delay}, timeout=5).raise_for_status()

    def onboard(self, account_id: str) -> None:
        self.session.post(f"{self.url}/_config/accounts/{account_id}/onboard",
                          timeout=5).raise_for_status()

    def transfers(self) -> list[dict]:
        return self.session.get(f"{self.url}/_config/transfers", timeout=5).json()["data"]

    def intent(self, intent_id: str) -> dict:
        response = self.session.get(f"{self.url}/v1/payment_intents/{intent_id}", timeout=5)
        response.raise_for_status()
        return response.json()

    def pay(self, intent_id: str, card: str = "4242424242424242") -> dict:
        """The customer pays: a card payment method, attached and confirmed."""
        method = self.session.post(f"{self.url}/v1/payment_methods", data={
            "type": "card", "card[number]": card, "card[exp_month]": "12",
            "card[exp_year]": "2030", "card[cvc]": "123"}, timeout=5)
        method.raise_for_status()
        self.session.post(f"{self.url}/v1/payment_intents/{intent_id}",
                          data={"payment_method": method.json()["id"]},
                          timeout=5).raise_for_status()
        confirmed = self.session.post(f"{self.url}/v1/payment_intents/{intent_id}/confirm",
                                      timeout=5)
        return confirmed.json()

    @staticmethod
    def event(kind: str, obj: dict, event_id: str | None = None) -> bytes:
        return json.dumps({"id": event_id or f"evt_{uuid.uuid4().hex[:24]}",
                           "object": "event", "type": kind, "api_version": "2025-01-01",
                           "created": int(time.time()), "livemode": False,
                           "data": {"object": obj}}).encode()

    @staticmethod
    def sign(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
        """Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.payload">."""
        timestamp = timestamp or int(time.time())
        digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload,
                          hashlib.sha256).hexdigest()
        return f"t={timestamp},v1={digest}"


@pytest.fixture
def stripe_server(settings, stripe_server_url) -> StripeTestServer:
    """Point stripe-python at the test server, with no automatic retries (each test
    decides what a retry is) and a short timeout."""
    settings.STRIPE_API_BASE = stripe_server_url
    settings.STRIPE_SECRET_KEY = STRIPE_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.STRIPE_TIMEOUT_SECONDS = 1
    server = StripeTestServer(stripe_server_url)
    server.reset()
    return server
