"""Deterministic demo tokens, so `seed_demo` can print them again without storing them.

A demo token is an HMAC of the account email under SECRET_KEY: stable across runs of the
seed command on the same deployment, unguessable without the key, and stored hashed by
knox like any other token.
"""
import hashlib
import hmac

from django.conf import settings
from django.utils import timezone
from knox.crypto import hash_token
from knox.models import AuthToken
from knox.settings import CONSTANTS, knox_settings

from .models import User


def demo_token_for(user: User) -> str:
    token = hmac.new(settings.SECRET_KEY.encode(), f"demo-token:{user.email}".encode(),
                     hashlib.sha256).hexdigest()
    digest = hash_token(token)
    if not AuthToken.objects.filter(digest=digest, expiry__gt=timezone.now()).exists():
        AuthToken.objects.filter(digest=digest).delete()
        AuthToken(digest=digest, token_key=token[:CONSTANTS.TOKEN_KEY_LENGTH], user=user,
                  expiry=timezone.now() + knox_settings.TOKEN_TTL).save()
    return token
