"""Benchmark: the worker's next -> submit cycle as production runs it, beside the
database's own limit measured in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/quorum_perf_bench \\
    BENCH_REDIS_URL=redis://127.0.0.1:6379/13 .venv/bin/python bench/cycle.py

What runs, all on 127.0.0.1:
- gunicorn started as production starts it: ``gunicorn`` with the repository's
  gunicorn.conf.py (only the bind address is overridden), persistent DB connections;
- a real Celery worker (Redis broker at BENCH_REDIS_URL) consuming the aggregation jobs
  the submits request (one per task while queued; gold is graded inside the submit);
- for each client count N (12, 32, 128): a fresh active project with one item per task,
  overlap 3, and N client threads, each a distinct worker with its own keep-alive
  connection, looping POST /worker/tasks/next -> POST /worker/assignments/{id}/submit for
  BENCH_SECONDS (after a short warm-up on the same project);
- ``raw``: the database's limit on the same tables (an identical project): the claim as
  one hand-written ``FOR UPDATE SKIP LOCKED`` statement (pick a free task the worker never
  held, take the slot, insert the assignment and its answer rows) and the submit as one
  statement, through psycopg in autocommit, by min(N, BENCH_RAW_CONNECTIONS) threads each
  with its own connection (PostgreSQL's max_connections is shared on this machine).

One JSON line per N, with the ratio http/raw, the CPU seconds the gunicorn and Celery
process trees spent from the measured run's start to the end of the waits below (per
cycle, and per task aggregated), PostgreSQL's and the bench's own client threads' CPU per
cycle during the run, then a summary. Each phase starts on freshly vacuumed tables
(``settle_database``). After each HTTP phase the
bench waits at most 5 s for every submission to be graded and counts the ones still
ungraded, then at most 5 s more for the tasks whose aggregation the worker owes and counts
those left (reported, not a violation: a late aggregation loses nothing); the ungraded ones, over-assignments
(slot-holding assignments beyond a task's overlap) and workers twice on one task must
all be 0 (exit status 1 otherwise).

The database is dropped and created afresh, so its name must contain "bench"; the Redis
db is flushed at the start and end. Bounded in time: every phase stops by itself.
Knobs: BENCH_WORKERS=12,32,128 BENCH_SECONDS=15 BENCH_TASKS=6000 BENCH_RAW_TASKS=30000
BENCH_RAW_CONNECTIONS=32, BENCH_PROJECTS=1 (the HTTP phase's tasks in that many projects
of one priority, BENCH_TASKS each; the raw claim stays on one project).
``bench/claim.py`` runs the same harness for claims alone.
"""
import http.client
import json
import os
import secrets
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

SECONDS = float(os.environ.get("BENCH_SECONDS", "15"))
WARMUP_SECONDS = 2.0
TASKS_PER_PROJECT = int(os.environ.get("BENCH_TASKS", "6000"))
# The raw claim runs ten times faster than HTTP: with the HTTP phases' project size it ran
# out of free tasks before its phase ended (hundreds of thousands of empty claims), which
# understated the baseline and flattered the ratio. 30,000 tasks are 90,000 slots: the raw
# cycle now runs ~3,500 /s, and 20,000 tasks ran out in a 15 s phase (20,862 empty claims).
RAW_TASKS_PER_PROJECT = int(os.environ.get("BENCH_RAW_TASKS", "30000"))
OVERLAP = 3
RAW_CONNECTIONS = int(os.environ.get("BENCH_RAW_CONNECTIONS", "32"))
# The HTTP phase's projects, BENCH_TASKS tasks each, one priority, every worker eligible
# for all: a claim then picks the best free task among them. One project per phase hid
# a claim that sorted every free task of such a group (issue 11, sixth session).
PROJECTS = int(os.environ.get("BENCH_PROJECTS", "1"))
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
GRADING_GRACE_SECONDS = 5.0
HOST = "127.0.0.1"

