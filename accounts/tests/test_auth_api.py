"""Accounts API: registration, tokens (issue, revoke, expiry, hashing), /me, /skills and
the throttle on the auth endpoints."""
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone
from knox.crypto import hash_token
from knox.models import AuthToken
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from accounts.demo import demo_token_for
from accounts.models import User
from conftest import PASSWORD, client_for
from marketplace.models import Membership, Organization
from workers.models import Skill, WorkerProfile

REGISTER = "/api/v1/auth/register"
TOKEN = "/api/v1/auth/token"
ME = "/api/v1/me"
SKILLS = "/api/v1/skills"
NEW_PASSWORD = "a-long-enough-password"
TOKEN_TTL = timedelta(hours=720)


def _written_counts() -> dict:
    return {"users": User.objects.count(), "organizations": Organization.objects.count(),
            "memberships": Membership.objects.count(),
            "worker_profiles": WorkerProfile.objects.count(),
            "tokens": AuthToken.objects.count()}


def _error(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


# --- registration ----------------------------------------------------------------------


def test_register_requester_creates_organization_owned_by_the_new_user(api_client, db):
    before = timezone.now()

    response = api_client.post(REGISTER, {"email": "dana@example.com", "password": NEW_PASSWORD,
                                          "role": "requester", "organization_name": "Dana Labs"})

    assert response.status_code == 201
    user = User.objects.get(email="dana@example.com")
    token = AuthToken.objects.get(user=user)
    body = response.json()
    assert body == {"user": {"id": user.pk, "email": "dana@example.com", "role": "requester"},
                    "token": body["token"], "expires_at": body["expires_at"]}
    assert token.digest == hash_token(body["token"])
    assert datetime.fromisoformat(body["expires_at"]) == token.expiry
    assert before + TOKEN_TTL <= token.expiry <= timezone.now() + TOKEN_TTL
    assert user.role == "requester"
    assert user.username == "dana@example.com"
    assert user.is_staff is False
    assert user.check_password(NEW_PASSWORD)
    membership = Membership.objects.select_related("organization").get(user=user)
    assert membership.role == "owner"
    assert membership.organization.name == "Dana Labs"
    assert Organization.objects.count() == 1
    assert WorkerProfile.objects.filter(user=user).exists() is False
    me = _bearer(body["token"]).get(ME)
    assert me.status_code == 200
    assert me.json()["organization"] == {"id": membership.organization_id, "name": "Dana Labs"}


def test_register_requester_without_organization_name_gets_a_default_name(api_client, db):
    response = api_client.post(REGISTER, {"email": "dana@example.com", "password": NEW_PASSWORD,
                                          "role": "requester", "organization_name": "  "})

    assert response.status_code == 201
    membership = Membership.objects.select_related("organization").get(
        user__email="dana@example.com")
    assert membership.organization.name == "dana's organization"
    assert membership.role == "owner"


def test_register_worker_creates_applicant_profile_and_no_organization(api_client, db):
    response = api_client.post(REGISTER, {"email": "erin@workers.example",
                                          "password": NEW_PASSWORD, "role": "worker",
                                          "organization_name": "Ignored Inc"})

    assert response.status_code == 201
    user = User.objects.get(email="erin@workers.example")
    body = response.json()
    assert body["user"] == {"id": user.pk, "email": "erin@workers.example", "role": "worker"}
    profile = WorkerProfile.objects.get(user=user)
    assert profile.status == "applicant"
    assert Organization.objects.count() == 0
    assert Membership.objects.count() == 0
    me = _bearer(body["token"]).get(ME)
    assert me.status_code == 200
    assert me.json() == {"id": user.pk, "email": "erin@workers.example", "role": "worker",
                         "is_staff": False, "organization": None, "organization_role": None,
                         "worker_id": profile.pk}


def test_register_ignores_attempts_to_become_staff(api_client, db):
    response = api_client.post(REGISTER, {"email": "mallory@example.com",
                                          "password": NEW_PASSWORD, "role": "worker",
                                          "is_staff": True, "is_superuser": True})

    assert response.status_code == 201
    user = User.objects.get(email="mallory@example.com")
    assert (user.is_staff, user.is_superuser, user.role) == (False, False, "worker")


@pytest.mark.parametrize(("payload", "message", "fields"), [
    pytest.param({"email": "dana@example.com", "password": NEW_PASSWORD, "role": "boss"},
                 'Invalid input: role: "boss" is not a valid choice.',
                 {"role": ['"boss" is not a valid choice.']}, id="unknown-role"),
    pytest.param({"email": "dana@example.com", "password": NEW_PASSWORD, "role": "admin"},
                 'Invalid input: role: "admin" is not a valid choice.',
                 {"role": ['"admin" is not a valid choice.']}, id="admin-role"),
    pytest.param({"email": "not-an-email", "password": NEW_PASSWORD, "role": "worker"},
                 "Invalid input: email: Enter a valid email address.",
                 {"email": ["Enter a valid email address."]}, id="invalid-email"),
    pytest.param({}, "Invalid input: email: This field is required.",
                 {"email": ["This field is required."], "password": ["This field is required."],
                  "role": ["This field is required."]}, id="empty-body"),
    pytest.param({"email": "dana@example.com", "password": "password", "role": "requester"},
                 "The password is too weak.", {"password": ["This password is too common."]},
                 id="common-password"),
    pytest.param({"email": "dana@example.com", "password": "short", "role": "requester"},
                 "The password is too weak.",
                 {"password": ["This password is too short. It must contain at least 8 "
                               "characters."]}, id="short-password"),
    pytest.param({"email": "dana@example.com", "password": "90210873451287", "role": "worker"},
                 "The password is too weak.", {"password": ["This password is entirely numeric."]},
                 id="numeric-password"),
    pytest.param({"email": "dana.smith@example.com", "password": "dana.smith@example.com",
                  "role": "worker"},
                 "The password is too weak.",
                 {"password": ["The password is too similar to the username."]},
                 id="password-like-email"),
])
def test_register_refuses_bad_input_and_creates_nothing(api_client, db, payload, message,
                                                         fields):
    response = api_client.post(REGISTER, payload)

    assert response.status_code == 400
    assert response.json() == _error("validation_error", message, fields)
    assert _written_counts() == {"users": 0, "organizations": 0, "memberships": 0,
                                 "worker_profiles": 0, "tokens": 0}


@pytest.mark.parametrize("email", ["alice@acme.example", "ALICE@ACME.EXAMPLE",
                                   "Alice@Acme.Example"])
def test_register_refuses_an_email_already_taken_in_any_case(api_client, requester, email):
    before = _written_counts()

    response = api_client.post(REGISTER, {"email": email, "password": NEW_PASSWORD,
                                          "role": "requester", "organization_name": "Copycat"})

    assert response.status_code == 400
    assert response.json() == _error("email_taken", "An account with this email already exists.",
                                     {"email": ["An account with this email already exists."]})
    assert _written_counts() == before
    assert Organization.objects.filter(name="Copycat").exists() is False


def test_register_stores_email_lowercase_and_login_is_case_insensitive(api_client, db):
    registered = api_client.post(REGISTER, {"email": "Dana.Smith@Example.COM",
                                            "password": NEW_PASSWORD, "role": "worker"})

    login = api_client.post(TOKEN, {"email": "DANA.SMITH@example.com",
                                    "password": NEW_PASSWORD})

    assert registered.status_code == 201
    assert registered.json()["user"]["email"] == "dana.smith@example.com"
    assert list(User.objects.values_list("email", "username")) == [
        ("dana.smith@example.com", "dana.smith@example.com")]
    assert login.status_code == 200


# --- token: issue ----------------------------------------------------------------------


def test_login_with_right_credentials_issues_a_new_token(api_client, requester):
    before = timezone.now()

    response = api_client.post(TOKEN, {"email": "alice@acme.example", "password": PASSWORD})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "expires_at"}
    token = AuthToken.objects.get(user=requester)
    assert token.digest == hash_token(body["token"])
    assert datetime.fromisoformat(body["expires_at"]) == token.expiry
    assert before + TOKEN_TTL <= token.expiry <= timezone.now() + TOKEN_TTL
    me = _bearer(body["token"]).get(ME)
    assert me.status_code == 200
    assert me.json()["id"] == requester.pk


