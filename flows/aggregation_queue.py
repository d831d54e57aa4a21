"""The tasks whose aggregation was requested, drained in batches by one job at a time.

Guarantee: every task requested after its submit committed is read by a drain job that
starts after that commit (or by the sweep, when a job is lost). How:

    request(task)   add the task to the pending set, then set the drain marker if it is
                    absent; True means "no drain job is queued: enqueue one".
    take(count)     (the drain job, first thing) drop the marker, then pop up to
                    ``count`` tasks.

A request whose add comes before a job's pop is popped by that job or an earlier one; a
request whose add comes after the pop finds the marker gone (it was dropped before the
pop) unless another request set it again, and either way a job is queued that will pop
it. A pop removes the tasks before the job reads the database, so a task submitted again
after the job's read is requested, and popped, again. A job that dies after its pop
loses its tasks to the sweep (flows.results.sweep), as a lost per-task job did.

In Redis (production) the set is a Redis set and the marker a key with a TTL, each step
one round trip (a pipeline). Any other cache is the local-memory one of ``make run``,
one process: the set lives in that cache under a process lock.
"""
import threading

from django.core.cache import cache, caches

from config.cache import QuorumRedisCache

PENDING_KEY = "aggregation:pending"
MARKER_KEY = "aggregation:queued"
# How long a marker may stand without its job starting (a process killed between the
# marker and the enqueue): until then requests enqueue nothing new, and the tasks wait in
# the set for the next request after it expires, or for the sweep.
MARKER_SECONDS = 60

_local_lock = threading.Lock()


def _redis():
    backend = caches["default"]
    if not isinstance(backend, QuorumRedisCache):
        return None, None, None
    pending = backend.make_and_validate_key(PENDING_KEY)
    marker = backend.make_and_validate_key(MARKER_KEY)
    return backend.redis_client(pending), pending, marker


def request(task_id: int) -> bool:
    """Add the task to the pending set; True when the caller must enqueue a drain job
    (none was queued)."""
    client, pending, marker = _redis()
    if client is None:
        with _local_lock:
            cache.set(PENDING_KEY, {*cache.get(PENDING_KEY, ()), task_id}, timeout=None)
        return cache.add(MARKER_KEY, 1, timeout=MARKER_SECONDS)
    with client.pipeline(transaction=False) as pipe:
        pipe.sadd(pending, task_id)
        pipe.set(marker, 1, nx=True, ex=MARKER_SECONDS)
        _, marked = pipe.execute()
    return bool(marked)


def enqueue_failed() -> None:
    """The drain job could not be enqueued: drop the marker so the next request tries
    again (the task stays pending)."""
    cache.delete(MARKER_KEY)


def take(count: int) -> list[int]:
    """Drop the marker, then pop up to ``count`` pending tasks (in that order: see the
    module's docstring)."""
    client, pending, marker = _redis()
    if client is None:
        cache.delete(MARKER_KEY)
        with _local_lock:
            queued = sorted(cache.get(PENDING_KEY, ()))
            cache.set(PENDING_KEY, set(queued[count:]), timeout=None)
        return queued[:count]
    with client.pipeline(transaction=False) as pipe:
        pipe.delete(marker)
        pipe.spop(pending, count)
        _, popped = pipe.execute()
    return sorted(int(task_id) for task_id in popped or ())


def claim_drain() -> bool:
    """Set the marker for a follow-up drain (the job took a full batch and more may be
    pending); True when the caller must enqueue it."""
    return cache.add(MARKER_KEY, 1, timeout=MARKER_SECONDS)