DATABASE_URL = os.environ.get("DATABASE_URL", "")
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
# This process only builds data: nothing it does is enqueued. It shares the servers' cache
# (as every process of a deployment must): cancelling a phase's project here invalidates
# the routable projects the servers cached for its workers.
os.environ["CELERY_BROKER_URL"] = ""
os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")


def fail(message: str) -> None:
    print(json.dumps({"error": message}), flush=True)
    sys.exit(2)


def check_local(url: str, scheme: tuple) -> None:
    parts = urlsplit(url)
    if parts.scheme not in scheme or parts.hostname not in ("127.0.0.1", "localhost"):
        fail(f"{url!r}: the benchmark only talks to 127.0.0.1.")


def recreate_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    check_local(url, ("postgres", "postgresql"))
    if "bench" not in name:
        fail("DATABASE_URL must name a database whose name contains 'bench' "
             "(it is dropped and created afresh).")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def flush_redis() -> None:
    import redis

    check_local(REDIS_URL, ("redis",))
    redis.Redis.from_url(REDIS_URL).flushdb()


def setup_django() -> None:
    if not DATABASE_URL:
        fail("Set DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/quorum_perf_bench")
    recreate_database(DATABASE_URL)
    flush_redis()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


# --- data ----------------------------------------------------------------------------------

def make_requester(run: str):
    from accounts.enums import Role
    from accounts.models import User
    from marketplace.services import organization_create
    from payments.services import organization_credit

    user = User.objects.create_user(email=f"bench-{run}@requester.example", password=None,
                                    role=Role.REQUESTER)
    organization = organization_create(name=f"Bench {run}", owner=user)
    organization_credit(organization=organization, actor=None, amount_cents=10**12,
                        reason="Benchmark funds")
    return user


def make_workers(run: str, count: int) -> list[tuple]:
    """(profile, token) of ``count`` active workers eligible for the bench projects."""
    from accounts.enums import Role
    from accounts.models import User
    from accounts.services import token_issue
    from workers.enums import SkillSource, WorkerStatus
    from workers.models import Skill
    from workers.services import worker_profile_create, worker_skill_set, worker_status_set

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


def make_project(requester, name: str, tasks: int = TASKS_PER_PROJECT, active: bool = False):
    """An active project, one item per task, overlap 3 (the shape of issue 11). With
    ``active``: in automation mode "active", every item predicted with a random score
    (uploaded through the flow, which keeps the tasks' routing scores)."""
    from flows.imports import import_items
    from flows.projects import launch
    from marketplace.services import project_create
    from marketplace.uploads import UploadRow

    project = project_create(organization=requester.membership.organization, actor=requester,
                             fields={
        "name": name, "instructions": "Pick the sentiment.", "task_type": "single_choice",
        "label_config": {"choices": ["positive", "negative", "neutral"]},
        "required_skills": [{"skill": "sentiment-en", "min_level": 50}],
        "domain": "languages", "sensitivity": "public", "pay_model": "per_task",
        "reward_cents": 5, "items_per_task": 1, "gold_per_task": 0,
        "overlap": OVERLAP, "assignment_duration_seconds": 600,
    })
    # Through the flow, as the API does: it refreshes the planner's statistics after a
    # large upload, which a deployment's autovacuum would otherwise do on its own time.
    import_items(project=project, actor=requester, is_gold=False, rows=[
        UploadRow(row=i + 1, external_id=None, data={"text": f"Review {i}: it works."},
                  answer=None, has_answer=False) for i in range(tasks)])
    project = launch(project=project, actor=requester)
    if active:
        import random

        from automation.services import MAX_PREDICTIONS_PER_REQUEST
        from flows.automation import store_predictions, update_settings
        from marketplace.models import Item

        draw = random.Random(11)
        predictions = [
            {"item_id": item_id, "value": "positive", "score": round(draw.random(), 4),
             "model_version": "bench"}
            for item_id in Item.objects.filter(project=project).values_list("pk", flat=True)]
        # In requests of the API's size: a raw project (60,000 items in bench/claim.py)
        # is over it.
        for start in range(0, len(predictions), MAX_PREDICTIONS_PER_REQUEST):
            store_predictions(project=project, by_item_id=True,
                              predictions=predictions[start:start + MAX_PREDICTIONS_PER_REQUEST])
        update_settings(project=project, fields={"mode": "active"})
    return project