def test_staff_log_in_through_the_same_token_endpoint(api_client, staff):
    response = api_client.post(TOKEN, {"email": "ROOT@quorum.example", "password": PASSWORD})

    assert response.status_code == 200
    assert _bearer(response.json()["token"]).get(ME).json()["role"] == "admin"


@pytest.mark.parametrize(("email", "password", "active"), [
    ("alice@acme.example", "wrong-password", True),
    ("nobody@acme.example", PASSWORD, True),
    ("alice@acme.example", PASSWORD, False),
], ids=["wrong-password", "unknown-email", "deactivated-user"])
def test_login_with_wrong_credentials_is_refused_alike_and_issues_nothing(
        api_client, requester, email, password, active):
    User.objects.filter(pk=requester.pk).update(is_active=active)

    response = api_client.post(TOKEN, {"email": email, "password": password})

    assert response.status_code == 400
    assert response.json() == _error("invalid_credentials", "Wrong email or password.",
                                     {"non_field_errors": ["Wrong email or password."]})
    assert AuthToken.objects.count() == 0


def test_login_with_missing_fields_names_them(api_client, db):
    response = api_client.post(TOKEN, {"email": "alice@acme.example"})

    assert response.status_code == 400
    assert response.json() == _error("validation_error",
                                     "Invalid input: password: This field is required.",
                                     {"password": ["This field is required."]})
    assert AuthToken.objects.count() == 0


