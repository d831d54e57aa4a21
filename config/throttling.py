"""DRF's rate throttle in one Redis round trip.

DRF's ``SimpleRateThrottle`` reads the request history (a pickled list of timestamps) and
writes it back: two round trips on every worker request, and two concurrent requests can
both read the same history and both pass. On the Redis cache the same sliding window runs
as one Lua script over a Redis list (newest first, as DRF keeps it): drop the timestamps
older than the window, refuse at the limit, else push ``now`` and renew the expiry. The
answer carries what ``wait()`` needs (the count and the oldest timestamp), so Retry-After
is computed exactly as DRF does. Any other cache (the local-memory one of ``make run``)
keeps DRF's own code.

A worker view runs the script for the user its token names when the request begins, in
the round trip that fetches the identity (``window_for``, config/request_batch.py); the
throttle then takes that answer if it was run under the key it computes itself.
"""
import hashlib

from django.core.cache import caches
from rest_framework.throttling import UserRateThrottle

from config import request_batch
from config.cache import QuorumRedisCache

_WINDOW_SCRIPT = """
local now = tonumber(ARGV[1])
local duration = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
while true do
  local oldest = redis.call('LINDEX', KEYS[1], -1)
  if not oldest or tonumber(oldest) > now - duration then break end
  redis.call('RPOP', KEYS[1])
end
local count = redis.call('LLEN', KEYS[1])
if count >= limit then
  return {0, count, redis.call('LINDEX', KEYS[1], -1)}
end
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], math.ceil(duration * 1000))
return {1, count + 1}
"""
_WINDOW_SHA = hashlib.sha1(_WINDOW_SCRIPT.encode()).hexdigest()  # as EVALSHA names it

# Registered once, run on the caller's client: redis-py sends EVALSHA, and loads the script
# once more if the server lost it. (Cache backends are per thread; keying scripts by client
# would keep every finished thread's client and pool alive.)
_script = None


class OneRoundTripUserRateThrottle(UserRateThrottle):
    def allow_request(self, request, view):
        backend = caches["default"]
        if not isinstance(backend, QuorumRedisCache):
            return super().allow_request(request, view)
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        redis_key = self._window_key(backend, self.key)
        fetched = request_batch.take_window(redis_key)
        if fetched is not None:
            window, reply = fetched
            self.now = float(window.args[0])
        else:
            client = backend.redis_client(redis_key)
            global _script
            if _script is None:
                _script = client.register_script(_WINDOW_SCRIPT)  # a race only registers twice
            self.now = self.timer()
            reply = _script(keys=[redis_key], args=self._script_args(self.now), client=client)
        allowed, count, *oldest = reply
        oldest = float(oldest[0]) if oldest and oldest[0] is not None else self.now
        self.history = _History(count, oldest)
        return bool(allowed)

    def window_for(self, *, user_id: int) -> request_batch.Window | None:
        """The window this throttle would check for that user now, for a request's first
        round trip; None where the throttle does not run the script."""
        backend = caches["default"]
        if not isinstance(backend, QuorumRedisCache) or self.rate is None:
            return None
        if type(self).get_cache_key is not UserRateThrottle.get_cache_key:
            # Keyed otherwise than DRF's per-user rule below: not guessed ahead.
            return None
        key = self.cache_format % {"scope": self.scope, "ident": user_id}
        return request_batch.Window(script_sha=_WINDOW_SHA,
                                    redis_key=self._window_key(backend, key),
                                    args=self._script_args(self.timer()))

    def _script_args(self, now: float) -> tuple:
        return (repr(now), self.duration, self.num_requests)

    @staticmethod
    def _window_key(backend, key: str) -> str:
        # Its own key: a list, never mistaken for DRF's pickled history under the plain key.
        return backend.make_and_validate_key(f"{key}:window")


class _History:
    """What DRF's ``wait()`` reads of the history: its length and its last (oldest) entry."""

    def __init__(self, count: int, oldest: float):
        self._count, self._oldest = count, oldest

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index):
        if index != -1:
            raise IndexError(index)
        return self._oldest
