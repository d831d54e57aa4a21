"""config.postgresql: the connection health check at most once per interval."""
import time
from datetime import datetime, timezone

import pytest
from django.db import connection, connections

from config.compiled_query import prepared_cursor

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL backend"),
]


@pytest.fixture
def own_connection(monkeypatch):
    """A connection of its own (outside the test's transaction), its checks counted."""
    if "pool" in connection.settings_dict.get("OPTIONS", {}):
        pytest.skip("persistent connections' check: DATABASE_POOL=true replaces them, and "
                    "Django turns the health check off with a pool")
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


def test_a_dead_connection_is_replaced_before_the_hot_paths_prepared_statements_too(
        own_connection, settings):
    # The worker's next and submit reach the database through prepared_cursor first (a
    # psycopg cursor of its own, not Django's cursor(), where the check lives).
    settings.DATABASE_HEALTH_CHECK_SECONDS = 60
    dead_pid = _next_request(own_connection)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [dead_pid])
    own_connection._health_checked_at -= 61

    own_connection.close_if_unusable_or_obsolete()  # the request starts
    with prepared_cursor(own_connection) as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]

    assert pid != dead_pid
    assert len(own_connection.checks) == 1


_TIMESTAMPS = {
    "2026-12-01 03:31:26.123456+00": datetime(2026, 12, 1, 3, 31, 26, 123456),
    "2026-06-30 23:59:59.5-07:30": datetime(2026, 7, 1, 7, 29, 59, 500000),
    "2026-03-29 02:30:00+02": datetime(2026, 3, 29, 0, 30),
    "0001-01-01 00:00:00+00": datetime(1, 1, 1),
    "9999-12-31 23:59:59.999999+00": datetime(9999, 12, 31, 23, 59, 59, 999999),
}


def _loaded(cursor) -> list:
    cursor.execute("SELECT " + ", ".join(f"'{text}'::timestamptz" for text in _TIMESTAMPS)
                   + ", NULL::timestamptz")
    return list(cursor.fetchone())


def test_timestamps_are_parsed_by_psycopgs_loader_as_djangos_would():
    from django.db.backends.postgresql.psycopg_any import register_tzloader
    from psycopg.pq import Format

    from config.postgresql.base import UtcTimestamptzLoader

    with connection.cursor() as cursor:
        adapters = cursor.connection.adapters
        assert adapters.get_loader(adapters.types["timestamptz"].oid,
                                   Format.TEXT) is UtcTimestamptzLoader
        ours = _loaded(cursor)
    with connection.cursor() as cursor:
        register_tzloader(connection.timezone, cursor.cursor)  # Django's own, this cursor
        djangos = _loaded(cursor)

    expected = [moment.replace(tzinfo=timezone.utc) for moment in _TIMESTAMPS.values()]
    assert ours == djangos == [*expected, None]
    assert all(value.tzinfo is timezone.utc for value in ours[:-1])
    assert [value.tzinfo for value in djangos[:-1]] == [value.tzinfo for value in ours[:-1]]
