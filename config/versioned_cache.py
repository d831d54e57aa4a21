"""Cache entries that no committed change outlives: the one rule behind the routing cache
(marketplace/routing_cache.py), the quality-settings cache (qa/settings_cache.py), the
webhook-subscription cache (marketplace/webhooks/subscriptions.py) and the workers'
token identities (accounts/identity_cache.py).

An entry is tagged with version tokens read *before* the database is. A change bumps its
token when it is saved and again after its transaction commits: a reader that read the
old rows before the commit tagged its entry with a token that the after-commit bump then
outdates, even if that entry is written last. Entries also expire after the caller's
timeout, a bound on a change nothing bumped for (a queryset ``update()`` bypasses signals).
"""
import uuid
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.db import transaction

from config import request_batch


def cached(*, tokens: list[str], entry: str, compute: Callable[[], Any], timeout: int,
           keep: Callable[[Any], bool] | None = None) -> Any:
    """The value stored under ``entry`` if it was computed under the current ``tokens``;
    else ``compute()``, stored with them unless ``keep(value)`` is false. One cache round
    trip when the entry is good, none when the request fetched it ahead
    (config/request_batch.py)."""
    keys = [*tokens, entry]
    found = request_batch.take(keys)
    if found is None:
        found = cache.get_many(keys)
    current = [_token(key, found) for key in tokens]
    stored = found.get(entry)
    if stored is not None and stored["tokens"] == current:
        return stored["value"]
    value = compute()
    if keep is None or keep(value):
        cache.set(entry, {"tokens": current, "value": value}, timeout=timeout)
    return value


def _token(key: str, found: dict) -> str:
    token = found.get(key)
    if token is None:
        # First use (or evicted): whoever adds first wins; everyone then reads that one.
        cache.add(key, uuid.uuid4().hex, timeout=None)
        token = cache.get(key)
    return token


def bump(key: str) -> None:
    request_batch.drop()  # what the request fetched ahead may be tagged with the old token
    cache.set(key, uuid.uuid4().hex, timeout=None)


def bump_now_and_after_commit(key: str) -> None:
    bump(key)
    # robust: the change is committed whatever the cache does; the entry's expiry bounds
    # what a failed bump leaves behind.
    transaction.on_commit(lambda: bump(key), robust=True)
