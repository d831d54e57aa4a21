"""config.postgresql: the connection health check at most once per interval."""
import time

import pytest
from django.db import connection, connections

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL backend"),
]


@pytest.fixture
def own_connection(monkeypatch):
    """A connection of its own (outside the test's transaction), its checks counted."""
    wrapper = connections.create_connection("default")
    wrapper.settings_dict["CONN_HEALTH_CHECKS"] = True
    wrapper.ensure_connection()
    checks = []
    real_is_usable = wrapper.is_usable

    def counted():
        checks.append(time.monotonic())
        return real_is_usable()

    monkeypatch.setattr(wrapper, "is_usable", counted)
    wrapper.checks = checks
    yield wrapper
    wrapper.close()


def _next_request(wrapper) -> int:
    """What Django does at a request's start, then its first query; the backend's pid."""
    wrapper.close_if_unusable_or_obsolete()
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_a_connection_checked_within_the_interval_is_used_without_a_check(
        own_connection, settings):
    settings.DATABASE_HEALTH_CHECK_SECONDS = 60
    _next_request(own_connection)
    _next_request(own_connection)

    assert own_connection.checks == []  # opened just now: proven


def test_a_connection_idle_past_the_interval_is_checked_once(own_connection, settings):
    settings.DATABASE_HEALTH_CHECK_SECONDS = 60
    own_connection._health_checked_at -= 61

    _next_request(own_connection)
    _next_request(own_connection)

    assert len(own_connection.checks) == 1


def test_an_interval_of_zero_checks_at_every_request_as_django_does(own_connection, settings):
    settings.DATABASE_HEALTH_CHECK_SECONDS = 0

    _next_request(own_connection)
    _next_request(own_connection)

    assert len(own_connection.checks) == 2


def test_a_connection_that_died_while_idle_is_replaced_before_the_request_uses_it(
        own_connection, settings):
    settings.DATABASE_HEALTH_CHECK_SECONDS = 60
    dead_pid = _next_request(own_connection)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [dead_pid])  # waits for it
    own_connection._health_checked_at -= 61

    pid = _next_request(own_connection)  # no error: a new connection

    assert pid != dead_pid
    assert len(own_connection.checks) == 1
