"""Gunicorn settings for Quorum (read by default from the working directory: a bare
``gunicorn config.wsgi:application`` uses them, as docker-compose and bench/cycle.py do).

Why these values (measured with bench/cycle.py, 10 s phases, on the 2-core development
machine with PostgreSQL, Redis and a Celery worker on the same cores; next -> submit
cycles/s at 12 / 32 clients, gunicorn CPU per cycle in brackets):

    2026-12-01 05:51-06:03 UTC, next in one round trip to PostgreSQL, 32 clients, 15 s
    phases, alternated (the machine slowing through the hour: raw cycle 2,150-2,890 /s):
    gthread 2 workers x 2 threads   240 / 215 / 202 / 191   (4.1-5.8 ms; http/raw 0.085
                                    mean, next p99 111-132 ms)
    gthread 2 workers x 4 threads   192 / 210 / 212 / 173   (5.0-6.7 ms; 0.078, 127-157 ms)
                                    (kept: see threads below)
    gthread 2 workers x 3 threads   216 / 179               (4.7 / 6.1 ms; 0.071)
    2026-11-30 14:58-15:08 UTC, third pass (prepared claim, compiled writes), idle
    machine, 15 s phases (the 32-client figures before bench/cycle.py vacuumed between
    phases, so lower than its later runs):
    gthread 2 workers x 4 threads   213 / 157   (5.7 / 5.9 ms)   (kept)
    gthread 3 workers x 2 threads   204 / 135   (6.5 / 7.8 ms)
    gthread 2 workers x 2 threads   152 / 107   (5.8 / 7.8 ms)
    and with --reuse-port (2 x 4, 15:41-15:47): next p99 at 32 clients 122-143 ms against
    161-190 ms without, cycles/s the same within noise; not set: a restarting worker's
    own accept queue is reset with it.

    2026-11-30 13:05-13:12 UTC, after this round's hot-path work, load 7-10:
    gthread 2 workers x 8 threads   104 / 78    (11.4 / 12.9 ms)
    gthread 2 workers x 4 threads   120 / 92, again 111 / 78   (10.0-10.7 / 10.2-12.5 ms)  (chosen)
    gthread 2 workers x 3 threads   118 / 85    (10.1 / 11.2 ms)
    gthread 2 workers x 2 threads   130 / 92    (9.2 / 10.4 ms)
    gthread 3 workers x 4 threads   108 / 96    (11.9 / 10.4 ms)
    gthread 4 workers x 2 threads   109 / 91    (12.1 / 11.5 ms)
    earlier, when a request made a dozen round trips (load 7-12):
    gthread 2 workers x 8 threads   12.3 at 32 clients; 4 x 4: 7.1; 4 x 1 (sync-like): 4.3;
    4 x 4 with Django's psycopg pool instead of persistent connections: 4.0

- ``gthread``: a request spends most of its time waiting on PostgreSQL (a dozen round
  trips per cycle); threads overlap those waits while one thread runs Python. One thread
  per process (the ``sync`` worker's model) left the cores idle during queries. The
  async worker classes (gevent, eventlet) would need psycopg and the Redis client
  patched, for what threads already give.
- workers = cores: Python holds the GIL while it builds queries and renders JSON, so
  parallelism comes from processes, but on a machine shared with PostgreSQL and Celery
  more processes than cores only competed with them for CPU.
- threads = 4: enough to keep each process busy through the database waits now that a
  request makes three to thirteen short ones; more threads only fought over the GIL
  (CPU per cycle rose with the thread count). Fewer would do as well on the hot path, but
  a long request (a results export streams for minutes, an upload parses) holds its
  thread, and four per process keep the hot path moving beside a couple of those. Since
  next became one round trip, two threads did ~8 % more cycles at 32 clients relative to
  the raw baseline (above); a deployment serving only the worker hot path may set
  GUNICORN_THREADS=2. Each
  thread keeps one persistent connection (workers x threads = 8 in all).
- keep-alive 30 s: the worker app and API clients reuse their connection between next
  and submit; gunicorn faces clients directly (or through a proxy that keeps
  connections open).

- connections shared evenly (``gunicorn_worker.BalancedThreadWorker``, a gthread worker):
  with the stock gthread worker, whichever worker woke first accepted, and a kept-alive
  client stays with the worker that took it. bench/cycle.py at 32 clients on 2 workers
  found the measured phase's connections split 6/26 (three times), 2/30, 9/23 and 12/20
  (twice) in 7 of 9 runs, 16/16 in two, and 45/83 and 42/86 at 128 clients
  (2026-11-30 19:40-20:15 UTC). The balanced worker split them 16/16 and 64/64 in every
  run. The machine's speed swung by about 2x between runs that evening (raw SQL
  1,030-1,840 cycles/s), so absolute latencies compare poorly; the shape of the tail
  does not: next's p99 was 2.4-2.5x its p50 in runs split 6/26 or 9/23, and 1.5-1.6x in
  the even ones, balanced or stock by luck. At 128 clients, two pairs: next p99 0.91 / 1.08 s against 1.46 / 1.43 s stock.
  ``--reuse-port`` spreads connections by a hash instead, evenly only on average, and a
  stopping worker resets the connections already queued on its own socket.
- the cyclic garbage collector: each worker freezes the loaded application
  (post_worker_init) and once more after its first GUNICORN_GC_FREEZE_AFTER requests
  (post_request; 1,000 by default), so full collections stop walking it (config/gc_pause.py). Measured
  2026-11-30 17:40-17:47 UTC at 32 clients, 12 s phases, on a machine slower than in the
  morning (two runs each, alternated): longest collector pause 21-31 ms against 46-97 ms
  with a freeze after start-up only and 110-270 ms without any; next p99 189-209 ms
  against 232-316 ms (freeze after start-up only) and 258-380 ms (none, six runs); cycles/s
  144-149 against 116-118 and 95-137.

Each value can be overridden from the environment for other machines: WEB_CONCURRENCY
(workers), GUNICORN_THREADS, GUNICORN_BIND, GUNICORN_KEEPALIVE, GUNICORN_ACCESS_LOG
(path or ``-``; off by default because the application already logs one JSON line per
request, config/logging.py), GUNICORN_GC_FREEZE_AFTER (requests; 0 freezes at start-up
only).
"""
import gc
import itertools
import multiprocessing
import os

