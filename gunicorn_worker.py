"""A gthread worker that takes a new connection only while it holds no more than any other.

Every worker of gunicorn polls the one shared listening socket, and whichever wakes first
accepts. A client that keeps its connection alive (the worker app, API clients) stays
with that worker for good, so the split made in the first few milliseconds of a burst is
the split for the rest of the run. Measured with bench/cycle.py at 32 clients on 2
workers: 26/6, 30/2 and 21/11. The busy process is bound to one core by its interpreter
lock while the other idles, and its clients' requests queue behind its four threads: the
tail of next's latency was that queue.

``--reuse-port`` spreads connections by a hash instead (evenly only on average), and a
worker that stops, as each one does after ``max_requests``, resets the connections the
kernel had already queued on its own socket. Here the socket stays shared: each worker
publishes how many connections it holds in a small array of shared memory, and keeps its
listener registered only while its count is the lowest of the workers that accept.

The array is made when gunicorn loads this class in the master, and forked workers
inherit it. The master hands each worker a slot before the fork (``__init__`` runs
there) and frees it when the worker exits (``child_exit`` in gunicorn.conf.py), so a
killed worker's count does not linger. A slot reads ``_NOT_ACCEPTING`` while its worker
boots, stops, or sits at ``worker_connections``: the lowest count among the others
then decides, and some worker can always accept. Only a worker's main thread writes its
slot; an aligned int is written whole, so readers need no lock.
"""
import ctypes
import multiprocessing

from gunicorn.workers.gthread import ThreadWorker

_SLOTS = 64
_NOT_ACCEPTING = 2**31 - 1
# A worker that stopped polling the listener re-reads the others' counts this often even
# when none of its own sockets wakes it: it may have decided on counts that changed since
# (ThreadWorker's own loop sleeps up to a second).
_RECHECK_SECONDS = 0.02

_published_counts = multiprocessing.RawArray(ctypes.c_int, [_NOT_ACCEPTING] * _SLOTS)
# Read on every turn of a worker's loop: min() over a memoryview takes 2 us, over the
# ctypes array itself 8 us.
_counts_view = memoryview(_published_counts).cast("B").cast("i")
# Master-side bookkeeping: which slots belong to a live worker.
_slots_taken: set[int] = set()


def may_accept(own_count: int, published_counts) -> bool:
    """The balancing rule: a worker accepts while no accepting worker holds fewer."""
    return own_count <= min(published_counts)


class BalancedThreadWorker(ThreadWorker):
    def __init__(self, *args, **kwargs):
        # Runs in the master: set before ThreadWorker's __init__, which assigns nr_conns.
        self.balance_slot = _take_slot()
        self._own_count = 0
        super().__init__(*args, **kwargs)

    # ThreadWorker keeps its connection count in ``nr_conns`` and compares it with
    # ``worker_connections`` on every turn of its loop to decide whether to poll the
    # listener. Both are intercepted: the count is published as it changes, and the limit
    # is lowered to the count itself while another accepting worker holds fewer.
    @property
    def nr_conns(self) -> int:
        return self._own_count

    @nr_conns.setter
    def nr_conns(self, value: int) -> None:
        self._own_count = value
        self._publish()

    @property
    def worker_connections(self) -> int:
        if (self.balance_slot is None or not self.alive
                or may_accept(self._own_count, _counts_view)):
            return self._connection_cap
        return self._own_count  # "nr_conns < worker_connections" is false: stop polling

    @worker_connections.setter
    def worker_connections(self, value: int) -> None:
        self._connection_cap = value

    def wait_for_and_dispatch_events(self, timeout):
        if not self._accepting and self.alive:
            timeout = min(timeout, _RECHECK_SECONDS)
        super().wait_for_and_dispatch_events(timeout)

    def run(self):
        self._publish()
        try:
            super().run()
        finally:
            self._withdraw()

    def handle_exit(self, sig, frame):
        # From here on the worker only finishes what it holds: the others must not wait
        # for it to take its share.
        self._withdraw()
        super().handle_exit(sig, frame)

    def _publish(self) -> None:
        # gunicorn's Worker sets booted (False) and ThreadWorker the cap before the count.
        if self.balance_slot is None or not self.booted or not self.alive:
            return
        at_cap = self._own_count >= self._connection_cap
        _published_counts[self.balance_slot] = _NOT_ACCEPTING if at_cap else self._own_count

    def _withdraw(self) -> None:
        if self.balance_slot is not None:
            _published_counts[self.balance_slot] = _NOT_ACCEPTING


def _take_slot() -> int | None:
    for slot in range(_SLOTS):
        if slot not in _slots_taken:
            _slots_taken.add(slot)
            _published_counts[slot] = _NOT_ACCEPTING
            return slot
    return None  # more workers than slots: this one accepts as stock gthread does


def release_slot(worker) -> None:
    """gunicorn's ``child_exit`` hook (master): the exited worker's slot is free again."""
    slot = getattr(worker, "balance_slot", None)
    if slot is not None:
        _published_counts[slot] = _NOT_ACCEPTING
        _slots_taken.discard(slot)
