"""Gunicorn settings for Quorum (read by default from the working directory: a bare
``gunicorn config.wsgi:application`` uses them, as docker-compose and bench/cycle.py do).

Why these values (measured with bench/cycle.py on the 2-core development machine, with
PostgreSQL, Redis and a Celery worker on the same cores; figures in the README):

- ``gthread``: a request spends a good part of its time waiting on PostgreSQL and Redis;
  a few threads per process overlap those waits while one thread runs Python. The async
  worker classes (gevent, eventlet) would need psycopg and the Redis client patched and
  buy nothing over threads at this concurrency; ``sync`` leaves the core idle during
  every query.
- workers = 2 x cores: Python holds the GIL while it builds queries and renders JSON, so
  real parallelism comes from processes; two per core keep both cores busy while the
  other process of the pair waits on the database. More processes only add context
  switches and PostgreSQL connections (each thread keeps one persistent connection:
  workers x threads connections in all, well below PostgreSQL's default 100).
- threads = 4: past 4, extra threads queue on the GIL and p99 grows without more
  throughput.
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
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * _cores))
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