def project_cancel(requester, project) -> None:
    from flows.projects import cancel

    cancel(project=project, actor=requester)


def invariant_violations(project_ids: list[int]) -> dict:
    """Slot-holding assignments beyond each task's overlap and workers on a task twice:
    both must be 0."""
    from django.db import connection

    from marketplace.enums import SLOT_HOLDING_STATUSES

    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT COALESCE(SUM(GREATEST(held.n - task.overlap, 0)), 0)
            FROM marketplace_task task
            JOIN (SELECT task_id, COUNT(*) AS n FROM marketplace_assignment
                  WHERE project_id = ANY(%s) AND status = ANY(%s) GROUP BY task_id) held
              ON held.task_id = task.id""", [project_ids, list(SLOT_HOLDING_STATUSES)])
        (beyond,) = cursor.fetchone()
        cursor.execute("""
            SELECT COUNT(*) - COUNT(DISTINCT (task_id, worker_id))
            FROM marketplace_assignment WHERE project_id = ANY(%s)""", [project_ids])
        (twice,) = cursor.fetchone()
    return {"over_assignments": int(beyond), "worker_twice_on_task": int(twice)}


def ungraded_after_grace(project_ids: list[int], grace: float) -> tuple[int, int, float]:
    """Wait up to ``grace`` seconds for every submission of the projects to be graded by
    the Celery worker; (submitted, still ungraded, seconds waited)."""
    from django.db import connection

    began = time.perf_counter()
    while True:
        with connection.cursor() as cursor:
            cursor.execute("""
                SELECT COUNT(*) FILTER (WHERE submitted_at IS NOT NULL),
                       COUNT(*) FILTER (WHERE submitted_at IS NOT NULL AND graded_at IS NULL)
                FROM marketplace_assignment WHERE project_id = ANY(%s)""", [project_ids])
            submitted, ungraded = cursor.fetchone()
        waited = time.perf_counter() - began
        if not ungraded or waited >= grace:
            return int(submitted), int(ungraded), round(waited, 2)
        time.sleep(0.1)


def tasks_unaggregated(project_ids: list[int], grace: float) -> tuple[int, float]:
    """Wait up to ``grace`` seconds for the tasks whose slots are all done (overlap
    reached, none live) to have every item final: the aggregation the Celery worker owes
    (gold is graded inside the submit since issue 11, so this is the worker's backlog
    now). (tasks still waiting, seconds waited); read before the projects are cancelled."""
    from django.db import connection

    began = time.perf_counter()
    while True:
        with connection.cursor() as cursor:
            cursor.execute("""
                SELECT COUNT(*) FROM marketplace_task t
                WHERE t.project_id = ANY(%s) AND t.status = 'open' AND t.filled >= t.overlap
                  AND NOT EXISTS (SELECT 1 FROM marketplace_assignment a
                                  WHERE a.task_id = t.id AND a.status = 'assigned')
                  AND EXISTS (SELECT 1 FROM marketplace_item i
                              WHERE i.task_id = t.id AND i.finalized_at IS NULL)""",
                           [project_ids])
            waiting = int(cursor.fetchone()[0])
        waited = time.perf_counter() - began
        if not waiting or waited >= grace:
            return waiting, round(waited, 2)
        time.sleep(0.1)


# --- processes -------------------------------------------------------------------------------

# name -> pid of the servers started by main(), whose CPU each HTTP phase reports.
SERVER_PIDS: dict[str, int] = {}


def _processes_cpu(selected) -> float:
    """User + system CPU seconds of the live processes ``selected(pid, ppid, command)``
    picks, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                command, rest = stat.read().split(" (", 1)[1].rsplit(")", 1)
        except (OSError, IndexError, ValueError):
            continue
        fields = rest.split()
        # After the command: state, ppid, ..., utime (12th), stime (13th).
        if selected(int(entry), int(fields[1]), command):
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def process_tree_cpu(pid: int) -> float:
    """CPU seconds of a live process and its live children (gunicorn's and Celery's
    worker processes)."""
    return _processes_cpu(lambda entry, parent, _command: pid in (entry, parent))


