"""The Django admin login is throttled (django-axes) and every failure is recorded."""
import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.test import Client

from accounts.models import User
from conftest import PASSWORD

LOGIN = "/admin/login/"


@pytest.fixture
def staff_user(db):
    return User.objects.create_superuser(email="root@quorum.example", password=PASSWORD)


def _login(client, password, email="root@quorum.example"):
    return client.post(LOGIN, {"username": email, "password": password,
                               "next": "/admin/"})


def test_wrong_staff_passwords_are_throttled_and_recorded(staff_user, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, "wrong-password").status_code == 200

    locked = _login(client, "wrong-password")
    assert locked.status_code == 429

    # Even the right password is refused until the cool-off ends (and counts as a failure).
    assert _login(client, PASSWORD).status_code == 429
    attempt = AccessAttempt.objects.get()
    assert (attempt.username, attempt.ip_address) == ("root@quorum.example", "127.0.0.1")
    assert attempt.failures_since_start == settings.AXES_FAILURE_LIMIT + 1
    assert AccessFailureLog.objects.filter(username="root@quorum.example").count() == (
        settings.AXES_FAILURE_LIMIT + 1)


def test_a_successful_admin_login_before_the_limit_resets_the_count(staff_user):
    client = Client()
    assert _login(client, "wrong-password").status_code == 200

    response = _login(client, PASSWORD)

    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()


def test_api_login_is_not_counted_by_the_admin_throttle(staff_user, api_client):
    for _ in range(6):
        response = api_client.post("/api/v1/auth/token", {"email": "root@quorum.example",
                                                          "password": "wrong"}, format="json")
        assert response.status_code == 400
    response = api_client.post("/api/v1/auth/token", {"email": "root@quorum.example",
                                                      "password": PASSWORD}, format="json")
    assert response.status_code == 200
    assert not AccessAttempt.objects.exists()
    assert not AccessFailureLog.objects.exists()
