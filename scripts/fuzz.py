"""`make fuzz`: Schemathesis against the live OpenAPI schema of a real server.

Runs gunicorn on a throwaway PostgreSQL database (FUZZ_DATABASE_URL, created if missing,
dropped, migrated and seeded with `seed_demo` on every run), then Schemathesis once per persona with
that persona's seeded token: the requester on the requester and account operations, a
worker on /worker/, the admin on /admin/. It fails on any 5xx and on any response whose
status, content type or body the schema does not describe. Bounded: FUZZ_MAX_EXAMPLES cases
per operation (default 15) with a fixed FUZZ_SEED, so CI is reproducible and takes about
two to three minutes on two cores.

Left out on purpose: DELETE /auth/token and DELETE /worker/account would revoke the very
token (or erase the worker) the rest of the run uses; their tests are in accounts/ and
workers/.
"""
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

PERSONAS = [
    # (name, email, operations: --include-path-regex, --exclude-path-regex)
    ("requester", "requester@acme.example", None, r"^/api/v1/(worker|admin)/"),
    ("worker", "ana@workers.example", r"^/api/v1/worker/", None),
    ("admin", "admin@quorum.example", r"^/api/v1/admin/", None),
]
NEVER = ["v1_auth_token_destroy", "v1_worker_account_destroy"]


def _recreate_database(url: str) -> None:
    """A fresh database each run (what the previous run's requests wrote is gone; the
    skill taxonomy comes back with the migrations)."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:  # refused, reset, timed out: not up yet
            if time.monotonic() > deadline:
                raise SystemExit(f"fuzz: the server did not answer {url}")
            time.sleep(0.5)


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL: a worker stuck in a request must not hang the run."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=30)


def _tokens(env: dict) -> dict[str, str]:
    """The seeded accounts' demo tokens (what `seed_demo` prints), read in-process."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from accounts.demo import demo_token_for
    from accounts.models import User

    return {email: demo_token_for(User.objects.get(email=email))
            for _name, email, _include, _exclude in PERSONAS}


def main() -> int:
    database_url = os.environ["FUZZ_DATABASE_URL"]
    max_examples = os.environ.get("FUZZ_MAX_EXAMPLES", "15")
    seed = os.environ.get("FUZZ_SEED", "20261130")
    env = {**os.environ, "DATABASE_URL": database_url, "CELERY_BROKER_URL": "",
           "DJANGO_DEBUG": "false", "PAYOUT_PROVIDER": "manual",
           "DJANGO_SETTINGS_MODULE": "config.settings"}
    _recreate_database(database_url)
    for command in (["migrate", "--noinput"], ["seed_demo"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)
    tokens = _tokens(env)

    # The Stripe stand-in of the payment tests, so top-ups and payout accounts reach a
    # provider instead of answering 503.
    stripe_port = _free_port()
    stripe = subprocess.Popen([sys.executable, "-m", "payments.tests.stripe_server",
                               "--port", str(stripe_port)], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env.update({"STRIPE_API_BASE": f"http://127.0.0.1:{stripe_port}",
                "STRIPE_SECRET_KEY": "sk_test_fuzz", "STRIPE_WEBHOOK_SECRET": "whsec_fuzz",
                "STRIPE_MAX_NETWORK_RETRIES": "0", "STRIPE_TIMEOUT_SECONDS": "10"})
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--timeout", "60", "--log-level", "warning"],
        cwd=ROOT, env=env)
    failed = []
    try:
        _wait_for(f"{base}/healthz", 60)
        schemathesis = shutil.which("schemathesis", path=str(BIN)) or "schemathesis"
        for name, email, include, exclude in PERSONAS:
            command = [
                schemathesis, "run", f"{base}/api/schema/?format=json", "--url", base,
                "--header", f"Authorization: Bearer {tokens[email]}",
                "--checks", "not_a_server_error,status_code_conformance,"
                            "content_type_conformance,response_schema_conformance",
                "--max-examples", max_examples, "--seed", seed, "--workers", "2",
                # The coverage phase (every boundary of every field) alone took minutes
                # here; the hostile-input tests (config/tests) cover those boundaries.
                "--phases", "examples,fuzzing", "--generation-database", "none",
                "--request-timeout", "30", "--no-color", "--output-truncate", "true",
                "--suppress-health-check", "all",
            ]
            if include:
                command += ["--include-path-regex", include]
            if exclude:
                command += ["--exclude-path-regex", exclude]
            for operation_id in NEVER:
                command += ["--exclude-operation-id", operation_id]
            print(f"fuzz: {name} ({email})", flush=True)
            started = time.monotonic()
            result = subprocess.run(command, cwd=ROOT, env=env)
            print(f"fuzz: {name} done in {time.monotonic() - started:.0f} s, "
                  f"exit {result.returncode}", flush=True)
            if result.returncode:
                failed.append(name)
    finally:
        for process in (server, stripe):
            _stop(process)
    if failed:
        print(f"fuzz: failures for {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