# What a phase churns: the next phase starts with these vacuumed (see settle_database).
CHURNED_TABLES = ("marketplace_task", "marketplace_assignment", "marketplace_answer",
                  "marketplace_assignmentevent", "marketplace_item", "marketplace_goldseen",
                  "marketplace_workerpseudonym", "qa_workerprojectstats")


def settle_database() -> None:
    """VACUUM (ANALYZE) what the last phase churned before the next one starts. A raw
    phase updates and inserts ~45,000 assignments with their answers; autovacuum then
    cleaned up after it during the following HTTP phase, whose figures paid for it
    (PostgreSQL CPU per cycle ~1.9 ms at 32 clients run alone, 4.5-5 ms at 32 run after
    the raw phase of 12, and 30 % fewer cycles)."""
    import psycopg

    with psycopg.connect(DATABASE_URL, autocommit=True) as connection:
        connection.execute(f"VACUUM (ANALYZE) {', '.join(CHURNED_TABLES)}")


def postgres_cpu() -> float:
    """CPU seconds of every live PostgreSQL process on this machine (the backends of
    gunicorn's and Celery's persistent connections live through a phase)."""
    return _processes_cpu(lambda _entry, _parent, command: command == "postgres")


def items_finalized(project_ids: list[int]) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM marketplace_item WHERE project_id = ANY(%s) "
                       "AND finalized_at IS NOT NULL", [project_ids])
        return int(cursor.fetchone()[0])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


# One key for every server process of the run (pseudonyms and signatures derive from it).
SERVER_SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50)


def server_env() -> dict:
    # Throttles at production rates would refuse a bench worker's 10+ cycles/s; they still
    # run (a Redis round trip each), only their limit is lifted.
    # A deployment's settings refuse to start without a private secret key: the bench
    # makes one up for its own servers unless one is given.
    return dict(os.environ, DATABASE_URL=DATABASE_URL, DJANGO_DEBUG="false",
                DJANGO_SECRET_KEY=SERVER_SECRET_KEY,
                REDIS_URL=REDIS_URL, CELERY_BROKER_URL=REDIS_URL,
                CELERY_TASK_ALWAYS_EAGER="false",
                THROTTLE_WORKER_NEXT_RATE="1000000/s",
                THROTTLE_WORKER_SUBMIT_RATE="1000000/s", DJANGO_ALLOWED_HOSTS=HOST,
)


def start_gunicorn(port: int, log_path: Path) -> subprocess.Popen:
    log = open(log_path, "ab")
    # Started as production starts it: gunicorn.conf.py from the working directory.
    process = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "--bind", f"{HOST}:{port}"],
        cwd=ROOT, env=server_env(), stdout=log, stderr=log, start_new_session=True)
    deadline = time.monotonic() + 60
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
    raise RuntimeError("gunicorn did not answer within 60 s")


def start_celery(log_path: Path, concurrency: int = 1) -> subprocess.Popen:
    log = open(log_path, "ab")
    process = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "celery"), "-A", "config", "worker",
         "--loglevel=WARNING", f"--concurrency={concurrency}", "--without-gossip",
         "--without-mingle", "--hostname", f"bench-{os.getpid()}@%h"],
        cwd=ROOT, env=server_env(), stdout=log, stderr=log, start_new_session=True)
    time.sleep(2)
    if process.poll() is not None:
        raise RuntimeError(f"celery exited with {process.returncode}; see {log_path}")
    return process


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # gunicorn / celery stop their own children
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# --- measuring -------------------------------------------------------------------------------

