"""gunicorn.conf.py keeps the cyclic collector off a worker's long-lived objects: the
loaded application is frozen at worker start, and again after the worker's first
requests. Run in a child process: freezing the test process would keep its garbage."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc, json, runpy, sys
import django
django.setup()
hooks = runpy.run_path("gunicorn.conf.py")
frozen = [gc.get_freeze_count()]
views_loaded_before = "marketplace.api.views" in sys.modules
hooks["post_worker_init"](None)
frozen.append(gc.get_freeze_count())
views_loaded_after = "marketplace.api.views" in sys.modules
for served in range(1, 6):
    kept = [object() for _ in range(3)], {}  # tracked objects made by "a request"
    hooks["post_request"](None, None, None, None)
    frozen.append(gc.get_freeze_count())
print(json.dumps({"frozen": frozen, "views_loaded": [views_loaded_before, views_loaded_after]}))
"""


def _probe(**env) -> dict:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env}
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=environment,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_worker_start_loads_every_view_then_freezes_and_freezes_again_after_warm_up():
    probe = _probe(GUNICORN_GC_FREEZE_AFTER="3")

    assert probe["views_loaded"] == [False, True]
    start, after_init, *after_requests = probe["frozen"]
    assert start == 0 and after_init > 0
    # Requests 1 and 2 freeze nothing; the third freezes what they left; then no more
    # (frozen objects freed by reference counting leave the count).
    assert after_requests[0] <= after_init and after_requests[1] <= after_init
    assert after_requests[2] > after_init
    assert after_requests[4] <= after_requests[3] <= after_requests[2]


def test_a_zero_threshold_freezes_at_worker_start_only():
    probe = _probe(GUNICORN_GC_FREEZE_AFTER="0")

    start, after_init, *after_requests = probe["frozen"]
    assert after_init > start
    assert max(after_requests) <= after_init
