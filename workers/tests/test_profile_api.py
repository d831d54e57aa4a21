"""GET/PATCH /worker/profile: a worker edits its own profile and claims skills; verified
levels (exam, gold, admin) and status never change through it."""
import pytest

from workers.models import WorkerAuditEvent, WorkerProfile, WorkerSkill

from .factories import error_code, give_skills, profile_of

PROFILE = "/api/v1/worker/profile"


def _snapshot(worker: WorkerProfile) -> dict:
    row = WorkerProfile.objects.filter(pk=worker.pk).values().get()
    row["domains"] = sorted(worker.domains.values_list("slug", flat=True))
    row["skills"] = sorted(WorkerSkill.objects.filter(worker=worker)
                           .values_list("skill__slug", "level", "source"))
    row["audit"] = WorkerAuditEvent.objects.filter(worker=worker).count()
    return row


# --- read --------------------------------------------------------------------------------


def test_new_worker_profile_is_an_empty_applicant(worker_client, worker):
    response = worker_client.get(PROFILE)

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == profile_of(worker).pk
    assert {name: body[name] for name in (
        "status", "email", "skills", "domains", "languages", "country", "bio", "full_name",
        "clearance", "terms_version_accepted", "terms_current_version")} == {
        "status": "applicant", "email": "charlie@workers.example", "skills": [],
        "domains": [], "languages": [], "country": "", "bio": "", "full_name": "",
        "clearance": "none", "terms_version_accepted": "", "terms_current_version": "2026-01"}


def test_profile_id_is_the_worker_id_of_me(worker_client):
    me = worker_client.get("/api/v1/me").json()

    assert worker_client.get(PROFILE).json()["id"] == me["worker_id"]


def test_profile_shows_verified_and_claimed_skills_with_their_source(worker_client, worker):
    give_skills(profile_of(worker), {"sentiment-en": 80}, source="admin")
    give_skills(profile_of(worker), {"translation-de": 30}, source="claimed")

    skills = worker_client.get(PROFILE).json()["skills"]

    assert skills == [
        {"skill": "sentiment-en", "level": 80, "source": "admin", "verified": True},
        {"skill": "translation-de", "level": 30, "source": "claimed", "verified": False},
    ]


# --- edit --------------------------------------------------------------------------------


def test_worker_edits_bio_country_languages_domains_and_name(worker_client, worker):
    response = worker_client.patch(PROFILE, {
        "full_name": "Charlie Day", "bio": "Linguist.", "country": "DE",
        "languages": ["de", "en"], "domains": ["languages", "law"]}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["full_name"], body["bio"], body["country"], body["languages"],
            body["domains"]) == ("Charlie Day", "Linguist.", "DE", ["de", "en"],
                                 ["languages", "law"])
    worker_row = profile_of(worker)
    assert (worker_row.full_name, worker_row.bio, worker_row.country, worker_row.languages) == (
        "Charlie Day", "Linguist.", "DE", ["de", "en"])
    assert sorted(worker_row.domains.values_list("slug", flat=True)) == ["languages", "law"]
    assert worker_row.status == "applicant"


def test_patch_changes_only_the_fields_sent(worker_client, worker):
    worker_client.patch(PROFILE, {"bio": "First.", "country": "FR"}, format="json")

    response = worker_client.patch(PROFILE, {"bio": "Second."}, format="json")

    assert response.status_code == 200
    assert (response.json()["bio"], response.json()["country"]) == ("Second.", "FR")


