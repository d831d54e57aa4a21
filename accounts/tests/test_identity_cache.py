"""accounts.identity_cache: a worker's token identity from the cache, never a stale one."""
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from knox.models import AuthToken
from knox.settings import CONSTANTS
from rest_framework.test import APIClient

from accounts import identity_cache
from accounts.services import token_issue
from conftest import PASSWORD, make_worker
from workers.models import WorkerProfile
from workers.services import worker_suspend
from workers.tests.factories import make_ready_worker

pytestmark = pytest.mark.django_db

AVAILABILITY = "/api/v1/worker/availability"


@pytest.fixture
def worker_token(staff):
    user = make_worker("dana@workers.example")
    make_ready_worker(user, skills={"sentiment-en": 90})
    return user, token_issue(user=user).token


def _client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _token_reads(client, path=AVAILABILITY) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    return sum('"knox_authtoken"' in query["sql"] for query in captured.captured_queries), response


def test_a_workers_next_request_reads_no_token_row(worker_token):
    _, token = worker_token
    client = _client(token)

    first_reads, first = _token_reads(client)
    second_reads, second = _token_reads(client)

    assert first.status_code == second.status_code == 200
    assert (first_reads, second_reads) == (1, 0)


def test_a_revoked_token_is_refused_by_the_very_next_request(worker_token):
    _, token = worker_token
    client = _client(token)
    assert client.get(AVAILABILITY).status_code == 200  # cached now

    assert client.delete("/api/v1/auth/token").status_code == 204

    assert client.get(AVAILABILITY).status_code == 401


def test_a_closed_account_is_refused_by_the_very_next_request(worker_token):
    user, token = worker_token
    client = _client(token)
    assert client.get(AVAILABILITY).status_code == 200

    user.is_active = False
    user.save(update_fields=["is_active"])

    assert client.get(AVAILABILITY).status_code == 401


def test_a_suspension_is_seen_by_the_very_next_request(worker_token, staff):
    user, token = worker_token
    client = _client(token)
    codes = [reason["code"] for reason in client.get(AVAILABILITY).json()["reasons"]]
    assert "suspended" not in codes  # no work yet, but not for that reason

    worker_suspend(worker=WorkerProfile.objects.get(user=user), actor=staff, reason="gold")

    # The availability reads the worker's status from the authenticated identity.
    body = client.get(AVAILABILITY).json()
    assert body["can_work"] is False and body["reasons"][0]["code"] == "suspended"


def test_a_wrong_secret_under_a_cached_key_is_refused(worker_token):
    _, token = worker_token
    assert _client(token).get(AVAILABILITY).status_code == 200
    forged = token[:CONSTANTS.TOKEN_KEY_LENGTH] + ("0" if token[-1] != "0" else "1") * (
        len(token) - CONSTANTS.TOKEN_KEY_LENGTH)

    assert _client(forged).get(AVAILABILITY).status_code == 401


def test_a_token_that_expired_after_it_was_cached_is_refused(worker_token, monkeypatch):
    _, token = worker_token
    assert _client(token).get(AVAILABILITY).status_code == 200
    expiry = AuthToken.objects.get(token_key=token[:CONSTANTS.TOKEN_KEY_LENGTH]).expiry
    monkeypatch.setattr("accounts.authentication.timezone.now",
                        lambda: expiry + timedelta(seconds=1))

    reads, response = _token_reads(_client(token))

    assert response.status_code == 401
    assert reads == 0  # refused from the cached entry itself


def test_requesters_and_made_up_tokens_are_not_kept(requester):
    token = token_issue(user=requester).token
    made_up = "f" * len(token)
    assert _client(token).get("/api/v1/me").status_code == 200
    assert _client(made_up).get("/api/v1/me").status_code == 401

    for key in (token, made_up):
        assert cache.get(identity_cache._entry_key(key[:CONSTANTS.TOKEN_KEY_LENGTH])) is None


def test_the_cached_identity_holds_no_password_hash(worker_token):
    user, token = worker_token
    assert _client(token).get(AVAILABILITY).status_code == 200

    entry = cache.get(identity_cache._entry_key(token[:CONSTANTS.TOKEN_KEY_LENGTH]))
    cached_user = entry["value"][0].user

    assert cached_user.pk == user.pk and "password" not in cached_user.__dict__
    assert cached_user.check_password(PASSWORD)  # read from the database on use
    cached_user.first_name = "Dana"
    cached_user.save()  # a deferred field is left alone, not blanked
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_the_cache_can_be_switched_off(worker_token, settings):
    settings.AUTH_IDENTITY_CACHE_SECONDS = 0
    _, token = worker_token
    client = _client(token)
    _token_reads(client)

    reads, response = _token_reads(client)

    assert response.status_code == 200 and reads == 1