# --- token: revoke ---------------------------------------------------------------------


def test_delete_token_revokes_only_the_token_used(requester):
    _instance, used_token = AuthToken.objects.create(user=requester)
    _instance, other_token = AuthToken.objects.create(user=requester)
    used = _bearer(used_token)

    response = used.delete(TOKEN)

    assert response.status_code == 204
    assert response.content == b""
    assert AuthToken.objects.filter(digest=hash_token(used_token)).exists() is False
    assert list(AuthToken.objects.filter(user=requester).values_list("digest", flat=True)) == [
        hash_token(other_token)]
    again = used.get(ME)
    assert again.status_code == 401
    assert again.json() == _error("authentication_failed", "Invalid or expired token.")
    assert used.delete(TOKEN).status_code == 401
    assert _bearer(other_token).get(ME).status_code == 200


def test_delete_token_without_a_token_is_401_and_revokes_nothing(api_client, requester):
    AuthToken.objects.create(user=requester)

    response = api_client.delete(TOKEN)

    assert response.status_code == 401
    assert response.json() == _error("not_authenticated",
                                     "Authentication credentials were not provided.")
    assert AuthToken.objects.count() == 1


# --- token: authentication -------------------------------------------------------------


def test_missing_token_is_401_with_bearer_challenge(api_client, db):
    response = api_client.get(ME)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json() == _error("not_authenticated",
                                     "Authentication credentials were not provided.")


@pytest.mark.parametrize(("header", "message"), [
    ("Bearer garbage", "Invalid or expired token."),
    ("Bearer " + "0" * 64, "Invalid or expired token."),
    ("Bearer \u00e9\u00e9\u00e9", "Invalid or expired token."),
    ("Bearer abc\x00def", "Invalid or expired token."),
    ("Bearer", "Invalid token header. No credentials provided."),
    ("Bearer two parts", "Invalid token header. Token string should not contain spaces."),
])
def test_garbage_token_is_401(api_client, requester, header, message):
    AuthToken.objects.create(user=requester)
    api_client.credentials(HTTP_AUTHORIZATION=header)

    response = api_client.get(ME)

    assert response.status_code == 401
    assert response.json() == _error("authentication_failed", message)


