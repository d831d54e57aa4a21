"""The skill taxonomy: domains and skills seeded by a data migration, served by /skills."""
import importlib

from django.apps import apps

from workers.models import Domain, Skill

SKILLS = "/api/v1/skills"

EXPECTED_DOMAINS = ["finance", "general", "healthcare", "languages", "law", "science",
                    "software"]


def test_migration_seeds_the_seven_domains(db):
    assert list(Domain.objects.order_by("slug").values_list("slug", flat=True)) == \
        EXPECTED_DOMAINS


def test_every_domain_has_skills_and_every_skill_a_domain(db):
    for domain in Domain.objects.all():
        assert domain.skills.count() >= 2, domain.slug
    assert Skill.objects.filter(domain__isnull=True).count() == 0


def test_seeded_skills_sit_in_their_domains(db):
    placed = dict(Skill.objects.values_list("slug", "domain__slug"))

    assert placed["sentiment-en"] == "languages"
    assert placed["translation-de"] == "languages"
    assert placed["financial-statements"] == "finance"
    assert placed["medical-coding"] == "healthcare"
    assert placed["contract-review"] == "law"
    assert placed["python-code-review"] == "software"
    assert placed["mathematics"] == "science"
    assert placed["content-moderation"] == "general"


def test_seed_is_idempotent(db):
    # given the migration already ran
    migration = importlib.import_module("workers.migrations.0002_seed_taxonomy")
    before = (Domain.objects.count(), Skill.objects.count())

    # when it runs again
    migration.seed(apps, None)

    # then nothing was added twice
    assert (Domain.objects.count(), Skill.objects.count()) == before
    expected_skills = sum(len(skills) for _name, skills in migration.TAXONOMY.values())
    assert before == (len(migration.TAXONOMY), expected_skills)


def test_skills_endpoint_lists_the_whole_taxonomy_unpaginated(worker_client):
    response = worker_client.get(SKILLS)

    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list)
    assert len(body) == Skill.objects.count()
    assert {"slug": "sentiment-en", "name": "Sentiment (English)", "domain": "languages"} in body
    assert all(set(entry) == {"slug", "name", "domain"} for entry in body)
    assert {entry["domain"] for entry in body} == set(EXPECTED_DOMAINS)


def test_skills_endpoint_is_open_to_every_role(requester_client, staff_client):
    assert requester_client.get(SKILLS).status_code == 200
    assert staff_client.get(SKILLS).status_code == 200


def test_skills_endpoint_needs_a_token(api_client, db):
    response = api_client.get(SKILLS)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
