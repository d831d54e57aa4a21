"""The balanced gthread worker (gunicorn_worker.py): kept-alive connections end up shared
evenly between gunicorn's workers, and a worker that boots, stops, is full or has died
never holds the others back."""
import http.client
import logging
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest
from gunicorn.config import Config

import gunicorn_worker
from gunicorn_worker import _NOT_ACCEPTING, BalancedThreadWorker, release_slot

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def make_worker():
    """Workers built as the master builds them (before a fork); their slots are given
    back afterwards so the module's shared array is left as found."""
    made = []

    def make(booted=True):
        worker = BalancedThreadWorker(1, os.getpid(), [], None, 30, Config(),
                                      logging.getLogger("test"))
        worker.method_queue.init()
        worker.booted = booted
        worker.nr_conns = 0  # as ThreadWorker.run starts: published once booted
        made.append(worker)
        return worker

    yield make
    for worker in made:
        worker.method_queue.close()
        worker.tmp.close()
        release_slot(worker)


def published(worker) -> int:
    return gunicorn_worker._published_counts[worker.balance_slot]


def polls_listener(worker) -> bool:
    # ThreadWorker's own test on each turn of its loop.
    return worker.nr_conns < worker.worker_connections


def test_a_worker_polls_the_listener_only_while_no_accepting_worker_holds_fewer(make_worker):
    first, second = make_worker(), make_worker()
    first.nr_conns, second.nr_conns = 2, 1

    assert (published(first), published(second)) == (2, 1)
    assert not polls_listener(first) and polls_listener(second)

    second.nr_conns = 2
    assert polls_listener(first) and polls_listener(second)

    first.nr_conns = 1  # a client of the first worker went away
    assert polls_listener(first) and not polls_listener(second)


def test_a_booting_full_or_stopping_worker_does_not_hold_the_others_back(make_worker):
    busy = make_worker()
    busy.nr_conns = 5

    booting = make_worker(booted=False)
    assert published(booting) == _NOT_ACCEPTING
    assert polls_listener(busy)

    full = make_worker()
    full.worker_connections = 2
    full.nr_conns = 2
    assert published(full) == _NOT_ACCEPTING and not polls_listener(full)
    assert polls_listener(busy)

    stopping = make_worker()
    stopping.nr_conns = 1
    assert not polls_listener(busy)
    stopping.handle_exit(signal.SIGTERM, None)
    assert published(stopping) == _NOT_ACCEPTING
    stopping.nr_conns = 0  # its last connections close: it takes no new ones
    assert published(stopping) == _NOT_ACCEPTING
    assert polls_listener(busy)


def test_an_exited_workers_slot_is_cleared_and_given_to_the_next_worker(make_worker):
    survivor, killed = make_worker(), make_worker()
    survivor.nr_conns, killed.nr_conns = 3, 0  # killed with SIGKILL: nothing withdrew it
    assert not polls_listener(survivor)

    release_slot(killed)  # gunicorn's child_exit hook, in the master

    assert polls_listener(survivor)
    replacement = make_worker(booted=False)
    assert replacement.balance_slot == killed.balance_slot
    assert published(replacement) == _NOT_ACCEPTING


APP = """
import os

def application(environ, start_response):
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]
"""

CONFIG = """
worker_class = "gunicorn_worker.BalancedThreadWorker"
workers = {workers}
threads = 2
keepalive = 60


def child_exit(server, worker):
    from gunicorn_worker import release_slot

    release_slot(worker)
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("workers", [2, 3])
def test_kept_alive_connections_are_shared_evenly_by_real_gunicorn_workers(tmp_path, workers):
    (tmp_path / "pid_app.py").write_text(APP)
    (tmp_path / "gunicorn_test.conf.py").write_text(textwrap.dedent(CONFIG.format(workers=workers)))
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", str(tmp_path / "gunicorn_test.conf.py"),
         "--pythonpath", f"{tmp_path},{ROOT}", "--bind", f"127.0.0.1:{port}", "pid_app:application"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    connections = []
    try:
        deadline = time.monotonic() + 60
        booted_pids = set()
        while len(booted_pids) < workers:  # every worker has booted and taken a connection
            assert server.poll() is None, server.stderr.read().decode()
            assert time.monotonic() < deadline, "gunicorn's workers did not all answer"
            try:
                probe = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                probe.request("GET", "/")
                booted_pids.add(probe.getresponse().read().decode())
                probe.close()
            except OSError:
                time.sleep(0.2)
        time.sleep(1.0)  # the probes' connections are closed and counted out

        owners = Counter()
        for _ in range(8 * workers):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/")
            owners[connection.getresponse().read().decode()] += 1
            connections.append(connection)

        assert len(owners) == workers
        assert max(owners.values()) - min(owners.values()) <= 1, owners
        # Each kept-alive connection is still served by the worker that took it.
        connection = connections[0]
        connection.request("GET", "/")
        assert connection.getresponse().read().decode() in owners
    finally:
        for connection in connections:
            connection.close()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