def test_token_with_the_right_key_prefix_but_wrong_secret_is_401(requester):
    _instance, token = AuthToken.objects.create(user=requester)
    forged = token[:15] + ("0" if token[15] != "0" else "1") + token[16:]

    response = _bearer(forged).get(ME)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_expired_token_is_401_and_the_user_can_log_in_again(api_client, requester):
    instance, token = AuthToken.objects.create(user=requester)
    AuthToken.objects.filter(pk=instance.pk).update(
        expiry=timezone.now() - timedelta(seconds=1))

    response = _bearer(token).get(ME)

    assert response.status_code == 401
    assert response.json() == _error("authentication_failed", "Invalid or expired token.")
    login = api_client.post(TOKEN, {"email": "alice@acme.example", "password": PASSWORD})
    assert login.status_code == 200
    assert _bearer(login.json()["token"]).get(ME).status_code == 200


def test_token_of_a_deactivated_user_is_401(requester):
    client = client_for(requester)
    User.objects.filter(pk=requester.pk).update(is_active=False)

    response = client.get(ME)

    assert response.status_code == 401
    assert response.json() == _error("authentication_failed", "User inactive or deleted.")


def test_tokens_are_stored_hashed_never_in_plaintext(api_client, db):
    registered = api_client.post(REGISTER, {"email": "dana@example.com",
                                            "password": NEW_PASSWORD, "role": "worker"}).json()
    logged_in = api_client.post(TOKEN, {"email": "dana@example.com",
                                        "password": NEW_PASSWORD}).json()
    plaintexts = [registered["token"], logged_in["token"]]

    with connection.cursor() as cursor:
        cursor.execute(f'SELECT * FROM "{AuthToken._meta.db_table}"')
        rows = cursor.fetchall()

    assert len(rows) == 2
    stored = " ".join(str(value) for row in rows for value in row)
    for plaintext in plaintexts:
        assert plaintext not in stored
    assert sorted(AuthToken.objects.values_list("digest", flat=True)) == sorted(
        hash_token(plaintext) for plaintext in plaintexts)


def test_demo_token_is_stable_stored_hashed_and_renewed_once_expired(requester):
    token = demo_token_for(requester)
    assert demo_token_for(requester) == token
    assert list(AuthToken.objects.values_list("digest", flat=True)) == [hash_token(token)]
    assert _bearer(token).get(ME).json()["id"] == requester.pk

    AuthToken.objects.update(expiry=timezone.now() - timedelta(seconds=1))
    assert _bearer(token).get(ME).status_code == 401

    assert demo_token_for(requester) == token
    assert AuthToken.objects.count() == 1
    assert AuthToken.objects.get().expiry > timezone.now()
    assert _bearer(token).get(ME).status_code == 200


