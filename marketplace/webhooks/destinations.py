"""SSRF guard: webhook URLs may only reach public internet addresses.

A requester chooses the URL and Quorum's servers make the request, so without a guard a
webhook could probe the internal network or a cloud metadata service (169.254.169.254).
Two checks:

1. ``check_url`` when a subscription is made and again before every attempt: the scheme is
   http(s) and every address the host resolves to is public.
2. At connect time (``guarded_session``): the address the socket actually connected to is
   checked. This closes DNS rebinding (a name that resolved to a public address for check 1
   and resolves to 127.0.0.1 a moment later) because the check is on the connected peer,
   not on a second, separate lookup. Redirects are never followed and proxies from the
   environment are ignored, so neither can route around it.

``settings.WEBHOOK_ALLOW_PRIVATE_URLS`` turns both off (local development and tests).
"""
import ipaddress
import socket
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

ALLOWED_SCHEMES = ("http", "https")


class UnsafeDestination(Exception):
    """The URL or the address it leads to is not one Quorum may call."""


def private_urls_allowed() -> bool:
    return bool(settings.WEBHOOK_ALLOW_PRIVATE_URLS)


def address_is_public(address: str) -> bool:
    """False for loopback, private, link-local, shared (CGNAT), reserved, unspecified,
    multicast and documentation addresses, including IPv4 written as IPv6."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_loopback or ip.is_link_local
                                 or ip.is_private or ip.is_reserved or ip.is_unspecified)


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (an IP literal resolves to itself)."""
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return sorted({info[4][0] for info in infos})


def check_url(url: str) -> None:
    """Raise UnsafeDestination unless ``url`` is an http(s) URL of a public host."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeDestination(f"Not a valid URL: {exc}.") from exc
    if parts.scheme not in ALLOWED_SCHEMES:
        raise UnsafeDestination("The URL must start with https:// or http://.")
    if not parts.hostname:
        raise UnsafeDestination("The URL has no host.")
    if parts.username is not None or parts.password is not None:
        # Credentials in the URL would be stored and shown in clear; receivers should
        # authenticate requests with the signature instead.
        raise UnsafeDestination("Credentials in the URL are not allowed; verify the "
                                "Quorum-Signature header instead.")
    if private_urls_allowed():
        return
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = resolve(parts.hostname, port)
    except (OSError, UnicodeError) as exc:
        raise UnsafeDestination(f"The host {parts.hostname!r} does not resolve.") from exc
    if not addresses:
        raise UnsafeDestination(f"The host {parts.hostname!r} does not resolve.")
    for address in addresses:
        if not address_is_public(address):
            raise UnsafeDestination(
                f"The host {parts.hostname!r} resolves to {address}, a loopback, private, "
                "link-local or reserved address; webhooks may only call public addresses. "
                "For local development, set WEBHOOK_ALLOW_PRIVATE_URLS=true on the server.")


def _check_peer(sock: socket.socket) -> None:
    if private_urls_allowed():
        return
    address = sock.getpeername()[0]
    if not address_is_public(address):
        sock.close()
        raise UnsafeDestination(f"connected to {address}, which is not a public address.")


class _GuardedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _check_peer(sock)
        return sock


class _GuardedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # checked before the TLS handshake sends anything
        _check_peer(sock)
        return sock


class _GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPConnectionPool, "https": _GuardedHTTPSConnectionPool}


def guarded_session() -> requests.Session:
    """A requests session whose connections refuse non-public peers."""
    session = requests.Session()
    session.trust_env = False  # no proxies or .netrc from the environment
    adapter = _GuardedAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
