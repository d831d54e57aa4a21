"""Benchmark: a payout run over 10,000 due workers through real Celery workers, and
exactly-once under a SIGKILL of the worker processes mid-run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/quorum_perf_bench \\
    BENCH_REDIS_URL=redis://127.0.0.1:6379/13 .venv/bin/python bench/payout_run.py

Everything runs on 127.0.0.1: PostgreSQL (the database is dropped and created afresh, so
its name must contain "bench"), Redis as the broker (its db is flushed), the
Stripe-compatible test server (payments/tests/stripe_server.py) reached by the real
stripe-python client over HTTP, and a Celery worker started as production starts it
(``celery -A config worker``, BENCH_CELERY_CONCURRENCY processes).

1. ``run``: 10,000 workers with an onboarded Connect account and 10-50 $ available (plus
   500 below MIN_PAYOUT_CENTS, who must not be paid); the run job is enqueued and the
   clock stops when every due worker's payout is paid. The baseline, measured in the
   same run: the same number of bare transfers through the same stripe-python client,
   PAYOUT_TRANSFER_CONCURRENCY at a time in one process (the provider's own limit, no
   database), and the ratio. Beside the rates, CPU per payout (Celery processes,
   PostgreSQL backends, Stripe server) and the baseline's CPU per transfer: on a shared
   machine the rates follow the neighbours' load, CPU per unit of work far less.
2. ``sigkill``: every worker gets a new balance, a run starts, and once a third is paid,
   at a moment when payouts are in flight, the whole Celery worker (main process and
   pool) gets SIGKILL. A new worker starts; the broker redelivers the unacknowledged
   batches (visibility timeout 10 s here), which reconcile what the dead one left in
   flight. Then the reconcile job and a second run mop up whatever remains. Checked
   against the Stripe server's own records: exactly one transfer per worker per phase,
   every payout paid, the ledger balanced.
Exit status 1 if any check fails. Knobs: BENCH_PAYOUT_WORKERS=10000,
BENCH_PAYOUT_SIGKILL=1 (0: the timed run only, for quick iterations).
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cycle  # noqa: E402  (database, Redis and process helpers)

ROOT = cycle.ROOT
WORKERS_DUE = int(os.environ.get("BENCH_PAYOUT_WORKERS", "10000"))
BELOW_MINIMUM = 500
CONCURRENCY = int(os.environ.get("BENCH_CELERY_CONCURRENCY", "2"))
STRIPE_KEY = "sk_test_bench"
MIN_PAYOUT_CENTS = 1000
SIGKILL_PHASE = os.environ.get("BENCH_PAYOUT_SIGKILL", "1") != "0"
DEADLINE_SECONDS = 600  # per phase; the bench stops by itself after it


def start_stripe_server() -> tuple[subprocess.Popen, str]:
    import requests

    port = cycle.free_port()
    process = subprocess.Popen([sys.executable, "-m", "payments.tests.stripe_server",
                                "--port", str(port)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            requests.post(f"{url}/_config/reset", timeout=1)
            return process, url
        except requests.ConnectionError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("the Stripe test server did not start")


def build_fixture(server_url: str) -> list[int]:
    """Workers with onboarded accounts; the due ones' profile ids."""
    import requests

    from accounts.enums import Role
    from accounts.models import User
    from payments.enums import PayoutAccountStatus, PayoutProvider
    from payments.models import PayoutAccount
    from workers.models import WorkerProfile

    total = WORKERS_DUE + BELOW_MINIMUM
    users = User.objects.bulk_create(
        User(email=f"bench{i}@workers.example", username=f"bench{i}@workers.example",
             role=Role.WORKER, password="!") for i in range(total))
    profiles = WorkerProfile.objects.bulk_create(
        WorkerProfile(user=user, pseudonym=f"wk_bench{i:08d}", status="active")
        for i, user in enumerate(users))
    account_ids = requests.post(f"{server_url}/_config/accounts/bulk",
                                json={"count": total}, timeout=120).json()["ids"]
    PayoutAccount.objects.bulk_create(
        PayoutAccount(worker=profile, provider=PayoutProvider.STRIPE,
                      status=PayoutAccountStatus.ACTIVE, stripe_account_id=account_id)
        for profile, account_id in zip(profiles, account_ids))
    return [profile.pk for profile in profiles]


