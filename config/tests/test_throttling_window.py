"""The one-round-trip throttle (config/throttling.py) keeps DRF's sliding window and
Retry-After, and counts concurrent requests exactly."""
import threading
from types import SimpleNamespace

import pytest
from django.core.cache import caches
from rest_framework.throttling import UserRateThrottle

from config.cache import QuorumRedisCache
from config.throttling import OneRoundTripUserRateThrottle

pytestmark = pytest.mark.skipif(not isinstance(caches["default"], QuorumRedisCache),
                                reason="the Lua window runs on the Redis cache")


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now


def throttle_pair(clock, rate="3/min"):
    made = []
    for base in (OneRoundTripUserRateThrottle, UserRateThrottle):
        cls = type(f"T{base.__name__}", (base,), {"rate": rate, "scope": f"t{len(made)}",
                                                  "timer": staticmethod(clock)})
        made.append(cls)
    return made


def request_of(user_pk):
    user = SimpleNamespace(pk=user_pk, is_authenticated=True)
    return SimpleNamespace(user=user, META={"REMOTE_ADDR": "127.0.0.1"})


def allow(throttle, request) -> bool:
    return throttle.allow_request(request, None)


def assert_same_as_drf_along_a_timeline(ask=allow) -> None:
    """Ours, asked through ``ask(throttle, request)``, allows and waits as DRF's own
    throttle along a timeline that fills, refuses and slides the window."""
    clock = Clock()
    ours, drf = throttle_pair(clock)
    request = request_of(7)
    timeline = [0, 1, 2, 3, 30, 59.5, 60.5, 61, 62, 62.5, 200]
    seen = []
    for offset in timeline:
        clock.now = 1_000_000.0 + offset
        a, b = ours(), drf()
        allowed = (ask(a, request), allow(b, request))
        waits = (a.wait(), b.wait()) if not allowed[1] else (None, None)
        seen.append((allowed, waits))
    for (allowed, waits) in seen:
        assert allowed[0] == allowed[1]
        if waits[1] is not None:
            assert waits[0] == pytest.approx(waits[1])
    assert [allowed[0] for allowed, _ in seen] == [
        True, True, True, False, False, False, True, True, True, False, True]


def test_same_answers_and_waits_as_drf_along_a_timeline():
    assert_same_as_drf_along_a_timeline()


def test_users_are_counted_apart():
    clock = Clock()
    ours, _ = throttle_pair(clock, rate="1/min")
    assert ours().allow_request(request_of(1), None)
    assert ours().allow_request(request_of(2), None)
    assert not ours().allow_request(request_of(1), None)


def test_concurrent_requests_never_pass_the_limit():
    clock = Clock()
    ours, _ = throttle_pair(clock, rate="5/min")
    results = []
    barrier = threading.Barrier(20)

    def hit():
        barrier.wait()
        results.append(ours().allow_request(request_of(3), None))

    threads = [threading.Thread(target=hit) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 5