def test_worker_claims_skills_which_are_stored_as_claimed(worker_client, worker):
    response = worker_client.patch(PROFILE, {"skills": [
        {"skill": "sentiment-en", "level": 90}, {"skill": "sql"}]}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["skills"] == [
        {"skill": "sentiment-en", "level": 90, "source": "claimed", "verified": False},
        {"skill": "sql", "level": 0, "source": "claimed", "verified": False},
    ]
    assert sorted(WorkerSkill.objects.filter(worker=profile_of(worker))
                  .values_list("skill__slug", "level", "source")) == [
        ("sentiment-en", 90, "claimed"), ("sql", 0, "claimed")]
    # Claims are the worker's own word: nothing verified, nothing audited.
    assert WorkerAuditEvent.objects.filter(worker=profile_of(worker)).count() == 0


def test_a_claim_cannot_smuggle_in_a_verified_source(worker_client, worker):
    response = worker_client.patch(PROFILE, {"skills": [
        {"skill": "sentiment-en", "level": 95, "source": "admin"}]}, format="json")

    assert response.status_code == 200, response.json()
    assert list(WorkerSkill.objects.filter(worker=profile_of(worker))
                .values_list("skill__slug", "level", "source")) == [
        ("sentiment-en", 95, "claimed")]


def test_claims_replace_earlier_claims(worker_client, worker):
    worker_client.patch(PROFILE, {"skills": [{"skill": "sentiment-en", "level": 40},
                                             {"skill": "sql", "level": 20}]}, format="json")

    response = worker_client.patch(PROFILE, {"skills": [{"skill": "sql", "level": 60}]},
                                   format="json")

    assert response.status_code == 200
    assert list(WorkerSkill.objects.filter(worker=profile_of(worker))
                .values_list("skill__slug", "level", "source")) == [("sql", 60, "claimed")]


def test_worker_cannot_raise_its_own_verified_level(worker_client, worker):
    # given an admin-verified level
    profile = profile_of(worker)
    give_skills(profile, {"sentiment-en": 60}, source="admin")
    before = _snapshot(profile)

    # when the worker claims a higher level on it
    response = worker_client.patch(PROFILE, {"bio": "Now an expert.", "skills": [
        {"skill": "sentiment-en", "level": 100}]}, format="json")

    # then refused, and nothing (not even the bio sent alongside) was written
    assert response.status_code == 400
    assert error_code(response) == "verified_skill"
    assert list(response.json()["error"]["fields"]) == ["skills.0.level"]
    assert _snapshot(profile) == before


@pytest.mark.parametrize("source", ["exam", "gold", "admin"])
def test_worker_cannot_lower_any_verified_level_either(worker_client, worker, source):
    profile = profile_of(worker)
    give_skills(profile, {"sentiment-en": 60}, source=source)
    before = _snapshot(profile)

    response = worker_client.patch(PROFILE, {"skills": [{"skill": "sentiment-en", "level": 10}]},
                                   format="json")

    assert response.status_code == 400
    assert error_code(response) == "verified_skill"
    assert _snapshot(profile) == before


def test_restating_a_verified_skill_keeps_it_verified(worker_client, worker):
    profile = profile_of(worker)
    give_skills(profile, {"sentiment-en": 60, "sql": 70}, source="admin")

    response = worker_client.patch(PROFILE, {"skills": [
        {"skill": "sentiment-en", "level": 60}, {"skill": "sql"},
        {"skill": "biology", "level": 40}]}, format="json")

    assert response.status_code == 200, response.json()
    assert sorted(WorkerSkill.objects.filter(worker=profile)
                  .values_list("skill__slug", "level", "source")) == [
        ("biology", 40, "claimed"), ("sentiment-en", 60, "admin"), ("sql", 70, "admin")]


def test_dropping_claims_never_drops_verified_skills(worker_client, worker):
    profile = profile_of(worker)
    give_skills(profile, {"sentiment-en": 60}, source="exam")
    give_skills(profile, {"sql": 10}, source="claimed")

    response = worker_client.patch(PROFILE, {"skills": []}, format="json")

    assert response.status_code == 200
    assert list(WorkerSkill.objects.filter(worker=profile)
                .values_list("skill__slug", "level", "source")) == [("sentiment-en", 60, "exam")]


@pytest.mark.parametrize("body, field", [
    ({"status": "active"}, "status"),
    ({"clearance": "phi"}, "clearance"),
    ({"terms_version_accepted": "2026-01"}, "terms_version_accepted"),
    ({"email": "new@example.com"}, "email"),
    ({"skills": [{"skill": "no-such-skill", "level": 10}]}, "skills.0"),
    ({"skills": [{"skill": "sql", "level": 101}]}, "skills.0.level"),
    ({"skills": [{"skill": "sql", "level": -1}]}, "skills.0.level"),
    ({"skills": [{"skill": "sql", "level": 1}, {"skill": "sql", "level": 2}]}, "skills"),
    ({"domains": ["astrology"]}, "domains.0"),
    ({"country": "de"}, "country"),
    ({"country": "DEU"}, "country"),
    ({"languages": ["English"]}, "languages.0"),
])
def test_refuses_bad_or_read_only_fields_and_writes_nothing(worker_client, worker, body, field):
    profile = profile_of(worker)
    before = _snapshot(profile)

    response = worker_client.patch(PROFILE, {"bio": "Changed.", **body}, format="json")

    assert response.status_code == 400, response.json()
    assert error_code(response) == "validation_error"
    assert any(name == field or name.startswith(field + ".")
               for name in response.json()["error"]["fields"]), response.json()
    assert _snapshot(profile) == before


# --- who may call ------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "patch"])
def test_profile_is_for_workers_only(requester_client, staff_client, method):
    for client in (requester_client, staff_client):
        response = getattr(client, method)(PROFILE, {}, format="json")
        assert response.status_code == 403
        assert error_code(response) == "permission_denied"


@pytest.mark.parametrize("method", ["get", "patch"])
def test_profile_needs_a_token(api_client, db, method):
    response = getattr(api_client, method)(PROFILE, {}, format="json")

    assert response.status_code == 401
    assert error_code(response) == "not_authenticated"


def test_only_verified_sources_may_set_a_verified_level(worker):
    from workers.models import Skill
    from workers.services import worker_skill_set_verified
    profile = profile_of(worker)
    before = _snapshot(profile)

    with pytest.raises(ValueError):
        worker_skill_set_verified(worker=profile, skill=Skill.objects.get(slug="sql"), level=90,
                                  source="claimed", actor=worker)

    assert _snapshot(profile) == before
