"""Gunicorn settings for Quorum (read by default from the working directory: a bare
``gunicorn config.wsgi:application`` uses them, as docker-compose and bench/cycle.py do).

Why these values (measured with bench/cycle.py at 32 clients, 10 s, on the 2-core
development machine with PostgreSQL, Redis and a Celery worker on the same cores and
other test suites keeping the load at 7-12; 2026-11-30, next -> submit cycles/s):

    gthread 2 workers x 8 threads   12.3    (chosen)
    gthread 4 workers x 4 threads    7.1
    gthread 4 workers x 1 thread     4.3    (what sync workers do)
    4 x 4 with Django's psycopg pool instead of persistent connections    4.0

- ``gthread``: a request spends most of its time waiting on PostgreSQL (a dozen round
  trips per claim); threads overlap those waits while one thread runs Python. One thread
  per process (the ``sync`` worker's model) left the cores idle during queries. The
  async worker classes (gevent, eventlet) would need psycopg and the Redis client
  patched, for what threads already give.
- workers = cores: Python holds the GIL while it builds queries and renders JSON, so
  parallelism comes from processes, but on a machine shared with PostgreSQL and Celery
  more processes than cores only competed with them for CPU.
- threads = 8: enough to keep each process busy through the database waits; each keeps
  one persistent connection (workers x threads = 16 in all, well below PostgreSQL's 100).
- keep-alive 30 s: the worker app and API clients reuse their connection between next
  and submit; gunicorn faces clients directly (or through a proxy that keeps
  connections open).

Each value can be overridden from the environment for other machines: WEB_CONCURRENCY
(workers), GUNICORN_THREADS, GUNICORN_BIND, GUNICORN_KEEPALIVE, GUNICORN_ACCESS_LOG
(path or ``-``; off by default because the application already logs one JSON line per
request, config/logging.py).
"""
import multiprocessing
import os

_cores = multiprocessing.cpu_count()

wsgi_app = "config.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", _cores))
threads = int(os.environ.get("GUNICORN_THREADS", 8))
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
