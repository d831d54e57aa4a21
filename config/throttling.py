"""DRF's rate throttle in one Redis round trip.

DRF's ``SimpleRateThrottle`` reads the request history (a pickled list of timestamps) and
writes it back: two round trips on every worker request, and two concurrent requests can
both read the same history and both pass. On the Redis cache the same sliding window runs
as one Lua script over a Redis list (newest first, as DRF keeps it): drop the timestamps
older than the window, refuse at the limit, else push ``now`` and renew the expiry. The
answer carries what ``wait()`` needs (the count and the oldest timestamp), so Retry-After
is computed exactly as DRF does. Any other cache (the local-memory one of ``make run``)
keeps DRF's own code.
"""
from django.core.cache import caches
from rest_framework.throttling import UserRateThrottle

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
        # Its own key: a list, never mistaken for DRF's pickled history under the plain key.
        redis_key = backend.make_and_validate_key(f"{self.key}:window")
        client = backend.redis_client(redis_key)
        global _script
        if _script is None:
            _script = client.register_script(_WINDOW_SCRIPT)  # a race only registers twice
        self.now = self.timer()
        allowed, count, *oldest = _script(
            keys=[redis_key], args=[repr(self.now), self.duration, self.num_requests],
            client=client)
        oldest = float(oldest[0]) if oldest and oldest[0] is not None else self.now
        self.history = _History(count, oldest)
        return bool(allowed)


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
