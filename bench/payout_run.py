"""Benchmark: one payout run over 10,000 due workers, on PostgreSQL, through the real
stripe-python client over HTTP to the Stripe-compatible test server.

    DATABASE_URL=postgres://... .venv/bin/python bench/payout_run.py [--workers 10000]

The ledger is append-only (PostgreSQL triggers refuse DELETE), so the run happens in a
throwaway database: Django's test-database machinery creates and migrates
``bench_payout_<pid>`` on the same server and drops it at the end. The fixture gives
each worker an onboarded Connect account and an available balance, all posted as one
balanced journal (plus a few hundred workers below MIN_PAYOUT_CENTS, who must not be
paid). Only ``payouts_run()`` is timed. Prints one JSON line: seconds, payouts per
second, queries per payout, and the transfers the provider made - which must equal the
workers due.
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["CELERY_BROKER_URL"] = ""
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402

STRIPE_KEY = "sk_test_bench"
MIN_PAYOUT_CENTS = 1000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_stripe_server() -> tuple[subprocess.Popen, str]:
    port = _free_port()
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


def build_fixture(workers_due: int, workers_below_minimum: int, server_url: str) -> None:
    from accounts.enums import Role
    from accounts.models import User
    from payments import ledger
    from payments.enums import JournalKind, PayoutAccountStatus, PayoutProvider
    from payments.models import PayoutAccount
    from workers.models import WorkerProfile

    total = workers_due + workers_below_minimum
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
    # Balances: one balanced journal, 1,000-4,999 cents each for the due workers and
    # 1-999 for the rest. Varying amounts make every transfer distinct.
    amounts = [(profile.pk, MIN_PAYOUT_CENTS + (i * 37) % 4000 if i < workers_due
                else 1 + i % (MIN_PAYOUT_CENTS - 1)) for i, profile in enumerate(profiles)]
    with transaction.atomic():
        ledger.post_journal(
            key="bench:fixture", kind=JournalKind.MANUAL_CREDIT, memo="benchmark fixture",
            lines=[(ledger.EXTERNAL_FUNDING, -sum(cents for _pk, cents in amounts))]
            + [(ledger.worker_available(pk), cents) for pk, cents in amounts])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=10_000, help="workers due")
    parser.add_argument("--below-minimum", type=int, default=500)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("Run against PostgreSQL: set DATABASE_URL=postgres://...")

    process, server_url = start_stripe_server()
    settings.STRIPE_API_BASE = server_url
    settings.STRIPE_SECRET_KEY = STRIPE_KEY
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.MIN_PAYOUT_CENTS = MIN_PAYOUT_CENTS
    settings.PAYOUT_PROVIDER = "stripe"
    old_name = connection.settings_dict["NAME"]
    # Our own name: never clobber test_<name> of a test suite running meanwhile.
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"bench_payout_{os.getpid()}"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        from payments.models import Payout
        from payments.selectors import ledger_check
        from payments.services import payouts_run

        build_fixture(args.workers, args.below_minimum, server_url)
        queries = [0]

        def count(execute, sql, params, many, context):
            queries[0] += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            started = time.perf_counter()
            run = payouts_run()
            seconds = time.perf_counter() - started
        transfers = requests.get(f"{server_url}/_config/transfers", timeout=120).json()["data"]
        paid = Payout.objects.filter(status="paid").count()
        books = ledger_check()
        print(json.dumps({
            "benchmark": "payout_run", "workers_due": args.workers,
            "workers_below_minimum": args.below_minimum,
            "seconds": round(seconds, 3),
            "payouts_per_second": round(run.payouts_created / seconds, 1),
            "payouts_created": run.payouts_created, "payouts_paid": paid,
            "queries": queries[0],
            "queries_per_payout": round(queries[0] / max(run.payouts_created, 1), 2),
            "transfers_made": len(transfers),
            "distinct_idempotency_keys": len({t["idempotency_key"] for t in transfers}),
            "transfers_equal_workers_due": len(transfers) == args.workers == paid,
            "ledger_ok": books["ok"],
        }), flush=True)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        process.terminate()


if __name__ == "__main__":
    main()
