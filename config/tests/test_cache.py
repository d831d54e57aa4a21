"""The Redis cache backend reuses one client per pool (config/cache.py) and still behaves
as Django's cache."""
import threading

import pytest
from django.core.cache.backends import redis as django_redis
from django.core.cache.backends.redis import RedisSerializer

from config.cache import PickleFirstSerializer, QuorumRedisCache


@pytest.fixture
def redis_cache(settings):
    location = settings.CACHES["default"]["LOCATION"] if (
        settings.CACHES["default"]["BACKEND"] == "config.cache.QuorumRedisCache") else None
    if not location:
        pytest.skip("needs REDIS_URL (the Redis cache)")
    backend = QuorumRedisCache(location, {"KEY_PREFIX": "test-cache-reuse"})
    yield backend
    backend.delete_many(["a", "b", "n", "values"])


def test_one_client_serves_every_command(redis_cache):
    first = redis_cache._cache.get_client("a")
    assert redis_cache._cache.get_client("b", write=True) is first


def test_cache_commands_work_through_the_shared_client_from_threads(redis_cache):
    redis_cache.set("a", {"x": 1})
    redis_cache.set_many({"b": [1, 2]})
    redis_cache.add("n", 0)
    errors = []

    def bump():
        try:
            for _ in range(50):
                redis_cache.incr("n")
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert redis_cache.get("n") == 200
    assert redis_cache.get_many(["a", "b"]) == {"a": {"x": 1}, "b": [1, 2]}


def test_keys_memcached_would_refuse_are_stored_without_a_warning(redis_cache, recwarn):
    long_key, spaced_key = "k" * 300, "a key with spaces\x01"
    redis_cache.set(long_key, 1)
    redis_cache.set(spaced_key, 2)
    assert redis_cache.get_many([long_key, spaced_key]) == {long_key: 1, spaced_key: 2}
    assert not [w for w in recwarn if "memcached" in str(w.message)]
    redis_cache.delete_many([long_key, spaced_key])


SERIALIZED = [0, 7, -12, 2**70, True, None, 1.5, "12", "text", b"\x80raw", [1, "a"],
              {"tokens": ["v"], "value": (1, 0, "off")}]


@pytest.mark.parametrize("value", SERIALIZED)
def test_values_read_back_as_djangos_serializer_reads_them(value):
    stored = RedisSerializer().dumps(value)
    # Redis hands back bytes; Django stores an int as its digits.
    raw = str(stored).encode() if isinstance(stored, int) else stored
    assert PickleFirstSerializer().loads(raw) == RedisSerializer().loads(raw) == value


def test_a_pickle_is_not_first_parsed_as_an_integer(monkeypatch):
    tried = []

    def spying_int(data):
        tried.append(data)
        return int(data)

    # Django's loads calls int() by its module-global name.
    monkeypatch.setattr(django_redis, "int", spying_int, raising=False)
    serializer = PickleFirstSerializer()
    assert serializer.loads(serializer.dumps("a version token")) == "a version token"
    assert tried == []
    assert serializer.loads(b"42") == 42 and tried == [b"42"]


def test_the_cache_reads_and_writes_through_it(redis_cache):
    assert isinstance(redis_cache._cache._serializer, PickleFirstSerializer)
    values = {"a": "v1", "b": {"x": [1]}, "n": 5}
    redis_cache.set_many(values)
    assert redis_cache.get_many(list(values)) == values
    assert redis_cache.incr("n") == 6