class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.cycles = 0
        self.no_work = 0
        self.errors: dict[str, int] = {}
        self.next_ms: list[float] = []
        self.submit_ms: list[float] = []

    def merge(self, cycles, no_work, errors, next_ms, submit_ms) -> None:
        with self.lock:
            self.cycles += cycles
            self.no_work += no_work
            for key, count in errors.items():
                self.errors[key] = self.errors.get(key, 0) + count
            self.next_ms.extend(next_ms)
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


def http_loop(port: int, token: str, submit: bool, start: threading.Barrier,
              stop_at: list, stats: Stats):
    client = Client(port, token)
    cycles = no_work = 0
    errors: dict[str, int] = {}
    next_ms, submit_ms = [], []
    start.wait()
    while time.perf_counter() < stop_at[0]:
        try:
            began = time.perf_counter()
            status, body = client.post("/api/v1/worker/tasks/next", b"{}")
            next_ms.append((time.perf_counter() - began) * 1000)
            if status == 204:
                no_work += 1
                time.sleep(0.01)
                continue
            if status != 200:
                errors[f"next_{status}"] = errors.get(f"next_{status}", 0) + 1
                time.sleep(0.01)
                continue
            served = json.loads(body)
            answers = [{"item_id": item["id"], "value": "positive"}
                       for item in served["items"]]
            began = time.perf_counter()
            status, body = client.post(
                f"/api/v1/worker/assignments/{served['assignment_id']}/submit",
                json.dumps({"answers": answers}).encode())
            submit_ms.append((time.perf_counter() - began) * 1000)
            if status == 200:
                cycles += 1
            else:
                errors[f"submit_{status}"] = errors.get(f"submit_{status}", 0) + 1
        except (OSError, http.client.HTTPException, ValueError) as exc:
            name = f"client_{type(exc).__name__}"
            errors[name] = errors.get(name, 0) + 1
            time.sleep(0.01)
    client.connection.close()
    stats.merge(cycles, no_work, errors, next_ms, submit_ms)


# The database's own limit: the claim in one statement. Same tables, same index
# (task_routing_free_idx), same guards (CHECK filled <= overlap, unique (task, worker)).
RAW_CLAIM = """
WITH pick AS (
    SELECT t.id FROM marketplace_task t
    WHERE t.project_id = %(project)s AND t.status = 'open' AND t.filled < t.overlap
      AND NOT EXISTS (SELECT 1 FROM marketplace_assignment a
                      WHERE a.task_id = t.id AND a.worker_id = %(worker)s)
    ORDER BY t.filled DESC, t.id
    LIMIT 1 FOR UPDATE SKIP LOCKED
), slot AS (
    UPDATE marketplace_task t SET filled = t.filled + 1 FROM pick
    WHERE t.id = pick.id AND t.filled < t.overlap RETURNING t.id
), claimed AS (
    INSERT INTO marketplace_assignment (status, created_at, expires_at, last_heartbeat_at,
        active_seconds, review_reason, review_reason_code, reward_cents, instructions_version,
        project_id, task_id, worker_id)
    SELECT 'assigned', now(), now() + interval '600 seconds', now(), 0, '', '', 5, 1,
           %(project)s, slot.id, %(worker)s FROM slot
    RETURNING id, task_id
)
INSERT INTO marketplace_answer (position, is_gold, item_id, assignment_id)
SELECT 0, false, item.id, claimed.id
FROM claimed JOIN marketplace_item item ON item.task_id = claimed.task_id
RETURNING assignment_id, item_id
"""
# Active mode: the same claim in the order of task_active_routing_idx (least certain first).
RAW_CLAIM_ACTIVE = RAW_CLAIM.replace("ORDER BY t.filled DESC, t.id",
                                     "ORDER BY t.routing_score, t.id")
