"""Django's Redis cache with one client object per connection pool.

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` for every cache
command, and each one copies ~170 response callbacks into a fresh dict: on the worker's
hot path (then 4-6 commands a request, now one or two pipelines: config/request_batch.py)
the construction cost as much as the round trip's own Python. A ``redis.Redis`` holds no
connection of its own (it borrows one from the pool per command), so one per pool is safe
to share between threads.

Django's memcached key checks are skipped (``validate_key``), and a pickled value is
unpickled without first failing to parse as an integer (``PickleFirstSerializer``).
"""
import pickle

from django.core.cache.backends.redis import RedisCache, RedisCacheClient, RedisSerializer

# Every pickle of protocol 2 or later starts with the PROTO opcode; Django stores integers
# unpickled, as their decimal digits, so none starts with it.
_PICKLE_PROTO = b"\x80"


class PickleFirstSerializer(RedisSerializer):
    """Django's serializer, reading the same bytes the same way. Django's ``loads`` tries
    ``int(data)`` first and unpickles on its ValueError: on the worker's hot path nine
    of ten values read are pickles (version tokens, cached entries), and the raised
    exception cost 1-2 us each, more than unpickling a version token (0.15 us)."""

    def loads(self, data):
        if data[:1] == _PICKLE_PROTO:
            return pickle.loads(data)
        return super().loads(data)


class ReusedRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, serializer=None, **kwargs):
        super().__init__(*args, serializer=serializer or PickleFirstSerializer, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            # setdefault: two threads racing here keep the same one.
            client = self._clients.setdefault(id(pool), self._client(connection_pool=pool))
        return client


class QuorumRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusedRedisCacheClient

    def validate_key(self, key):
        """Nothing to check: Django's check warns about keys memcached would refuse (over
        250 characters, control characters), which Redis takes as they are; it ran a
        generator and a regex over every key of every command (2.9 % of the instructions
        of a worker's next -> submit cycle)."""

    def redis_client(self, key: str):
        """The shared client for commands the cache API has no word for (a Lua script:
        config/throttling.py); ``key`` must come from ``make_and_validate_key``."""
        return self._cache.get_client(key, write=True)
