"""Benchmark: claiming work over HTTP, against the same claim without HTTP.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/quorum_claim_bench \\
        .venv/bin/python bench/claim.py

For each number of simulated workers N (8, 32, 128) it measures, one after the other:

- ``http``: gunicorn (gthread, persistent DB connections, throttles set out of the way)
  serving N client threads, each with its own worker token and a keep-alive connection,
  looping POST /worker/tasks/next -> POST /worker/assignments/{id}/submit for a fixed
  time. Reported: claims/s, p50/p99 latency of ``next`` seen by the client, and the
  server's own p50 (from the request log) so the HTTP overhead shows;
- ``raw``: the same claim transaction without HTTP - ``assignment_claim`` (the code of
  marketplace/services/routing.py) called in this process by N workers, then marked
  submitted with two UPDATEs. At most as many threads (so database connections) as the
  server has, as behind gunicorn.

Each phase gets a fresh active project (the previous one is cancelled, so routing scans
one project), and is checked afterwards with SQL: slot-holding assignments beyond a
task's overlap and workers holding a task twice must both be 0. One JSON line per N,
then a summary line with the HTTP/raw ratio at 32 workers (goal: >= 0.30).

The database is dropped and created afresh, so its name must contain "bench". Grading
jobs go to the Redis broker at BENCH_REDIS_URL (default db 9 on 127.0.0.1) and are
deleted at the end, as the bench's throttle counters are. Only 127.0.0.1 is contacted.
Knobs (environment): BENCH_WORKERS=8,32,128 BENCH_SECONDS=10 BENCH_TASKS=3000
BENCH_GUNICORN_WORKERS=4 BENCH_GUNICORN_THREADS=4.
"""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORKER_COUNTS = tuple(int(n) for n in os.environ.get("BENCH_WORKERS", "8,32,128").split(","))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
WARMUP_SECONDS = 1.5
WARMUP_TASKS = 300
TASKS_PER_PROJECT = int(os.environ.get("BENCH_TASKS", "3000"))
ITEMS_PER_TASK = 5
GOLD_PER_TASK = 1
GOLD_ITEMS = 200
OVERLAP = 3
GUNICORN_WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", "4"))
GUNICORN_THREADS = int(os.environ.get("BENCH_GUNICORN_THREADS", "4"))
RAW_MAX_THREADS = GUNICORN_WORKERS * GUNICORN_THREADS
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
GOAL_WORKERS, GOAL_RATIO = 32, 0.30
HOST = "127.0.0.1"

DATABASE_URL = os.environ.get("DATABASE_URL", "")
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
os.environ["DATABASE_CONN_MAX_AGE"] = "600"
# This process only builds data and runs the raw phase: nothing is enqueued from it.
os.environ["CELERY_BROKER_URL"] = ""
os.environ.pop("REDIS_URL", None)


def fail(message: str) -> None:
    print(json.dumps({"error": message}), flush=True)
    sys.exit(2)


def recreate_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if parts.scheme not in ("postgres", "postgresql") or "bench" not in name:
        fail("DATABASE_URL must name a PostgreSQL database whose name contains 'bench' "
             "(it is dropped and created afresh).")
    if parts.hostname not in ("127.0.0.1", "localhost"):
        fail("The benchmark only talks to 127.0.0.1.")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


if not DATABASE_URL:
    fail("Set DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/quorum_claim_bench")
recreate_database(DATABASE_URL)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import DatabaseError, connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.enums import Role  # noqa: E402
from accounts.models import User  # noqa: E402
from accounts.services import token_issue  # noqa: E402
from marketplace.enums import SLOT_HOLDING_STATUSES, AssignmentStatus  # noqa: E402
from marketplace.models import Answer, Assignment  # noqa: E402
from marketplace.services import (
    assignment_claim,
    items_import,
    organization_create,
    project_create,
)
from marketplace.uploads import UploadRow  # noqa: E402
from payments.services import organization_credit  # noqa: E402
from workers.enums import SkillSource, WorkerStatus  # noqa: E402
from workers.models import Skill  # noqa: E402
from workers.services import (  # noqa: E402
    worker_profile_create,
    worker_skill_set,
    worker_status_set,
)
from flows import projects as projects_flow


# --- data ----------------------------------------------------------------------------------

def make_requester(run: str) -> User:
    user = User.objects.create_user(email=f"bench-{run}@requester.example", password=None,
                                    role=Role.REQUESTER)
    organization = organization_create(name=f"Bench {run}", owner=user)
    organization_credit(organization=organization, actor=None, amount_cents=10**12,
                        reason="Benchmark funds")
    return user


