"""The Stripe client's HTTP layer: the environment's proxy settings count as they were
when the client was built, and the client is not read from the environment per call."""
import socket

import pytest
import stripe

from payments import providers

from .conftest import STRIPE_KEY


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _build(url: str) -> stripe.StripeClient:
    return providers._client.__wrapped__(STRIPE_KEY, url, 1.0, 0)


def test_a_proxy_set_when_the_client_is_built_is_used(stripe_server_url, monkeypatch):
    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{_closed_port()}")
    client = _build(stripe_server_url)
    monkeypatch.delenv("http_proxy")

    with pytest.raises(stripe.APIConnectionError):
        client.v1.transfers.list()


def test_a_proxy_set_after_the_client_is_built_is_not_consulted(stripe_server,
                                                                stripe_server_url,
                                                                monkeypatch):
    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    client = _build(stripe_server_url)
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{_closed_port()}")

    assert client.v1.transfers.list().data == []


def test_no_proxy_keeps_the_api_address_direct(stripe_server, stripe_server_url,
                                               monkeypatch):
    monkeypatch.delenv("HTTP_PROXY", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    client = _build(stripe_server_url)

    assert client.v1.transfers.list().data == []
