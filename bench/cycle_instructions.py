"""Benchmark: the CPU one next -> submit cycle costs our Python, counted in instructions,
beside the raw-SQL cycle counted the same way in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/quorum_instructions_bench \\
    BENCH_REDIS_URL=redis://127.0.0.1:6379/12 .venv/bin/python bench/cycle_instructions.py

bench/cycle.py measures the system as production runs it, and its figures move with the
machine: on the 2-core development machine the same code and the raw-SQL baseline both
swung by 2x between runs on 2026-11-30's evening. Instruction counts do not: callgrind
counted the same cycle within 0.5 % run after run, whatever else the machine did. This
bench is for telling whether a change to the request path made it cheaper.

What runs: one worker's next -> submit cycles in this process, through
``config.wsgi.application`` with every middleware, on a one-item-per-task, overlap-3
project, aggregation queued to Redis (as production queues it) and not run; then the
raw-SQL cycle of bench/cycle.py (one-statement claim, one-statement submit) through psycopg
on an identical project. Each is run in a child process under ``valgrind --tool=callgrind``
with counting switched on only around its measured cycles (after BENCH_WARM_CYCLES), and
once more without valgrind for CPU milliseconds per cycle. Only this process's
instructions are counted: PostgreSQL's and Redis's work is not (bench/cycle.py reports
PostgreSQL's CPU). Without valgrind on the machine the instruction figures are null.

Knobs: BENCH_CYCLES=50, BENCH_WARM_CYCLES=20. The database is dropped and created
afresh, so its name must contain "bench".
"""
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CYCLES = int(os.environ.get("BENCH_CYCLES", "50"))
WARM_CYCLES = int(os.environ.get("BENCH_WARM_CYCLES", "20"))
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
STATE_FILE = "cycle_instructions_state.json"