assert RAW_CLAIM_ACTIVE != RAW_CLAIM
RAW_SUBMIT = """
WITH submitted AS (
    UPDATE marketplace_assignment SET status = 'submitted', submitted_at = now()
    WHERE id = %(assignment)s AND status = 'assigned' RETURNING id
)
UPDATE marketplace_answer SET value = '"positive"'
WHERE assignment_id IN (SELECT id FROM submitted)
"""


def raw_loop(project_id: int, worker_ids: list, submit: bool, active: bool,
             start: threading.Barrier, stop_at: list, stats: Stats):
    """This connection's share of the workers, in turn: claim (and submit)."""
    import psycopg

    cycles = no_work = 0
    errors: dict[str, int] = {}
    next_ms, submit_ms = [], []
    turn = 0
    with psycopg.connect(DATABASE_URL, autocommit=True) as connection:
        start.wait()
        while time.perf_counter() < stop_at[0]:
            worker_id = worker_ids[turn % len(worker_ids)]
            turn += 1
            try:
                began = time.perf_counter()
                rows = connection.execute(RAW_CLAIM_ACTIVE if active else RAW_CLAIM,
                                          {"project": project_id,
                                                      "worker": worker_id}).fetchall()
                next_ms.append((time.perf_counter() - began) * 1000)
                if not rows:
                    no_work += 1
                    continue
                if submit:
                    began = time.perf_counter()
                    connection.execute(RAW_SUBMIT, {"assignment": rows[0][0]})
                    submit_ms.append((time.perf_counter() - began) * 1000)
                cycles += 1
            except psycopg.Error as exc:
                name = f"db_{type(exc).__name__}"
                errors[name] = errors.get(name, 0) + 1
    stats.merge(cycles, no_work, errors, next_ms, submit_ms)


def run_phase(loops: list[tuple], seconds: float) -> tuple[Stats, float]:
    """Run the (target, args) loops together for ``seconds``; the stats and the wall time
    from the start to the last loop's end."""
    stats = Stats()
    barrier = threading.Barrier(len(loops) + 1)
    stop_at = [float("inf")]
    threads = [threading.Thread(target=target, args=(*args, barrier, stop_at, stats))
               for target, args in loops]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    for thread in threads:
        thread.join()
    return stats, time.perf_counter() - began


