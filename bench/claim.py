"""Benchmark: claims over HTTP against the database's own limit for a claim.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/quorum_perf_bench \\
    BENCH_REDIS_URL=redis://127.0.0.1:6379/13 .venv/bin/python bench/claim.py

The harness of bench/cycle.py (gunicorn from gunicorn.conf.py, a real Celery worker
grading every submission, fresh projects of one item per task, overlap 3), with 8, 32 and
128 client threads looping next -> submit over HTTP. The baseline is not our Python
service but the claim alone as one hand-written ``FOR UPDATE SKIP LOCKED`` statement
through psycopg on the same tables (pick, take the slot, insert the assignment and its
answer rows), by min(N, BENCH_RAW_CONNECTIONS) connections. One JSON line per N with
claims/s both ways and the ratio; the goal is HTTP >= 30 % of raw at 32 clients.
Over-assignments, workers twice on a task and submissions ungraded 5 s after the run
must be 0 (exit status 1 otherwise).

Then the same at BENCH_ACTIVE_CLIENTS (32) on a project in automation mode "active" (every
item predicted with a random score: least certain first), beside the raw claim in the
same order, with the EXPLAIN of the claim's pick (an index scan of task_active_routing_idx,
no sort).
"""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# The raw claim here does not submit, so every claim keeps its slot: at ~5,000 claims/s
# cycle.py's 20,000-task raw project ran short before the phase ended (25,305 empty
# claims at 32 clients in one run), which understated the baseline.
os.environ.setdefault("BENCH_RAW_TASKS", "60000")
import cycle  # noqa: E402

if __name__ == "__main__":
    cycle.main(name="claim",
               counts=tuple(int(n) for n in os.environ.get("BENCH_WORKERS", "8,32,128")
                            .split(",")),
               submit_raw=False,
               goals=[("ratio", 32, 0.30)],
               active_clients=int(os.environ.get("BENCH_ACTIVE_CLIENTS", "32")))