_cores = multiprocessing.cpu_count()

wsgi_app = "config.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# gthread, balanced: workers share kept-alive connections evenly (gunicorn_worker.py).
worker_class = "gunicorn_worker.BalancedThreadWorker"
workers = int(os.environ.get("WEB_CONCURRENCY", _cores))
threads = int(os.environ.get("GUNICORN_THREADS", 4))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 30))
# A claim or submit answers in milliseconds; an upload of MAX_UPLOAD_BYTES over a slow
# link is the longest request and larger files go through the background import.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))
graceful_timeout = 30
backlog = 2048
# Recycle workers now and then so a slow leak in a dependency cannot grow forever; the
# jitter keeps them from restarting together.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 100_000))
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
# Load the application in each worker after the fork: no database connection or Redis
# client is ever shared between processes.
preload_app = False


# Counted in each worker (the counter is copied at fork); next() on it is atomic, so the
# request threads see each number once.
_gc_freeze_after = int(os.environ.get("GUNICORN_GC_FREEZE_AFTER", 1000))
_requests_served = itertools.count(1)


def post_worker_init(worker):
    from config.gc_pause import freeze_loaded_application

    freeze_loaded_application()


def child_exit(server, worker):
    from gunicorn_worker import release_slot

    release_slot(worker)


def post_request(worker, req, environ, resp):
    # The first requests build lasting caches (compiled queries, serializer fields, cache
    # clients): freeze them too. Cyclic garbage of that moment stays (bounded; gone when
    # the worker is recycled).
    if next(_requests_served) == _gc_freeze_after:
        gc.freeze()