def fund(profile_ids: list[int], key: str) -> None:
    """One balanced journal: 10.00-49.99 $ for the due workers, 0.01-9.99 $ for the rest
    (the first time only: twice, some would reach the minimum). Varying amounts make
    every transfer distinct."""
    from django.db import transaction

    from payments import ledger
    from payments.enums import JournalKind

    amounts = [(pk, MIN_PAYOUT_CENTS + (i * 37) % 4000 if i < WORKERS_DUE
                else 1 + i % (MIN_PAYOUT_CENTS - 1)) for i, pk in enumerate(profile_ids)]
    with transaction.atomic():
        ledger.post_journal(
            key=key, kind=JournalKind.MANUAL_CREDIT, memo="benchmark fixture",
            lines=[(ledger.EXTERNAL_FUNDING, -sum(cents for _pk, cents in amounts))]
            + [(ledger.worker_available(pk), cents) for pk, cents in amounts])


def start_worker(env: dict, log_path: Path) -> subprocess.Popen:
    log = open(log_path, "ab")
    return subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "celery"), "-A", "config", "worker",
         "--loglevel=WARNING", f"--concurrency={CONCURRENCY}", "--without-gossip",
         "--without-mingle", "--hostname", f"bench-payout-{time.time_ns()}@%h"],
        cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True)


def paid_count(run_id: int) -> tuple[int, int]:
    from payments.models import Payout

    paid = Payout.objects.filter(run_id=run_id, status="paid").count()
    in_flight = Payout.objects.filter(status="in_flight").count()
    return paid, in_flight


def cpu_seconds(pids) -> float:
    """User + system CPU seconds the processes have used so far (Linux /proc). On a shared
    machine wall-clock rates swing with the neighbours' load; CPU per payout does not."""
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited: its CPU is lost to the count (the pools here live on)
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def worker_pids(worker: subprocess.Popen) -> list[int]:
    """The Celery worker's main process and its pool processes."""
    pids = [worker.pid]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == worker.pid:
                        pids.append(int(entry))
            except OSError:
                continue
    return pids


class PostgresCpu:
    """CPU seconds of the benchmark database's server processes, sampled by a thread
    every 50 ms: Celery closes a job's database connection when the job ends, and the
    process's count leaves /proc with it (at most the last 50 ms of each is missed). This
    process's own connection (its thread's, which only lists backends) is left out."""

    def __init__(self):
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        from django.db import connection

        with connection.cursor() as cursor:
            while True:
                cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = "
                               "current_database() AND pid <> pg_backend_pid()")
                for (pid,) in cursor.fetchall():
                    seconds = cpu_seconds([pid])
                    self.first.setdefault(pid, seconds if not self.thread_started else 0.0)
                    self.last[pid] = seconds
                self.thread_started = True
                if self.stopping.wait(0.05):
                    break
        connection.close()

    def __enter__(self) -> "PostgresCpu":
        self.thread_started = False
        self.thread.start()
        while not self.thread_started:
            time.sleep(0.01)
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self.thread.join()

    @property
    def seconds(self) -> float:
        return sum(self.last.values()) - sum(self.first.values())


def wait_until_ready(seconds: float = 60) -> None:
    """Until a Celery worker answers a ping through the broker: the clock starts on a
    worker that is up, not on one still importing."""
    from config.celery import app

    if not wait_for(lambda: bool(app.control.ping(timeout=0.5)), seconds):
        raise SystemExit("the Celery worker did not answer within 60 s")


