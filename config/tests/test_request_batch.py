"""A request's Redis reads fetched in one round trip (config/request_batch.py): readers get
what they would have read, each answer once, nothing after a bump, and a worker's next
and submit make the round trips the module promises."""
import dataclasses

import pytest
import redis
from django.core.cache import cache, caches

from accounts import identity_cache
from config import request_batch
from config.cache import QuorumRedisCache
from config.tests.test_throttling_window import (
    Clock,
    assert_same_as_drf_along_a_timeline,
    request_of,
    throttle_pair,
)
from config.versioned_cache import bump, cached
from flows import results, work
from conftest import client_for, make_requester
from marketplace.models import Assignment
from marketplace.webhooks.subscriptions import cache_keys as webhook_cache_keys
from qa.settings_cache import cache_keys as quality_cache_keys
from marketplace.tests.test_claim_concurrency import eligible_worker, launched_project

pytestmark = pytest.mark.skipif(not isinstance(caches["default"], QuorumRedisCache),
                                reason="batches are fetched from the Redis cache only")

NEXT = "/api/v1/worker/tasks/next"


def test_each_fetched_key_is_taken_once():
    cache.set("batch:a", {"x": 1})
    cache.set("batch:b", [1, 2])
    with request_batch.scope():
        request_batch.fetch(keys=["batch:a", "batch:b"])
        assert request_batch.take(["batch:a"]) == {"batch:a": {"x": 1}}
        assert request_batch.take(["batch:a"]) is None  # a second reader asks Redis
        assert request_batch.take(["batch:b", "batch:not-fetched"]) is None
        assert request_batch.take(["batch:b"]) == {"batch:b": [1, 2]}


def test_taken_values_are_what_the_fetch_read():
    cache.set("batch:a", {"x": 1})
    with request_batch.scope():
        request_batch.fetch(keys=["batch:a", "batch:missing"])
        cache.set("batch:a", "changed after the fetch")
        assert request_batch.take(["batch:a", "batch:missing"]) == {"batch:a": {"x": 1}}


def test_nothing_is_fetched_outside_a_scope_and_nothing_survives_it():
    cache.set("batch:a", 1)
    request_batch.fetch(keys=["batch:a"])
    assert request_batch.take(["batch:a"]) is None
    with request_batch.scope():
        request_batch.fetch(keys=["batch:a"])
    with request_batch.scope():
        assert request_batch.take(["batch:a"]) is None


def test_a_bump_drops_what_was_fetched_before_it():
    computed = []

    def read():
        return cached(tokens=["batch:v"], entry="batch:e", timeout=60,
                      compute=lambda: computed.append(1) or len(computed))

    assert read() == 1
    with request_batch.scope():
        request_batch.fetch(keys=["batch:v", "batch:e"])
        bump("batch:v")  # a change the request itself made
        # The fetched entry is tagged with the old token: computed again, not served.
        assert read() == 2
    assert read() == 2


def test_a_window_run_ahead_answers_as_drf_along_a_timeline():
    def allow_through_a_batch(throttle, request) -> bool:
        with request_batch.scope():
            window = throttle.window_for(user_id=request.user.pk)
            request_batch.fetch(keys=[], windows=[window])
            allowed = throttle.allow_request(request, None)
            assert request_batch.take_window(window.redis_key) is None  # it took the answer
        return allowed

    assert_same_as_drf_along_a_timeline(allow_through_a_batch)


def test_a_window_run_for_another_user_is_not_taken():
    clock = Clock()
    ours, _ = throttle_pair(clock, rate="1/min")
    with request_batch.scope():
        request_batch.fetch(keys=[], windows=[ours().window_for(user_id=1)])
        assert ours().allow_request(request_of(2), None)  # its own window, run now
    assert not ours().allow_request(request_of(1), None)  # the fetch counted user 1


def test_a_window_whose_script_redis_lost_is_run_by_the_throttle_itself():
    clock = Clock()
    ours, _ = throttle_pair(clock, rate="1/min")
    with request_batch.scope():
        # A SHA Redis does not know answers NOSCRIPT, as the window's script does after a
        # Redis restart (flushing the scripts here would upset tests running beside).
        window = dataclasses.replace(ours().window_for(user_id=5), script_sha="0" * 40)
        request_batch.fetch(keys=[], windows=[window])  # not an error here
        assert request_batch.take_window(window.redis_key) is None
        assert ours().allow_request(request_of(5), None)  # loads the script and counts
    assert not ours().allow_request(request_of(5), None)


class RoundTrips:
    """Redis round trips: commands sent alone and pipelines, by every client."""

    def __init__(self, monkeypatch):
        self.count = 0
        for cls, name in ((redis.Redis, "execute_command"), (redis.client.Pipeline, "execute")):
            real = getattr(cls, name)

            def counted(*args, _real=real, **kwargs):
                self.count += 1
                return _real(*args, **kwargs)

            monkeypatch.setattr(cls, name, counted)

    def during(self, action):
        before = self.count
        result = action()
        return result, self.count - before