def http_phase(port, workers, requester, count, run, submit: bool,
               active: bool = False) -> dict:
    projects = [make_project(requester, f"http {count} {run} {index}", active=active)
                for index in range(PROJECTS)]
    project_ids = [project.pk for project in projects]
    loops = [(http_loop, (port, token, submit)) for _, token in workers[:count]]
    run_phase(loops, WARMUP_SECONDS)
    cpu_before = {name: process_tree_cpu(pid) for name, pid in SERVER_PIDS.items()}
    finalized_before = items_finalized(project_ids)
    clients_before, postgres_before = time.process_time(), postgres_cpu()
    stats, wall = run_phase(loops, SECONDS)
    clients_cpu, database_cpu = (time.process_time() - clients_before,
                                 postgres_cpu() - postgres_before)
    submitted, ungraded, waited = ungraded_after_grace(project_ids, GRADING_GRACE_SECONDS)
    unaggregated, aggregation_wait = tasks_unaggregated(project_ids, GRADING_GRACE_SECONDS)
    aggregated = items_finalized(project_ids) - finalized_before  # one item per task
    cpu = {name: round(process_tree_cpu(pid) - cpu_before[name], 2)
           for name, pid in SERVER_PIDS.items()}
    for project in projects:
        project_cancel(requester, project)
    return {
        # CPU seconds of each server's process tree from the measured run's start to the
        # end of the waits after it (the Celery backlog included).
        "cpu_s": cpu, "tasks_aggregated": aggregated,
        "celery_cpu_ms_per_task_aggregated": round(cpu["celery"] * 1000 / aggregated, 2)
        if aggregated and "celery" in cpu else None,
        "gunicorn_cpu_ms_per_cycle": round(cpu["gunicorn"] * 1000 / stats.cycles, 2)
        if stats.cycles and "gunicorn" in cpu else None,
        # The rest of the machine's CPU during the run itself: PostgreSQL, and the bench's
        # own client threads (the same cores serve both sides).
        "postgres_cpu_ms_per_cycle": round(database_cpu * 1000 / stats.cycles, 2)
        if stats.cycles else None,
        "clients_cpu_ms_per_cycle": round(clients_cpu * 1000 / stats.cycles, 2)
        if stats.cycles else None,
        "cycles_per_s": round(stats.cycles / wall, 1), "cycles": stats.cycles,
        "next_p50_ms": percentile(stats.next_ms, 0.5),
        "next_p99_ms": percentile(stats.next_ms, 0.99),
        "submit_p50_ms": percentile(stats.submit_ms, 0.5),
        "submit_p99_ms": percentile(stats.submit_ms, 0.99),
        "no_work": stats.no_work, "errors": stats.errors,
        "submitted": submitted, "ungraded_after_5s": ungraded, "grading_wait_s": waited,
        "tasks_unaggregated_after_5s": unaggregated, "aggregation_wait_s": aggregation_wait,
        **invariant_violations(project_ids),
    }


def raw_phase(workers, requester, count, run, submit: bool, active: bool = False) -> dict:
    project = make_project(requester, f"raw {count} {run}", tasks=RAW_TASKS_PER_PROJECT,
                           active=active)
    worker_ids = [profile.pk for profile, _ in workers[:count]]
    connections = min(count, RAW_CONNECTIONS)
    loops = [(raw_loop, (project.pk, worker_ids[index::connections], submit, active))
             for index in range(connections)]
    run_phase(loops, WARMUP_SECONDS)
    stats, wall = run_phase(loops, SECONDS)
    violations = invariant_violations([project.pk])
    expire_leases(project.pk)
    project_cancel(requester, project)
    return {
        "cycles_per_s": round(stats.cycles / wall, 1), "cycles": stats.cycles,
        "claim_p50_ms": percentile(stats.next_ms, 0.5),
        "claim_p99_ms": percentile(stats.next_ms, 0.99),
        "submit_p50_ms": percentile(stats.submit_ms, 0.5),
        "connections": connections, "no_work": stats.no_work, "errors": stats.errors,
        **violations,
    }