def test_user_added_in_django_admin_can_log_in_via_the_api(client, staff, api_client):
    client.force_login(staff)
    for email in ("Eve@Example.com", "Frank@Example.com"):
        added = client.post("/admin/accounts/user/add/", {
            "email": email, "role": "worker", "usable_password": "true",
            "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
        assert added.status_code == 302

    assert set(User.objects.filter(is_staff=False).values_list("email", "username")) == {
        ("eve@example.com", "eve@example.com"), ("frank@example.com", "frank@example.com")}
    login = api_client.post(TOKEN, {"email": "Eve@Example.com", "password": NEW_PASSWORD})
    assert login.status_code == 200


# --- /me and /skills -------------------------------------------------------------------


def test_me_for_a_requester(requester_client, requester):
    response = requester_client.get(ME)

    assert response.status_code == 200
    assert response.json() == {
        "id": requester.pk, "email": "alice@acme.example", "role": "requester",
        "is_staff": False,
        "organization": {"id": requester.membership.organization_id, "name": "Acme AI"},
        "organization_role": "owner", "worker_id": None,
    }


def test_me_for_a_worker_shows_the_worker_id(worker_client, worker):
    response = worker_client.get(ME)

    assert response.status_code == 200
    assert response.json() == {
        "id": worker.pk, "email": "charlie@workers.example", "role": "worker",
        "is_staff": False, "organization": None, "organization_role": None,
        "worker_id": worker.worker_profile.pk,
    }


def test_me_for_staff(staff_client, staff):
    response = staff_client.get(ME)

    assert response.status_code == 200
    assert response.json() == {
        "id": staff.pk, "email": "root@quorum.example", "role": "admin", "is_staff": True,
        "organization": None, "organization_role": None, "worker_id": None,
    }


@pytest.mark.parametrize("persona", ["requester_client", "worker_client", "staff_client"])
def test_skills_is_the_whole_taxonomy_as_a_plain_list(request, db, persona):
    client = request.getfixturevalue(persona)

    response = client.get(SKILLS, {"page_size": 1})

    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list)
    assert body == [{"slug": skill.slug, "name": skill.name, "domain": skill.domain.slug}
                    for skill in Skill.objects.select_related("domain")
                    .order_by("domain__slug", "slug")]
    assert {"slug": "sentiment-en", "name": "Sentiment (English)",
            "domain": "languages"} in body
    assert {"slug": "medical-coding", "name": "Medical coding (ICD-10)",
            "domain": "healthcare"} in body


# --- throttling ------------------------------------------------------------------------


@pytest.fixture
def auth_rate_two_per_minute(monkeypatch):
    # DRF reads the rates into the class at import; a frozen clock makes the wait exact.
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"auth": "2/min"})
    monkeypatch.setattr(SimpleRateThrottle, "timer", lambda self: 1_700_000_000.0)


def test_login_is_throttled_with_retry_after_and_issues_no_token(api_client, requester,
                                                                 auth_rate_two_per_minute):
    credentials = {"email": "alice@acme.example", "password": PASSWORD}
    assert api_client.post(TOKEN, credentials).status_code == 200
    assert api_client.post(TOKEN, {**credentials, "password": "wrong"}).status_code == 400

    response = api_client.post(TOKEN, credentials)

    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert response.json() == _error("throttled",
                                     "Request was throttled. Expected available in 60 seconds.")
    assert AuthToken.objects.count() == 1


def test_registration_shares_the_auth_throttle_and_creates_nothing_when_throttled(
        api_client, requester, auth_rate_two_per_minute):
    credentials = {"email": "alice@acme.example", "password": PASSWORD}
    api_client.post(TOKEN, credentials)
    api_client.post(TOKEN, credentials)
    before = _written_counts()

    response = api_client.post(REGISTER, {"email": "dana@example.com", "password": NEW_PASSWORD,
                                          "role": "requester"})

    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert response.json()["error"]["code"] == "throttled"
    assert _written_counts() == before


def test_throttle_counts_per_client_address(api_client, requester, auth_rate_two_per_minute):
    credentials = {"email": "alice@acme.example", "password": PASSWORD}
    for _ in range(2):
        api_client.post(TOKEN, credentials, REMOTE_ADDR="10.0.0.1")

    throttled = api_client.post(TOKEN, credentials, REMOTE_ADDR="10.0.0.1")
    other_client = api_client.post(TOKEN, credentials, REMOTE_ADDR="10.0.0.2")

    assert throttled.status_code == 429
    assert other_client.status_code == 200


def test_revoking_a_token_is_not_throttled(requester, auth_rate_two_per_minute):
    clients = [client_for(requester) for _ in range(3)]

    statuses = [client.delete(TOKEN).status_code for client in clients]

    assert statuses == [204, 204, 204]


def test_throttle_cannot_be_dodged_with_a_forged_forwarded_for_header(
        api_client, requester, auth_rate_two_per_minute):
    credentials = {"email": "alice@acme.example", "password": PASSWORD}
    statuses = [api_client.post(TOKEN, credentials, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
                                REMOTE_ADDR="10.0.0.1").status_code
                for n in range(3)]

    assert statuses == [200, 200, 429]
