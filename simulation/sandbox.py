"""The sandbox: one database transaction that is always rolled back, and a simulated clock.

Why a rolled-back transaction rather than marked rows: the simulation runs the real
services, which write organizations, users, worker profiles, assignments, ledger journals
(immutable by trigger), platform fees and webhook outbox rows. Rows marked "simulated"
would have to be excluded by every selector, export, payout run, statistic and the ledger
check, now and in every future query. Rolled back, they never exist for anyone else:
under READ COMMITTED no other connection ever sees them, and no on_commit hook (Celery
job, webhook delivery) ever fires. The cost: the sandbox holds the row locks it took
(among them the shared platform-fee ledger account) until it ends, so a simulation is
bounded in size (MAX_ITEMS) and real approvals can wait for it for its duration.

The flows nest in any transaction, but a few services open
``transaction.atomic(durable=True)`` so that their money movement commits before a
payment provider hears of it (payments' top-up, payout and Stripe event steps), and
durable blocks refuse to nest. The sandbox is the one deliberate exception, marked as
Django's TestCase marks its own wrapping transaction (``_from_testcase``), so anything the
run reaches nests in it as a savepoint.
"""
import contextlib
import random
import threading
from datetime import datetime
from unittest import mock

from django.db import connection, transaction
from django.utils import timezone


class _Rollback(Exception):
    pass


@contextlib.contextmanager
def sandbox():
    """Run the block in a transaction that is rolled back whatever happens."""
    block = transaction.Atomic(using=None, savepoint=True, durable=False)
    block._from_testcase = True  # flows' durable blocks may nest in this one
    try:
        with block:
            yield
            raise _Rollback
    except _Rollback:
        pass


class SimulatedClock:
    """``timezone.now()`` for the services while the simulation runs; advanced by hand."""

    def __init__(self, start: datetime):
        self.now = start

    def set(self, moment: datetime) -> None:
        self.now = max(self.now, moment)

    @contextlib.contextmanager
    def installed(self, seed: int):
        # The real services draw gold positions and spot-check samples from module-level
        # SystemRandom generators and gold items with ORDER BY random(); within the job
        # they are seeded so that the same seed gives the same report. The patches are
        # module-wide, so they answer for this thread only: a threaded server running the
        # job inline (eager mode) keeps the real time and randomness for its other requests.
        owner = threading.get_ident()
        real_now = timezone.now

        def now():
            return self.now if threading.get_ident() == owner else real_now()

        seeded = _ThisThread(owner, random.Random(seed), random.SystemRandom())
        with mock.patch("django.utils.timezone.now", now), \
                mock.patch("marketplace.services.routing._random", seeded), \
                mock.patch("qa.services.reviews._random", seeded):
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT setseed(%s)", [(seed % 2000) / 1000.0 - 1.0])
            yield self


class _ThisThread:
    """A random generator that is ``mine`` in the owning thread and ``other`` elsewhere."""

    def __init__(self, owner: int, mine: random.Random, other: random.Random):
        self._owner, self._mine, self._other = owner, mine, other

    def __getattr__(self, name):
        chosen = self._mine if threading.get_ident() == self._owner else self._other
        return getattr(chosen, name)


def wall_clock() -> datetime:
    return timezone.now()