def _environment() -> dict:
    # As bench/cycle.py's servers run: no debug, throttles counted but not refusing,
    # aggregation queued to a broker.
    return {"DJANGO_SETTINGS_MODULE": "config.settings", "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": "bench-" + "x" * 50, "REDIS_URL": REDIS_URL,
            "CELERY_BROKER_URL": REDIS_URL, "CELERY_TASK_ALWAYS_EAGER": "false",
            "THROTTLE_WORKER_NEXT_RATE": "1000000/s",
            "THROTTLE_WORKER_SUBMIT_RATE": "1000000/s", "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "BENCH_REDIS_URL": REDIS_URL}


def prepare(state_dir: Path) -> None:
    """A fresh database: the project the HTTP cycles work on, and its workers."""
    import cycle  # bench/cycle.py: the same data builders and raw statements

    cycle.setup_django()
    requester = cycle.make_requester("instructions")
    workers = cycle.make_workers("instructions", 4)
    project = cycle.make_project(requester, "instructions-http",
                                 tasks=2 * (CYCLES + WARM_CYCLES))
    _save_state(state_dir, {"tokens": [token for _, token in workers],
                            "worker_ids": [profile.pk for profile, _ in workers],
                            "requester_id": requester.pk, "http_project": project.pk})


def prepare_raw(state_dir: Path) -> None:
    """The raw cycles' own project, made once the HTTP runs are done and their project
    cancelled, so that the HTTP cycles had one routable project, as in bench/cycle.py."""
    import cycle
    from accounts.models import User
    from marketplace.models import Project

    state = _load_state(state_dir)
    requester = User.objects.get(pk=state["requester_id"])
    cycle.project_cancel(requester, Project.objects.get(pk=state["http_project"]))
    project = cycle.make_project(requester, "instructions-raw",
                                 tasks=2 * (CYCLES + WARM_CYCLES))
    _save_state(state_dir, {**state, "raw_project": project.pk})


def _save_state(state_dir: Path, state: dict) -> None:
    (state_dir / STATE_FILE).write_text(json.dumps(state))


def _load_state(state_dir: Path) -> dict:
    return json.loads((state_dir / STATE_FILE).read_text())


def _toggle_counting(on: bool) -> None:
    if os.environ.get("BENCH_UNDER_CALLGRIND"):
        subprocess.run(["callgrind_control", "-i", "on" if on else "off", str(os.getpid())],
                       check=True, capture_output=True)


def _measured(cycle_once) -> dict:
    for _ in range(WARM_CYCLES):
        cycle_once()
    _toggle_counting(True)
    cpu_started = time.process_time()
    for _ in range(CYCLES):
        cycle_once()
    cpu_seconds = time.process_time() - cpu_started
    _toggle_counting(False)
    return {"cpu_ms_per_cycle": round(cpu_seconds * 1000 / CYCLES, 3)}


def run_wsgi(state: dict, run: int) -> dict:
    import django

    django.setup()
    from config.wsgi import application

    token = state["tokens"][run]

    def post(path: str, body: bytes) -> bytes:
        environ = {
            "REQUEST_METHOD": "POST", "PATH_INFO": path, "QUERY_STRING": "",
            "SCRIPT_NAME": "", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "127.0.0.1",
            "REMOTE_ADDR": "127.0.0.1", "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)), "HTTP_AUTHORIZATION": f"Bearer {token}",
            "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http", "wsgi.version": (1, 0), "wsgi.multithread": True,
            "wsgi.multiprocess": True, "wsgi.run_once": False}
        statuses = []
        chunks = application(environ, lambda status, headers, exc_info=None:
                             statuses.append(status))
        content = b"".join(chunks)
        chunks.close()
        if not statuses[0].startswith("200"):
            raise SystemExit(f"{path} answered {statuses[0]}: {content[:300]!r}")
        return content

    def cycle_once():
        served = json.loads(post("/api/v1/worker/tasks/next", b"{}"))
        answers = [{"item_id": item["id"], "value": "positive"} for item in served["items"]]
        post(f"/api/v1/worker/assignments/{served['assignment_id']}/submit",
             json.dumps({"answers": answers}).encode())

    return _measured(cycle_once)


def run_raw(state: dict, run: int) -> dict:
    import psycopg

    from cycle import DATABASE_URL, RAW_CLAIM, RAW_SUBMIT

    worker_id = state["worker_ids"][run]
    with psycopg.connect(DATABASE_URL, autocommit=True) as connection:
        def cycle_once():
            rows = connection.execute(RAW_CLAIM, {"project": state["raw_project"],
                                                  "worker": worker_id}).fetchall()
            if not rows:
                raise SystemExit("the raw project ran out of free tasks")
            connection.execute(RAW_SUBMIT, {"assignment": rows[0][0]})

        return _measured(cycle_once)


def _child(kind: str, run: int, state_dir: Path, callgrind: bool) -> dict:
    """One measurement in a fresh process (each run takes tasks as a worker of its own)."""
    command = [sys.executable, __file__, kind, str(run), str(state_dir)]
    env = {**os.environ, **_environment()}
    out_file = state_dir / f"callgrind.{kind}.{run}"
    if callgrind:
        command = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                   f"--callgrind-out-file={out_file}"] + command
        env["BENCH_UNDER_CALLGRIND"] = "1"
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=900)
    if result.returncode != 0:
        raise SystemExit(f"{kind} run failed:\n{result.stderr[-3000:]}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    if callgrind:
        totals = [line for line in out_file.read_text().splitlines()
                  if line.startswith("totals:")]
        figures = {"instructions_per_cycle": int(totals[0].split()[1]) // CYCLES}
    return figures


def main() -> None:
    os.environ.update(_environment())
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    callgrind = all(shutil.which(tool) for tool in ("valgrind", "callgrind_control"))
    with tempfile.TemporaryDirectory(prefix="quorum-bench-instructions-") as directory:
        state_dir = Path(directory)
        prepare(state_dir)
        figures = {}
        for kind in ("wsgi", "raw_sql"):
            if kind == "raw_sql":
                prepare_raw(state_dir)
            measured = _child(kind, 0, state_dir, callgrind=False)
            if callgrind:
                measured.update(_child(kind, 1, state_dir, callgrind=True))
            figures[kind] = measured
    instructions = [figures[kind].get("instructions_per_cycle") for kind in ("wsgi", "raw_sql")]
    print(json.dumps({
        "bench": "cycle_instructions", "cycles": CYCLES, "warm_cycles": WARM_CYCLES,
        "wsgi": figures["wsgi"], "raw_sql": figures["raw_sql"],
        "ratio_instructions_wsgi_vs_raw": round(instructions[0] / instructions[1], 1)
        if all(instructions) else None,
        "baseline": "one-statement claim + one-statement submit through psycopg, same "
                    "tables, counted in the same run (client side only)"}))


if __name__ == "__main__":
    if len(sys.argv) == 4:
        sys.path.insert(0, str(ROOT))
        sys.path.insert(0, str(ROOT / "bench"))
        state = _load_state(Path(sys.argv[3]))
        runner = {"wsgi": run_wsgi, "raw_sql": run_raw}[sys.argv[1]]
        print(json.dumps(runner(state, int(sys.argv[2]))))
    else:
        main()