def make_workers(run: str, count: int) -> list[tuple]:
    """(profile, token) of ``count`` active workers eligible for the bench projects."""
    skill = Skill.objects.get(slug="sentiment-en")
    workers = []
    for index in range(count):
        user = User.objects.create_user(email=f"bench-{run}-{index}@workers.example",
                                        password=None, role=Role.WORKER)
        profile = worker_profile_create(user=user)
        worker_skill_set(worker=profile, skill=skill, level=90, source=SkillSource.ADMIN)
        worker_status_set(worker=profile, status=WorkerStatus.ACTIVE)
        workers.append((profile, token_issue(user=user).token))
    return workers


def make_project(requester: User, name: str, tasks: int = TASKS_PER_PROJECT):
    project = project_create(organization=requester.membership.organization, actor=requester,
                             fields={
        "name": name, "instructions": "Pick the sentiment.", "task_type": "single_choice",
        "label_config": {"choices": ["positive", "negative", "neutral"]},
        "required_skills": [{"skill": "sentiment-en", "min_level": 50}],
        "domain": "languages", "sensitivity": "public", "pay_model": "per_task",
        "reward_cents": 5, "items_per_task": ITEMS_PER_TASK, "gold_per_task": GOLD_PER_TASK,
        "overlap": OVERLAP, "assignment_duration_seconds": 600,
    })
    items_import(project=project, actor=requester, is_gold=False, rows=[
        UploadRow(row=i + 1, external_id=None, data={"text": f"Review {i}: it works."},
                  answer=None, has_answer=False)
        for i in range(tasks * ITEMS_PER_TASK)])
    items_import(project=project, actor=requester, is_gold=True, rows=[
        UploadRow(row=i + 1, external_id=None, data={"text": f"Known review {i}"},
                  answer="positive", has_answer=True) for i in range(GOLD_ITEMS)])
    return projects_flow.launch(project=project, actor=requester)


def invariant_violations(project_id: int) -> dict:
    """Slot-holding assignments beyond each task's overlap, workers on a task twice, and
    tasks whose counter disagrees with their rows - all must be 0."""
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT COALESCE(SUM(GREATEST(held.n - task.overlap, 0)), 0),
                   COUNT(*) FILTER (WHERE held.n <> task.filled)
            FROM marketplace_task task
            JOIN (SELECT task_id, COUNT(*) AS n FROM marketplace_assignment
                  WHERE project_id = %s AND status = ANY(%s) GROUP BY task_id) held
              ON held.task_id = task.id""", [project_id, list(SLOT_HOLDING_STATUSES)])
        beyond, counter_mismatches = cursor.fetchone()
        cursor.execute("""
            SELECT COUNT(*) - COUNT(DISTINCT (task_id, worker_id))
            FROM marketplace_assignment WHERE project_id = %s""", [project_id])
        (twice,) = cursor.fetchone()
    return {"beyond_overlap": int(beyond), "worker_twice_on_task": int(twice),
            "filled_counter_mismatches": int(counter_mismatches)}


# --- gunicorn --------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def start_gunicorn(port: int, log_path: Path) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=DATABASE_URL, DJANGO_DEBUG="false",
               DATABASE_CONN_MAX_AGE="600", REDIS_URL=REDIS_URL, CELERY_BROKER_URL=REDIS_URL,
               THROTTLE_WORKER_NEXT_RATE="1000000/s",
               THROTTLE_WORKER_SUBMIT_RATE="1000000/s", DJANGO_ALLOWED_HOSTS=HOST)
    log = open(log_path, "ab")
    process = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "config.wsgi:application",
         "-k", "gthread", "-w", str(GUNICORN_WORKERS), "--threads", str(GUNICORN_THREADS),
         "-b", f"{HOST}:{port}", "--keep-alive", "30", "--backlog", "512"],
        cwd=ROOT, env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}; see {log_path}")
        try:
            probe = http.client.HTTPConnection(HOST, port, timeout=2)
            probe.request("GET", "/healthz")
            response = probe.getresponse()
            body = response.read()
            probe.close()
            if response.status == 200:
                return process
            raise RuntimeError(f"/healthz answered {response.status}: {body[:200]!r}")
        except (ConnectionError, OSError):
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer within 30 s")


def stop_gunicorn(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # the master stops its own workers
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- the two loops ---------------------------------------------------------------------------

class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.claims = 0
        self.no_work = 0
        self.errors: dict[str, int] = {}
        self.claim_ms: list[float] = []
        self.submit_ms: list[float] = []

    def merge(self, claims, no_work, errors, claim_ms, submit_ms) -> None:
        with self.lock:
            self.claims += claims
            self.no_work += no_work
            for key, count in errors.items():
                self.errors[key] = self.errors.get(key, 0) + count
            self.claim_ms.extend(claim_ms)
            self.submit_ms.extend(submit_ms)


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))], 2)


class Client:
    """One simulated worker's keep-alive connection."""

    def __init__(self, port: int, token: str):
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}",
                        "Content-Type": "application/json"}
        self.connection = http.client.HTTPConnection(HOST, port, timeout=60)

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        for attempt in (1, 2):
            try:
                self.connection.request("POST", path, body=body, headers=self.headers)
                response = self.connection.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, ConnectionError):
                self.connection.close()  # the server closed an idle keep-alive: reconnect
                self.connection = http.client.HTTPConnection(HOST, self.port, timeout=60)
                if attempt == 2:
                    raise