def cpu_ms_per(before: dict, after: dict, count: int) -> dict:
    return {name: round((after[name] - before[name]) * 1000 / max(count, 1), 3)
            for name in before}


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def baseline_transfers(server_url: str, destinations: list[str]) -> float:
    """Bare transfers through stripe-python, PAYOUT_TRANSFER_CONCURRENCY at a time."""
    from payments.providers import stripe_client

    client = stripe_client()  # the client our payouts use, same settings
    pending = list(destinations)
    guard = threading.Lock()

    def worker():
        while True:
            with guard:
                if not pending:
                    return
                destination = pending.pop()
            client.v1.transfers.create(params={
                "amount": 1000, "currency": "usd", "destination": destination,
                "transfer_group": f"baseline_{destination}"},
                options={"idempotency_key": f"baseline:{destination}"})

    from django.conf import settings

    threads = [threading.Thread(target=worker)
               for _ in range(settings.PAYOUT_TRANSFER_CONCURRENCY)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began


def transfers_by_group(server_url: str) -> dict[str, int]:
    import requests

    transfers = requests.get(f"{server_url}/_config/transfers", timeout=120).json()["data"]
    counts: dict[str, int] = {}
    for transfer in transfers:
        group = transfer.get("transfer_group") or ""
        if group.startswith("payout_"):
            counts[group] = counts.get(group, 0) + 1
    return counts


def main() -> None:
    cycle.stop_on_sigterm()
    started = time.perf_counter()
    stripe_process, server_url = start_stripe_server()
    env = dict(cycle.server_env(), STRIPE_API_BASE=server_url, STRIPE_SECRET_KEY=STRIPE_KEY,
               STRIPE_MAX_NETWORK_RETRIES="0", MIN_PAYOUT_CENTS=str(MIN_PAYOUT_CENTS),
               PAYOUT_PROVIDER="stripe", CELERY_VISIBILITY_TIMEOUT_SECONDS="10",
               PAYOUT_RECONCILE_AFTER_SECONDS="0")
    for name in ("STRIPE_API_BASE", "STRIPE_SECRET_KEY", "STRIPE_MAX_NETWORK_RETRIES",
                 "MIN_PAYOUT_CENTS", "PAYOUT_PROVIDER", "CELERY_VISIBILITY_TIMEOUT_SECONDS",
                 "PAYOUT_RECONCILE_AFTER_SECONDS", "DJANGO_SECRET_KEY"):
        os.environ[name] = env[name]
    # This process enqueues the runs: through the broker, as the admin API does.
    os.environ["CELERY_BROKER_URL"] = cycle.REDIS_URL
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"
    try:
        cycle.setup_django()
    except BaseException:
        stripe_process.terminate()  # started first: settings read its address
        raise
    log_dir = Path(tempfile.mkdtemp(prefix="quorum-bench-payout-"))
    checks_failed = []
    worker = None
    try:
        from payments.models import Payout, PayoutAccount
        from payments.selectors import ledger_check
        from flows.payouts import start_run
        from payments.services import payouts_reconcile, payouts_run
        from payments.tasks import pay_payout_batch
        from django.conf import settings

        profile_ids = build_fixture(server_url)
        due_ids = profile_ids[:WORKERS_DUE]

        # --- 1. the timed run ---------------------------------------------------------
        fund(profile_ids, "bench:fixture:1")
        worker = start_worker(env, log_dir / "celery-1.log")
        wait_until_ready()
        celery_pids = worker_pids(worker)

        def run_cpu() -> dict:
            return {"celery": cpu_seconds(celery_pids),
                    "stripe_server": cpu_seconds([stripe_process.pid])}

        with PostgresCpu() as postgres_cpu:
            cpu_before = run_cpu()
            began = time.perf_counter()
            run = start_run(actor=None)
            done = wait_for(lambda: paid_count(run.pk)[0] >= WORKERS_DUE, DEADLINE_SECONDS)
            seconds = time.perf_counter() - began
            cpu_after = run_cpu()
        cpu_before["postgres"], cpu_after["postgres"] = 0.0, postgres_cpu.seconds
        load_run = os.getloadavg()[0]
        paid, in_flight = paid_count(run.pk)
        destinations = list(PayoutAccount.objects.filter(worker_id__in=due_ids[:WORKERS_DUE])
                            .values_list("stripe_account_id", flat=True))
        baseline_before = {"client": cpu_seconds([os.getpid()]),
                           "stripe_server": cpu_seconds([stripe_process.pid])}
        baseline = baseline_transfers(server_url, destinations)
        baseline_after = {"client": cpu_seconds([os.getpid()]),
                          "stripe_server": cpu_seconds([stripe_process.pid])}
        groups = transfers_by_group(server_url)
        run_line = {
            "bench": "payout_run", "phase": "run", "workers_due": WORKERS_DUE,
            "workers_below_minimum": BELOW_MINIMUM, "celery_processes": CONCURRENCY,
            "seconds": round(seconds, 2), "finished": done,
            "payouts_per_s": round(paid / seconds, 1), "payouts_paid": paid,
            "in_flight_left": in_flight, "transfers": sum(groups.values()),
            "payouts_with_two_transfers": sum(1 for n in groups.values() if n > 1),
            "baseline": "bare stripe-python transfers, same concurrency, no database",
            "baseline_seconds": round(baseline, 2),
            "baseline_transfers_per_s": round(WORKERS_DUE / baseline, 1),
            # Throughput ratio: meaningful even when the deadline cut the run short.
            "ratio": round((paid / seconds) / (WORKERS_DUE / baseline), 3),
            # CPU per payout, from /proc: what the run costs whatever the neighbours do.
            # The Celery figure includes the stripe-python calls the baseline's client
            # line counts alone.
            "cpu_ms_per_payout": cpu_ms_per(cpu_before, cpu_after, paid),
            "baseline_cpu_ms_per_transfer": cpu_ms_per(baseline_before, baseline_after,
                                                        WORKERS_DUE),
            "load_average_1m": [round(load_run, 2), round(os.getloadavg()[0], 2)],
            "payout_batch_size": settings.PAYOUT_BATCH_SIZE,
            "payout_transfer_concurrency": settings.PAYOUT_TRANSFER_CONCURRENCY,
            "goal_seconds": 30,
            "met": done and seconds < 30,
        }
        print(json.dumps(run_line), flush=True)
        if not (done and sum(groups.values()) == WORKERS_DUE == paid):
            checks_failed.append("run")

        if SIGKILL_PHASE:
            # --- 2. SIGKILL mid-run -------------------------------------------------------
            fund(profile_ids[:WORKERS_DUE], "bench:fixture:2")
            run = start_run(actor=None)
            # Killed with money in flight: the two pool processes tend to finish their
            # batches together, and a kill between batches would test nothing.
            wait_for(lambda: (lambda paid, in_flight: paid >= WORKERS_DUE // 3 and in_flight)(
                *paid_count(run.pk)), DEADLINE_SECONDS)
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
            paid_at_kill, in_flight_at_kill = paid_count(run.pk)
            worker = start_worker(env, log_dir / "celery-2.log")
            redelivered = wait_for(lambda: paid_count(run.pk)[0] >= WORKERS_DUE,
                                   DEADLINE_SECONDS)
            paid_by_redelivery = paid_count(run.pk)[0]
            mopped_up = 0
            if not redelivered:
                # What the broker did not redeliver in time: the reconcile job settles or
                # retries payouts left in flight, and a new run pays workers never reached.
                payouts_reconcile(older_than_seconds=0)
                payouts_run(send_batch=pay_payout_batch.delay)  # batches go to the broker: wait
                wait_for(lambda: Payout.objects.filter(status="paid").count() >= 2 * WORKERS_DUE
                         and not Payout.objects.filter(status="in_flight").exists(),
                         DEADLINE_SECONDS)
                mopped_up = 1
            groups = transfers_by_group(server_url)
            paid_per_worker = {}
            for worker_id in Payout.objects.filter(status="paid").values_list("worker_id",
                                                                               flat=True):
                paid_per_worker[worker_id] = paid_per_worker.get(worker_id, 0) + 1
            books = ledger_check()
            kill_line = {
                "bench": "payout_run", "phase": "sigkill", "workers_due": WORKERS_DUE,
                "paid_at_kill": paid_at_kill, "in_flight_at_kill": in_flight_at_kill,
                "paid_after_redelivery": paid_by_redelivery,
                "needed_reconcile_and_new_run": bool(mopped_up),
                "transfers_total": sum(groups.values()),
                "payouts_with_two_transfers": sum(1 for n in groups.values() if n > 1),
                "workers_not_paid_once_per_run": sum(1 for n in paid_per_worker.values() if n != 2),
                "in_flight_left": Payout.objects.filter(status="in_flight").count(),
                "ledger_ok": books["ok"],
            }
            exactly_once = (kill_line["transfers_total"] == 2 * WORKERS_DUE
                            and kill_line["payouts_with_two_transfers"] == 0
                            and kill_line["workers_not_paid_once_per_run"] == 0
                            and len(paid_per_worker) == WORKERS_DUE
                            and kill_line["in_flight_left"] == 0 and books["ok"])
            kill_line["exactly_once"] = exactly_once
            print(json.dumps(kill_line), flush=True)
            if not exactly_once:
                checks_failed.append("sigkill")
    finally:
        if worker is not None:
            cycle.stop(worker)
        stripe_process.terminate()
        cycle.flush_redis()
    print(json.dumps({"bench": "payout_run", "summary": True, "failed": checks_failed,
                      "total_seconds": round(time.perf_counter() - started, 1),
                      "logs": str(log_dir)}), flush=True)
    if checks_failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
