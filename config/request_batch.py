"""The Redis reads a request will make, sent in one round trip when it begins.

A worker's next made three Redis round trips before its claim (the token's identity, the
throttle window, the worker's routable projects) and a submit two (identity, throttle):
each a pool checkout, a command, a reply parsed and a wake-up of both processes, about
3 % of a next -> submit cycle's CPU apiece (py-spy of bench/cycle_instructions.py's loop).
Their keys are known when the request begins (the identity's by the token, the others by
the user and worker behind the token; a submit's quality settings and webhook
subscriptions by the project of a lease this process served, flows/work.py), so the view
fetches them together (``fetch``) and each reader takes its answer from the batch
(``take``, ``take_window``) instead of asking Redis again.

What keeps it correct:
- a batch lives for one request (``scope``) and each answer is taken once;
- a bump of a version token (config/versioned_cache.py) drops the whole batch, so nothing
  fetched before a change the request made itself is used after it;
- readers check what they take as they check what they read: an entry is still matched
  against its version tokens, a throttle window is used only under the key the throttle
  computed for the authenticated user.
With any other cache than Redis (the local-memory cache of ``make run``) nothing is
fetched and every reader reads as before.
"""
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import caches

from config.cache import QuorumRedisCache


@dataclass(frozen=True)
class Window:
    """A throttle window to check and count: the Lua script's SHA, its key (made by the
    cache), its arguments."""
    script_sha: str
    redis_key: str
    args: tuple


@dataclass
class _Batch:
    values: dict[str, Any] = field(default_factory=dict)  # key -> value or _ABSENT
    # redis key -> (the window as fetched, the script's answer)
    windows: dict[str, tuple[Window, list]] = field(default_factory=dict)


_ABSENT = object()
_batch: ContextVar[_Batch | None] = ContextVar("request_batch", default=None)


@contextmanager
def scope() -> Iterator[None]:
    """The request's batch: whatever it fetched is gone when the block ends."""
    reset_token = _batch.set(_Batch())
    try:
        yield
    finally:
        _batch.reset(reset_token)


def fetch(*, keys: list[str], windows: list[Window] = ()) -> None:
    """Read ``keys`` from the default cache and run each throttle window, in one round trip,
    for the readers of this request to take. Outside ``scope()`` or off Redis, nothing.
    A key fetched before in this request and not taken yet is not read again (the batch
    is dropped whenever the request changes a version token); with nothing left to read,
    no round trip."""
    batch = _batch.get()
    backend = caches["default"]
    if batch is None or not isinstance(backend, QuorumRedisCache):
        return
    keys = [key for key in keys if key not in batch.values]
    if not (keys or windows):
        return
    made = [backend.make_and_validate_key(key) for key in keys]
    pipe = backend.redis_client(made[0] if made else windows[0].redis_key).pipeline(
        transaction=False)
    if made:
        pipe.mget(made)
    for window in windows:
        pipe.evalsha(window.script_sha, 1, window.redis_key, *window.args)
    # A failure (the script not loaded yet: NOSCRIPT) leaves that reader to ask itself.
    replies = pipe.execute(raise_on_error=False)
    if made:
        found = replies.pop(0)
        if not isinstance(found, Exception):
            loads = backend._cache._serializer.loads
            batch.values.update((key, _ABSENT if raw is None else loads(raw))
                                for key, raw in zip(keys, found))
    for window, reply in zip(windows, replies):
        if not isinstance(reply, Exception):
            batch.windows[window.redis_key] = (window, reply)


def take(keys: list[str]) -> dict[str, Any] | None:
    """The fetched values of ``keys`` as ``cache.get_many`` answers (absent keys left out),
    if every one of them was fetched; each is then gone from the batch. Else None."""
    batch = _batch.get()
    if batch is None or not batch.values or any(key not in batch.values for key in keys):
        return None
    found = {}
    for key in keys:
        value = batch.values.pop(key)
        if value is not _ABSENT:
            found[key] = value
    return found


def take_window(redis_key: str) -> tuple[Window, list] | None:
    """The window as fetched and the script's answer, if it was run for the batch."""
    batch = _batch.get()
    if batch is None or not batch.windows:
        return None
    return batch.windows.pop(redis_key, None)


def drop() -> None:
    """Forget everything fetched: called when a version token is bumped."""
    batch = _batch.get()
    if batch is not None:
        batch.values.clear()
        batch.windows.clear()