def http_loop(port: int, token: str, start: threading.Barrier, stop_at: list, stats: Stats):
    client = Client(port, token)
    claims = no_work = 0
    errors: dict[str, int] = {}
    claim_ms, submit_ms = [], []
    start.wait()
    while time.perf_counter() < stop_at[0]:
        try:
            began = time.perf_counter()
            status, body = client.post("/api/v1/worker/tasks/next", b"{}")
            claim_ms.append((time.perf_counter() - began) * 1000)
            if status == 204:
                no_work += 1
                time.sleep(0.01)
                continue
            if status != 200:
                errors[f"next_{status}"] = errors.get(f"next_{status}", 0) + 1
                time.sleep(0.01)
                continue
            claims += 1
            served = json.loads(body)
            answers = [{"item_id": item["id"], "value": "positive"}
                       for item in served["items"]]
            began = time.perf_counter()
            status, body = client.post(
                f"/api/v1/worker/assignments/{served['assignment_id']}/submit",
                json.dumps({"answers": answers}).encode())
            submit_ms.append((time.perf_counter() - began) * 1000)
            if status != 200:
                errors[f"submit_{status}"] = errors.get(f"submit_{status}", 0) + 1
        except (OSError, http.client.HTTPException, ValueError) as exc:
            name = f"client_{type(exc).__name__}"
            errors[name] = errors.get(name, 0) + 1
            time.sleep(0.01)
    client.connection.close()
    stats.merge(claims, no_work, errors, claim_ms, submit_ms)


def raw_loop(workers: list, start: threading.Barrier, stop_at: list, stats: Stats):
    """This thread's share of the workers, in turn: claim, then mark submitted."""
    claims = no_work = 0
    errors: dict[str, int] = {}
    claim_ms = []
    turn = 0
    try:
        start.wait()
        while time.perf_counter() < stop_at[0]:
            worker = workers[turn % len(workers)]
            turn += 1
            try:
                began = time.perf_counter()
                assignment = assignment_claim(worker=worker)
                claim_ms.append((time.perf_counter() - began) * 1000)
                if assignment is None:
                    no_work += 1
                    continue
                claims += 1
                Answer.objects.filter(assignment=assignment).update(value="positive")
                Assignment.objects.filter(pk=assignment.pk).update(
                    status=AssignmentStatus.SUBMITTED, submitted_at=timezone.now())
            except DatabaseError as exc:
                name = f"db_{type(exc).__name__}"
                errors[name] = errors.get(name, 0) + 1
    finally:
        connection.close()
    stats.merge(claims, no_work, errors, claim_ms, [])


def run_phase(loops: list[tuple], seconds: float) -> tuple[Stats, float]:
    """Run the given (target, args) loops together for ``seconds``; returns the stats
    and the wall time from start to the last loop's end."""
    stats = Stats()
    barrier = threading.Barrier(len(loops) + 1)
    stop_at = [float("inf")]
    threads = [threading.Thread(target=target, args=(*args, barrier, stop_at, stats))
               for target, args in loops]
    for thread in threads:
        thread.start()
    stop_at[0] = time.perf_counter() + seconds
    barrier.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return stats, time.perf_counter() - began


def server_p50(log_path: Path, offset: int, path_suffix: str) -> float | None:
    """Median duration_ms the server logged for requests whose path ends with
    ``path_suffix``, from ``offset`` on."""
    durations = []
    with open(log_path, "rb") as log:
        log.seek(offset)
        for line in log:
            if not line.startswith(b"{"):
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if str(record.get("path", "")).endswith(path_suffix):
                durations.append(record["duration_ms"])
    return percentile(durations, 0.5)


