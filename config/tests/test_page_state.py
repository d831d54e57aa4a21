"""Sessions, the session's user and messages run for the pages and step aside for the API
(config/page_state.py)."""
import pytest
from django.test import Client

from conftest import client_for, make_worker


@pytest.mark.django_db
def test_an_api_request_gets_no_session_user_or_messages():
    response = client_for(make_worker("dana@workers.example")).get("/api/v1/worker/profile")

    assert response.status_code == 200
    request = response.wsgi_request
    # Django's own middlewares set all three on every request.
    assert not hasattr(request, "session")
    assert not hasattr(request, "_messages")
    assert not response.cookies
    # DRF still puts the token's user on the Django request (the request log reads it).
    assert request.user.email == "dana@workers.example"


@pytest.mark.django_db
def test_a_page_keeps_its_session_user_and_messages():
    response = Client().get("/admin/login/")

    assert response.status_code == 200
    request = response.wsgi_request
    assert hasattr(request, "session") and hasattr(request, "_messages")
    assert request.user.is_anonymous
