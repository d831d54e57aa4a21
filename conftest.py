"""Shared fixtures: personas (requester, another organization's requester, worker, staff)
and API clients authenticated as each of them."""
import os

import pytest
from django.core.cache import cache, caches
from django.db import connection
from rest_framework.test import APIClient

from accounts.enums import Role
from accounts.models import User
from accounts.services import token_issue
from marketplace.models import Organization
from marketplace.services import organization_create
from workers.services import worker_profile_create

PASSWORD = "correct-horse-battery-staple"
# Behaviour only PostgreSQL has: row locks under real concurrency (threads racing on
# FOR UPDATE SKIP LOCKED, deadlock-freedom) and the lock-order recorder, which reads the
# locking statements. The SQLite of `make run` takes one writer at a time.
requires_postgresql = pytest.mark.skipif(connection.vendor != "postgresql",
                                         reason="needs PostgreSQL (concurrent row locks)")


def pytest_configure(config):
    from django.conf import settings

    # Hashing strength is not under test; PBKDF2's million rounds would dominate the run.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Under pytest-xdist each worker gets a Redis database of its own (db N, N-1, ...):
    # every test clears the cache, which must not wipe another worker's throttle counters.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    location = settings.CACHES["default"].get("LOCATION", "")
    if worker.startswith("gw") and str(location).startswith("redis://"):
        base, _, db = location.rpartition("/")
        settings.CACHES["default"]["LOCATION"] = f"{base}/{int(db or 0) - int(worker[2:])}"


@pytest.fixture(autouse=True)
def _clear_cache():
    # Throttle counters live in the cache (Redis under `make test`): start every test clean,
    # and with nothing memoised in this process's own cache either.
    for each in (cache, caches["process"]):
        each.clear()
    yield
    for each in (cache, caches["process"]):
        each.clear()


@pytest.fixture(autouse=True)
def _taxonomy_after_flush(request):
    """Transactional tests flush the database after themselves, and the skill taxonomy
    comes from a data migration. serialized_rollback should restore it, yet in full
    runs (xdist, live server) it has come back empty; the migration's own function puts
    back what is missing before any transactional test starts."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None or not marker.kwargs.get("transaction"):
        return
    request.getfixturevalue("_django_db_helper")  # the database is set up first
    import importlib

    from django.apps import apps

    from workers.models import Domain

    if not Domain.objects.exists():
        importlib.import_module("workers.migrations.0002_seed_taxonomy").seed(apps, None)


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


def make_requester(email: str, organization_name: str) -> User:
    user = User.objects.create_user(email=email, password=PASSWORD, role=Role.REQUESTER)
    organization_create(name=organization_name, owner=user)
    return user


TEST_FUNDS_CENTS = 10_000_000


def fund_organization(organization: Organization | User, cents: int = TEST_FUNDS_CENTS) -> None:
    """Credit an organization (or a requester's organization) so its projects can launch:
    launch reserves the estimated cost in escrow and answers 402 without funds."""
    from payments.services import organization_credit

    if isinstance(organization, User):
        organization = organization.membership.organization
    organization_credit(organization=organization, actor=None, amount_cents=cents,
                        reason="Test funds")


def make_worker(email: str) -> User:
    user = User.objects.create_user(email=email, password=PASSWORD, role=Role.WORKER)
    worker_profile_create(user=user)
    return user


def client_for(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_issue(user=user).token}")
    return client


@pytest.fixture
def requester(db) -> User:
    return make_requester("alice@acme.example", "Acme AI")


@pytest.fixture
def other_requester(db) -> User:
    return make_requester("bob@globex.example", "Globex")


@pytest.fixture
def worker(db) -> User:
    return make_worker("charlie@workers.example")


@pytest.fixture
def staff(db) -> User:
    return User.objects.create_superuser(email="root@quorum.example", password=PASSWORD)


@pytest.fixture
def requester_client(requester) -> APIClient:
    return client_for(requester)


@pytest.fixture
def other_requester_client(other_requester) -> APIClient:
    return client_for(other_requester)


@pytest.fixture
def worker_client(worker) -> APIClient:
    return client_for(worker)


@pytest.fixture
def staff_client(staff) -> APIClient:
    return client_for(staff)


def project_payload(**overrides) -> dict:
    """A valid single_choice project body; override any field."""
    payload = {
        "name": "Sentiment",
        "instructions": "Pick the sentiment.",
        "task_type": "single_choice",
        "label_config": {"choices": ["positive", "negative", "neutral"]},
        "required_skills": [{"skill": "sentiment-en", "min_level": 50}],
        "domain": "languages",
        "sensitivity": "public",
        "pay_model": "per_task",
        "reward_cents": 10,
        "items_per_task": 2,
        "gold_per_task": 0,
        "overlap": 3,
    }
    payload.update(overrides)
    return payload


@pytest.fixture
def project(requester_client) -> dict:
    """A draft project of the requester's organization, as the API returned it."""
    response = requester_client.post("/api/v1/projects", project_payload(), format="json")
    assert response.status_code == 201, response.json()
    return response.json()
