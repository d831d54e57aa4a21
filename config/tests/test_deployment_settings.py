"""A deployment (DEBUG off, a Celery broker configured) refuses to start on a public or
short secret key; the zero-setup mode (no broker) keeps its local key."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STRONG_KEY = "k" * 20 + "-private-and-long-enough-0123456789"


def _check(**env) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith(("DJANGO_", "CELERY_"))}
    environment.update(env)
    return subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("key", [None, "change-me-in-production",
                                 "insecure-local-development-key-change-me", "short-key"])
def test_a_deployment_refuses_a_public_or_short_secret_key(key):
    env = {"CELERY_BROKER_URL": "redis://127.0.0.1:6379/1", "DJANGO_DEBUG": "false"}
    if key is not None:
        env["DJANGO_SECRET_KEY"] = key

    result = _check(**env)

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set to a private value of at least 32 characters" in (
        result.stderr)


def test_a_deployment_with_a_private_key_starts():
    result = _check(CELERY_BROKER_URL="redis://127.0.0.1:6379/1", DJANGO_DEBUG="false",
                    DJANGO_SECRET_KEY=STRONG_KEY)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_zero_setup_mode_keeps_its_local_key():
    result = _check()

    assert result.returncode == 0, result.stderr