def submit(client, served: dict):
    return client.post(
        f"/api/v1/worker/assignments/{served['assignment_id']}/submit",
        {"answers": [{"item_id": item["id"], "value": "positive"} for item in served["items"]]},
        format="json")


def cycle(client) -> dict:
    served = client.post(NEXT, {}, format="json")
    assert served.status_code == 200, served.content
    served = served.json()
    submitted = submit(client, served)
    assert submitted.status_code == 200, submitted.content
    return served


def _cycled_worker(monkeypatch):
    requester = make_requester("alice@acme.example", "Acme AI")
    launched_project(requester, tasks=3, overlap=1)
    client = client_for(eligible_worker("dana@workers.example").user)
    cycle(client)  # the identity, routing, quality and webhook entries cached
    # The drain job is a Celery job of its own (eager here): not the submit's.
    monkeypatch.setattr(results.aggregate_pending_job, "apply_async", lambda **_: None)
    return client


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_workers_next_is_one_redis_round_trip_and_a_submit_two(monkeypatch):
    client = _cycled_worker(monkeypatch)
    round_trips = RoundTrips(monkeypatch)

    served, next_trips = round_trips.during(lambda: client.post(NEXT, {}, format="json"))
    served = served.json()
    submitted, submit_trips = round_trips.during(lambda: submit(client, served))

    assert submitted.status_code == 200, submitted.content
    # next: the identity, the throttle window and the routable projects together (three
    # round trips before).
    assert next_trips == 1
    # submit: the identity, throttle window, quality settings and webhook subscriptions
    # of the lease's project together (this process served the lease); the aggregation
    # request after commit (five before).
    assert submit_trips == 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_submit_of_a_lease_served_elsewhere_reads_its_project_under_the_lock(monkeypatch):
    client = _cycled_worker(monkeypatch)
    served = client.post(NEXT, {}, format="json").json()
    # As if another process had served the lease: this one has no hint of its project.
    assert work.submit_read_ahead_keys(served["assignment_id"]) != []
    round_trips = RoundTrips(monkeypatch)

    submitted, submit_trips = round_trips.during(lambda: submit(client, served))

    assert submitted.status_code == 200, submitted.content
    assert submit_trips == 3  # the project's two cache reads in a round trip of their own


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_keys_fetched_for_another_project_are_not_taken(monkeypatch):
    client = _cycled_worker(monkeypatch)
    served = client.post(NEXT, {}, format="json").json()
    assignment = Assignment.objects.select_related("project").get(pk=served["assignment_id"])
    other = launched_project(make_requester("bob@beta.example", "Beta AI"), tasks=1,
                             overlap=1)
    # A wrong hint (impossible: an assignment's project never changes) only costs the
    # fetch of the right keys under the lock.
    work._served_leases[assignment.pk] = (other.pk, other.organization_id)
    taken = []
    real_take = request_batch.take
    monkeypatch.setattr(request_batch, "take",
                        lambda keys: taken.append(keys) or real_take(keys))
    round_trips = RoundTrips(monkeypatch)

    submitted, submit_trips = round_trips.during(lambda: submit(client, served))

    assert submitted.status_code == 200, submitted.content
    assert submit_trips == 3
    read = {key for keys in taken for key in keys}
    assert not read & {*quality_cache_keys(other.pk),
                       *webhook_cache_keys(other.organization_id)}
    assert set(quality_cache_keys(assignment.project_id)) <= read


def test_a_key_fetched_and_not_taken_yet_is_not_read_again(monkeypatch):
    cache.set_many({"batch:a": 1, "batch:b": 2})
    round_trips = RoundTrips(monkeypatch)
    with request_batch.scope():
        _, trips = round_trips.during(lambda: request_batch.fetch(keys=["batch:a"]))
        assert trips == 1
        _, trips = round_trips.during(lambda: request_batch.fetch(keys=["batch:a"]))
        assert trips == 0
        _, trips = round_trips.during(
            lambda: request_batch.fetch(keys=["batch:a", "batch:b"]))
        assert trips == 1
        assert request_batch.take(["batch:a", "batch:b"]) == {"batch:a": 1, "batch:b": 2}
        # Taken, it is read again when asked for.
        _, trips = round_trips.during(lambda: request_batch.fetch(keys=["batch:a"]))
        assert trips == 1
    cache.delete_many(["batch:a", "batch:b"])


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_revoked_token_is_refused_though_its_identity_is_fetched_ahead():
    requester = make_requester("alice@acme.example", "Acme AI")
    launched_project(requester, tasks=3, overlap=1)
    client = client_for(eligible_worker("dana@workers.example").user)
    cycle(client)
    token_key = client._credentials["HTTP_AUTHORIZATION"].split()[1][:15]
    assert identity_cache.known_identity(token_key) is not None

    assert client.delete("/api/v1/auth/token").status_code == 204

    assert client.post(NEXT, {}, format="json").status_code == 401
    # Refused, the key is forgotten: its user's throttle is not counted ahead any more.
    assert identity_cache.known_identity(token_key) is None
