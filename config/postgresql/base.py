"""Django's PostgreSQL backend, with its connection health check run at most once per
DATABASE_HEALTH_CHECK_SECONDS per connection instead of at every request's first query,
and timestamps parsed by psycopg's C loader (UtcTimestamptzLoader).

``CONN_HEALTH_CHECKS`` sends ``SELECT 1`` before the first query of every request that
reuses a connection: on the worker's next -> submit cycle that was two round trips and
1.9 % of the web process's instructions (bench/cycle_instructions.py), for connections
used a few milliseconds before. What the check is for is a connection that went bad while
it sat idle (a database restart, a firewall's idle timeout): such a connection has not
been checked for longer than the interval, so it still is, and the request gets a new
connection instead of an error. A connection that broke within the interval fails its
request's first query, as any request in flight during a restart does, and Django closes
it at that request's end.
"""
import datetime
import time

import psycopg
from django.conf import settings
from django.db.backends.postgresql import base
from psycopg.adapt import Loader
from psycopg.pq import Format

_TIMESTAMPTZ_OID = psycopg.adapters.types["timestamptz"].oid
# psycopg's own text loader: the C one of psycopg-binary where it is installed.
_PSYCOPG_TIMESTAMPTZ_LOADER = psycopg.adapters.get_loader(_TIMESTAMPTZ_OID, Format.TEXT)


class UtcTimestamptzLoader(Loader):
    """Django's timestamptz loader for a UTC connection, parsing in C.

    Django registers a subclass of psycopg's pure-Python loader (to set the datetimes'
    tzinfo to the connection's timezone), so every timestamp a query returns is parsed by
    a regular expression and Python arithmetic: 2.4 us each against 0.13 us in
    psycopg-binary's C loader, which cannot be subclassed. On a connection whose session
    timezone is UTC (Django sets it) psycopg's loader already returns datetimes in
    ``datetime.timezone.utc``, the very value Django's would. ``timezone`` is what
    Django's cursor set-up compares (DatabaseWrapper.create_cursor)."""
    timezone = datetime.timezone.utc

    def __init__(self, oid: int, context=None):
        super().__init__(oid, context)
        self._psycopg_load = _PSYCOPG_TIMESTAMPTZ_LOADER(oid, context).load

    def load(self, data):
        return self._psycopg_load(data)


class DatabaseWrapper(base.DatabaseWrapper):
    _health_checked_at = float("-inf")

    def close_if_health_check_failed(self):
        if self.connection is None or not self.health_check_enabled or self.health_check_done:
            return super().close_if_health_check_failed()
        now = time.monotonic()
        if now - self._health_checked_at < settings.DATABASE_HEALTH_CHECK_SECONDS:
            self.health_check_done = True
            return None
        super().close_if_health_check_failed()
        self._health_checked_at = now if self.connection is not None else float("-inf")
        return None

    def connect(self):
        super().connect()
        self._health_checked_at = time.monotonic()  # a new connection is a proven one

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        # self.timezone is None without USE_TZ. A pooled connection comes back with the
        # loader set when it was made.
        if self.timezone is datetime.timezone.utc and connection.adapters.get_loader(
                _TIMESTAMPTZ_OID, Format.TEXT) is not UtcTimestamptzLoader:
            connection.adapters.register_loader(_TIMESTAMPTZ_OID, UtcTimestamptzLoader)
        return connection
