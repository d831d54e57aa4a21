"""Django's PostgreSQL backend, with its connection health check run at most once per
DATABASE_HEALTH_CHECK_SECONDS per connection instead of at every request's first query.

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
import time

from django.conf import settings
from django.db.backends.postgresql import base


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