def expire_leases(project_id: int) -> None:
    """The raw claim keeps no "one live lease per worker" rule: its workers end the phase
    holding many leases, which the next HTTP phase (the same workers) would be handed back
    and submit instead of claiming on its own project. Expire them."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("UPDATE marketplace_assignment SET status = 'expired' "
                       "WHERE project_id = %s AND status = 'assigned'", [project_id])


def stop_on_sigterm() -> None:
    """SIGTERM (``timeout``, Ctrl-C's cousin) unwinds through the ``finally`` blocks, so
    the gunicorn and Celery processes started here are stopped too."""
    def handler(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def active_pick_plan(project_id: int, worker) -> dict:
    """EXPLAIN of the claim's pick for an active-mode project: an index scan in
    least-certain-first order, no sort per claim."""
    from django.db import connection, transaction
    from django.utils import timezone

    from marketplace.services.claim_sql import _pick_sql

    with transaction.atomic():
        sql, params = _pick_sql(worker=worker, project_ids=[project_id], order="active",
                                now=timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = [row[0] for row in cursor.fetchall()]
    text = "\n".join(plan)
    return {"index_scan": "Index Scan using task_active_routing_idx" in text,
            "sort": "Sort" in text, "plan": plan}


def main(*, name: str, counts: tuple, submit_raw: bool, goals: list,
         active_clients: int | None = None) -> None:
    """``submit_raw``: the raw loop submits too (a full cycle) or only claims.
    ``goals``: (figure, clients, target) with figure cycles_per_s, ratio or next_p99_ms.
    ``active_clients``: also run that many clients on a project in automation mode
    "active" (least certain first), beside the raw claim in the same order."""
    stop_on_sigterm()
    started = time.perf_counter()
    setup_django()
    run = uuid.uuid4().hex[:8]
    requester = make_requester(run)
    workers = make_workers(run, max(*counts, active_clients or 0))
    log_dir = Path(tempfile.mkdtemp(prefix=f"quorum-bench-{name}-"))
    port = free_port()
    celery = start_celery(log_dir / "celery.log")
    SERVER_PIDS["celery"] = celery.pid
    server = None
    violations = 0
    figures = {}
    try:
        server = start_gunicorn(port, log_dir / "gunicorn.log")
        SERVER_PIDS["gunicorn"] = server.pid
        phases = [(count, False) for count in counts]
        if active_clients:
            phases.append((active_clients, True))
        for count, active in phases:
            settle_database()
            http_result = http_phase(port, workers, requester, count, run, submit=True,
                                     active=active)
            settle_database()
            raw_result = raw_phase(workers, requester, count, run, submit=submit_raw,
                                   active=active)
            ratio = (round(http_result["cycles_per_s"] / raw_result["cycles_per_s"], 3)
                     if raw_result["cycles_per_s"] else None)
            if not active:
                figures[count] = (http_result["cycles_per_s"], ratio,
                                  http_result["next_p99_ms"])
            violations += sum(result[key] for result in (http_result, raw_result)
                              for key in ("over_assignments", "worker_twice_on_task"))
            violations += http_result["ungraded_after_5s"]
            extra = {}
            if active:
                probe = make_project(requester, f"plan {run}", tasks=2000, active=True)
                extra["active_pick"] = active_pick_plan(probe.pk, workers[0][0])
                project_cancel(requester, probe)
            print(json.dumps({
                "bench": name, "clients": count, "seconds": SECONDS, "http_projects": PROJECTS,
                "automation_mode": "active" if active else "off", **extra,
                "gunicorn": {key: os.environ.get(key, "gunicorn.conf.py") for key in
                             ("WEB_CONCURRENCY", "GUNICORN_THREADS")},
                "database_pool": os.environ.get("DATABASE_POOL", "false"),
                "http": http_result,
                "raw_sql": raw_result,
                "ratio_http_vs_raw": ratio,
                "baseline": "one-statement FOR UPDATE SKIP LOCKED claim"
                            + (" + one-statement submit" if submit_raw else "")
                            + " through psycopg, same tables",
            }), flush=True)
    finally:
        if server is not None:
            stop(server)
        stop(celery)
        flush_redis()
    checks = {}
    for key, clients, target in goals:
        value = figures.get(clients, (None, None, None))[
            {"cycles_per_s": 0, "ratio": 1, "next_p99_ms": 2}[key]]
        met = None if value is None else (value <= target if key == "next_p99_ms"
                                          else value >= target)
        checks[f"{key}@{clients}"] = {"value": value, "goal": target, "met": met}
    print(json.dumps({"bench": name, "summary": True, "goals": checks,
                      "invariant_violations": violations,
                      "total_seconds": round(time.perf_counter() - started, 1),
                      "logs": str(log_dir)}), flush=True)
    if violations:
        sys.exit(1)


if __name__ == "__main__":
    main(name="cycle",
         counts=tuple(int(n) for n in os.environ.get("BENCH_WORKERS", "12,32,128").split(",")),
         submit_raw=True,
         goals=[("cycles_per_s", 12, 200), ("cycles_per_s", 128, 150),
                ("next_p99_ms", 32, 100)])
