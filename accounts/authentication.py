"""Bearer tokens, stored hashed (django-rest-knox's SHA-512 digests), expiring, revocable.

knox's stock authenticator walks every token of the user and deletes expired ones on each
request: a write and N queries on the read path. Here a request costs one indexed lookup;
expired tokens are simply ignored and purged by ``accounts.tasks.purge_expired_tokens``.
"""
import binascii
from datetime import datetime
from hmac import compare_digest

from django.utils import timezone
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.models import AuthToken
from knox.settings import CONSTANTS
from rest_framework import exceptions
from rest_framework.authentication import get_authorization_header

from config.compiled_query import CompiledQuery

from . import identity_cache


# On every request: its SQL is compiled once (config/compiled_query.py). The caller's
# organization or worker profile rides along: every requester and worker endpoint needs
# one, and a join is cheaper than a second round trip.
_LIVE_TOKENS = CompiledQuery(
    lambda key, now: AuthToken.objects.filter(token_key=key, expiry__gt=now).select_related(
        "user", "user__membership__organization", "user__worker_profile"),
    key=str, now=datetime)


def bearer_token_key(request) -> str | None:
    """The key (first characters) of the request's bearer token, if it sends one: what
    the identity is looked up by. Nothing is checked here."""
    header = get_authorization_header(request).split()
    if len(header) != 2 or header[0].lower() != b"bearer":
        return None
    return _key_of(_token_text(header[1]))


def _token_text(token: bytes) -> str:
    return token.decode("utf-8", errors="replace")


def _key_of(token_text: str) -> str:
    return token_text[: CONSTANTS.TOKEN_KEY_LENGTH]


class BearerTokenAuthentication(TokenAuthentication):
    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if header and header[0].lower() != b"bearer":
            # knox would ignore the header and the client would read "credentials were not
            # provided" while it did send some: say which scheme we speak.
            scheme = header[0].decode("latin-1")[:20]
            raise exceptions.AuthenticationFailed(
                f"Unsupported authorization scheme {scheme!r}: send "
                "'Authorization: Bearer <token>'.")
        return super().authenticate(request)

    def authenticate_credentials(self, token: bytes):
        token_text = _token_text(token)
        if "\x00" in token_text:
            # PostgreSQL rejects NUL in a query parameter (a 500); no issued token has one.
            raise exceptions.AuthenticationFailed("Invalid or expired token.")
        try:
            digest = hash_token(token_text)
        except (TypeError, ValueError, binascii.Error):
            raise exceptions.AuthenticationFailed("Invalid token.")
        token_key, now = _key_of(token_text), timezone.now()
        candidates = identity_cache.live_tokens(
            token_key=token_key, load=lambda: _LIVE_TOKENS.fetch(key=token_key, now=now))
        try:
            for auth_token in candidates:
                # The expiry again: a cached entry may have been loaded before it passed.
                if auth_token.expiry > now and compare_digest(digest, auth_token.digest):
                    user, auth_token = self.validate_user(auth_token)
                    identity_cache.remember_identity(token_key=token_key, user=user)
                    return user, auth_token
            raise exceptions.AuthenticationFailed("Invalid or expired token.")
        except exceptions.AuthenticationFailed:
            # A refused key (revoked, expired, its user deactivated) no longer has its
            # user's throttle windows counted when a request begins (workers/api/views.py).
            identity_cache.forget_identity(token_key)
            raise