def http_phase(port, workers, requester, count, log_path, run) -> dict:
    warmup = make_project(requester, f"warm-up http {count} {run}", tasks=WARMUP_TASKS)
    run_phase([(http_loop, (port, token)) for _, token in workers[:count]], WARMUP_SECONDS)
    projects_flow.cancel(project=warmup, actor=requester)
    project = make_project(requester, f"http {count} {run}")
    offset = log_path.stat().st_size
    stats, wall = run_phase([(http_loop, (port, token)) for _, token in workers[:count]],
                            SECONDS)
    projects_flow.cancel(project=project, actor=requester)
    return {
        "claims": stats.claims, "claims_per_s": round(stats.claims / wall, 1),
        "next_p50_ms": percentile(stats.claim_ms, 0.5),
        "next_p99_ms": percentile(stats.claim_ms, 0.99),
        "next_server_p50_ms": server_p50(log_path, offset, "/tasks/next"),
        "submit_p50_ms": percentile(stats.submit_ms, 0.5),
        "submit_server_p50_ms": server_p50(log_path, offset, "/submit"),
        "no_work": stats.no_work, "errors": stats.errors,
        **invariant_violations(project.pk),
    }


def raw_phase(workers, requester, count, run) -> dict:
    profiles = [profile for profile, _ in workers[:count]]
    threads = min(count, RAW_MAX_THREADS)
    shares = [profiles[index::threads] for index in range(threads)]
    warmup = make_project(requester, f"warm-up raw {count} {run}", tasks=WARMUP_TASKS)
    run_phase([(raw_loop, (share,)) for share in shares], WARMUP_SECONDS)
    projects_flow.cancel(project=warmup, actor=requester)
    project = make_project(requester, f"raw {count} {run}")
    stats, wall = run_phase([(raw_loop, (share,)) for share in shares], SECONDS)
    projects_flow.cancel(project=project, actor=requester)
    return {
        "claims": stats.claims, "claims_per_s": round(stats.claims / wall, 1),
        "claim_p50_ms": percentile(stats.claim_ms, 0.5),
        "claim_p99_ms": percentile(stats.claim_ms, 0.99),
        "threads": threads, "no_work": stats.no_work, "errors": stats.errors,
        **invariant_violations(project.pk),
    }


def forget_broker_messages() -> None:
    """Drop the grading jobs the bench enqueued and its throttle counters."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    for pattern in ("celery", "_kombu.binding.*", "unacked*", ":1:throttle_*"):
        for key in client.scan_iter(match=pattern, count=1000):
            client.delete(key)


def main() -> None:
    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    run = uuid.uuid4().hex[:8]
    requester = make_requester(run)
    workers = make_workers(run, max(WORKER_COUNTS))
    log_dir = Path(tempfile.mkdtemp(prefix="quorum-bench-claim-"))
    log_path = log_dir / "gunicorn.log"
    port = free_port()
    server = start_gunicorn(port, log_path)
    results = {}
    violations = 0
    try:
        for count in WORKER_COUNTS:
            http_result = http_phase(port, workers, requester, count, log_path, run)
            raw_result = raw_phase(workers, requester, count, run)
            ratio = (round(http_result["claims_per_s"] / raw_result["claims_per_s"], 3)
                     if raw_result["claims_per_s"] else None)
            results[count] = ratio
            violations += sum(result[key] for result in (http_result, raw_result)
                              for key in ("beyond_overlap", "worker_twice_on_task",
                                          "filled_counter_mismatches"))
            print(json.dumps({"workers": count, "seconds": SECONDS,
                              "gunicorn": f"gthread {GUNICORN_WORKERS}x{GUNICORN_THREADS}",
                              "http": http_result, "raw": raw_result,
                              "http_vs_raw": ratio}), flush=True)
    finally:
        stop_gunicorn(server)
        forget_broker_messages()
    ratio = results.get(GOAL_WORKERS)
    print(json.dumps({"summary": True, "goal": f"http >= {GOAL_RATIO:.0%} of raw at "
                      f"{GOAL_WORKERS} workers", "http_vs_raw_at_goal": ratio,
                      "met": None if ratio is None else ratio >= GOAL_RATIO,
                      "invariant_violations": violations,
                      "total_seconds": round(time.perf_counter() - started, 1),
                      "server_log": str(log_path)}), flush=True)
    if violations:
        sys.exit(1)


if __name__ == "__main__":
    main()
