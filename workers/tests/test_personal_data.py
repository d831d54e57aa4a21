"""GET /worker/data-export returns everything stored about the worker as a person;
DELETE /worker/account erases the personal data and leaves the pseudonym on the records
that must be kept (audit, blocks, exam attempts, skills)."""
import json

import pytest
from django.utils import timezone
from knox.models import AuthToken

from accounts.models import User
from marketplace.services import worker_pseudonym_for
from workers.models import (
    ExamAttempt,
    QualificationExam,
    Skill,
    WorkerApplication,
    WorkerAuditEvent,
    WorkerBlock,
    WorkerProfile,
    WorkerSkill,
)
from workers.selectors import eligible_projects, worker_data_export
from workers.services import (
    application_approve,
    application_submit,
    exam_create,
    worker_block,
    worker_clearance_grant,
    worker_erase,
    worker_profile_update,
    worker_suspend,
    worker_terms_accept,
)

from .factories import make_gold_only_project, make_project, profile_of

EXPORT = "/api/v1/worker/data-export"
ACCOUNT = "/api/v1/worker/account"

PERSONAL = {
    "email": "charlie@workers.example",
    "first_name": "Charlie",
    "last_name": "Kelly",
    "full_name": "Charlie Q. Kelly",
    "bio": "Bilingual paralegal from Lyon.",
    "statement": "I reviewed 4000 contracts at Dupont & Fils.",
    "credential": "Licence en droit, Universite Lyon III",
}


@pytest.fixture
def rich_worker(worker, staff, requester):
    """A worker with something in every place personal data can live."""
    User.objects.filter(pk=worker.pk).update(first_name=PERSONAL["first_name"],
                                             last_name=PERSONAL["last_name"])
    profile = profile_of(worker)
    worker_profile_update(worker=profile, changes={
        "full_name": PERSONAL["full_name"], "bio": PERSONAL["bio"], "country": "FR",
        "languages": ["fr", "en"], "domains": ["law", "languages"],
        "skills": [{"skill": "legal-research", "level": 70}]})
    application = application_submit(worker=profile, statement=PERSONAL["statement"],
                                     credentials=[{"degree": PERSONAL["credential"]}])
    application_approve(application=application, actor=staff,
                        skills=[(Skill.objects.get(slug="contract-review"), 65),
                                (Skill.objects.get(slug="sentiment-en"), 80)])
    worker_clearance_grant(worker=profile, actor=staff, clearance="pii", reason="Checked.")
    worker_terms_accept(worker=profile, version="2026-01")
    exam = exam_create(project=make_gold_only_project(requester, ["positive"]), actor=staff,
                       skill=Skill.objects.get(slug="sentiment-en"), pass_mark=1.0,
                       question_count=1, organization=None)
    gold_item = exam.project.items.get()
    ExamAttempt.objects.create(exam=exam, worker=profile, item_ids=[gold_item.pk],
                               status="failed", score=0.0, expires_at=timezone.now(),
                               submitted_at=timezone.now(),
                               answers=[{"item_id": gold_item.pk, "value": "negative"}])
    project = make_project(requester, name="Acme reviews")
    worker_block(project=project, actor=requester, reason="Too slow.",
                 pseudonym=worker_pseudonym_for(project=project, worker=profile))
    profile.refresh_from_db()
    return profile


# --- export ---------------------------------------------------------------------------------


def test_export_contains_every_personal_field(worker_client, worker, rich_worker):
    response = worker_client.get(EXPORT)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"account", "profile", "skills", "applications", "exam_attempts",
                         "assignments", "blocks", "audit_log", "earnings", "payouts",
                         "balances", "disputes"}
    account = body["account"]
    assert {k: account[k] for k in ("id", "email", "first_name", "last_name", "role")} == {
        "id": worker.pk, "email": PERSONAL["email"], "first_name": "Charlie",
        "last_name": "Kelly", "role": "worker"}
    assert account["date_joined"]
    profile = body["profile"]
    assert {k: profile[k] for k in (
        "worker_id", "pseudonym", "status", "full_name", "bio", "country", "languages",
        "domains", "clearance", "terms_version_accepted", "erased_at")} == {
        "worker_id": rich_worker.pk, "pseudonym": rich_worker.pseudonym, "status": "active",
        "full_name": PERSONAL["full_name"], "bio": PERSONAL["bio"], "country": "FR",
        "languages": ["fr", "en"], "domains": ["languages", "law"], "clearance": "pii",
        "terms_version_accepted": "2026-01", "erased_at": None}
    assert profile["terms_accepted_at"] and profile["created_at"]
    assert [(s["skill"], s["level"], s["source"]) for s in body["skills"]] == [
        ("contract-review", 65, "admin"), ("legal-research", 70, "claimed"),
        ("sentiment-en", 80, "admin")]
    assert [(a["statement"], a["credentials"], a["status"]) for a in body["applications"]] == [
        (PERSONAL["statement"], [{"degree": PERSONAL["credential"]}], "approved")]
    attempt = ExamAttempt.objects.get()
    assert [(a["exam_id"], a["status"], a["score"], a["answers"])
            for a in body["exam_attempts"]] == [
        (QualificationExam.objects.get().pk, "failed", 0.0,
         [{"item_id": attempt.item_ids[0], "value": "negative"}])]
    # the worker's own answer, never the expected one
    assert "positive" not in json.dumps(body["exam_attempts"])
    assert [(b["organization_id"], b["reason"]) for b in body["blocks"]] == [
        (WorkerBlock.objects.get().organization_id, "Too slow.")]
    assert [e["action"] for e in body["audit_log"]] == [
        "applied", "approved", "skill_level_set", "skill_level_set", "clearance_granted",
        "terms_accepted", "blocked"]


def test_export_covers_every_column_of_the_profile(worker_client, rich_worker):
    profile = worker_client.get(EXPORT).json()["profile"]
    columns = {field.name for field in WorkerProfile._meta.concrete_fields} - {"id", "user"}

    assert columns - set(profile) == set()


@pytest.mark.parametrize("section, model, internal", [
    ("applications", WorkerApplication, {"worker", "decided_by"}),
    ("exam_attempts", ExamAttempt, {"id", "worker", "exam", "item_ids"}),
    ("skills", WorkerSkill, {"id", "worker"}),
])
def test_export_covers_every_column_about_the_worker(worker_client, rich_worker, section,
                                                     model, internal):
    entry = worker_client.get(EXPORT).json()[section][0]
    columns = {field.name for field in model._meta.concrete_fields} - internal

    assert columns - set(entry) == set()


def test_export_is_only_the_callers_own(worker_client, rich_worker, db):
    from conftest import make_worker
    other = make_worker("someone@workers.example")

    body = worker_client.get(EXPORT).json()

    assert body["profile"]["worker_id"] == rich_worker.pk
    assert "someone@workers.example" not in json.dumps(body)
    assert profile_of(other).pk != rich_worker.pk


def test_export_is_for_workers(requester_client, staff_client, api_client, db):
    assert requester_client.get(EXPORT).status_code == 403
    assert staff_client.get(EXPORT).status_code == 403
    assert api_client.get(EXPORT).status_code == 401


# --- erase ----------------------------------------------------------------------------------


def test_erase_removes_personal_data(worker_client, worker, rich_worker):
    response = worker_client.delete(ACCOUNT)

    assert response.status_code == 204
    user = User.objects.get(pk=worker.pk)
    placeholder = f"erased+{rich_worker.pseudonym}@erased.invalid"
    assert (user.email, user.username, user.first_name, user.last_name, user.is_active) == (
        placeholder, placeholder, "", "", False)
    assert not user.has_usable_password()
    profile = WorkerProfile.objects.get(pk=rich_worker.pk)
    assert (profile.full_name, profile.bio, profile.country, profile.languages) == (
        "", "", "", [])
    assert list(profile.domains.all()) == []
    assert profile.erased_at is not None
    assert list(WorkerApplication.objects.filter(worker=profile)
                .values_list("statement", "credentials")) == [("", [])]


def test_after_erasure_nothing_personal_remains_anywhere_in_the_export(worker_client,
                                                                        rich_worker):
    worker_client.delete(ACCOUNT)

    rich_worker.refresh_from_db()
    text = json.dumps(worker_data_export(worker=WorkerProfile.objects.select_related("user")
                                         .get(pk=rich_worker.pk)), default=str)

    for value in PERSONAL.values():
        assert value not in text, value
    assert "Charlie" not in text and "Kelly" not in text
    assert '"FR"' not in text and '"fr"' not in text


def test_erasure_keeps_the_records_others_rely_on_under_the_pseudonym(worker_client, worker,
                                                                       requester, rich_worker):
    audit_before = WorkerAuditEvent.objects.filter(worker=rich_worker).count()

    worker_client.delete(ACCOUNT)

    profile = WorkerProfile.objects.get(pk=rich_worker.pk)
    assert profile.pseudonym == rich_worker.pseudonym
    assert WorkerAuditEvent.objects.filter(worker=profile).count() == audit_before + 1
    assert list(WorkerAuditEvent.objects.filter(worker=profile).order_by("-id")
                .values_list("action", "actor_id"))[0] == ("erased", worker.pk)
    assert WorkerBlock.objects.filter(worker=profile).count() == 1
    assert ExamAttempt.objects.filter(worker=profile).count() == 1
    assert WorkerSkill.objects.filter(worker=profile).count() == 3
    assert WorkerApplication.objects.filter(worker=profile, status="approved").count() == 1


def test_erasure_ends_every_session_and_login(worker_client, worker, rich_worker, api_client):
    worker_client.delete(ACCOUNT)

    assert AuthToken.objects.filter(user_id=worker.pk).count() == 0
    assert worker_client.get("/api/v1/worker/profile").status_code == 401
    login = api_client.post("/api/v1/auth/token", {"email": PERSONAL["email"],
                                                   "password": "correct-horse-battery-staple"},
                            format="json")
    assert login.status_code == 400


def test_the_email_is_free_again_after_erasure(worker_client, rich_worker, api_client):
    worker_client.delete(ACCOUNT)

    response = api_client.post("/api/v1/auth/register", {
        "email": PERSONAL["email"], "password": "another-long-passphrase-42",
        "role": "worker"}, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["user"]["id"] != rich_worker.user_id


def test_an_erased_worker_gets_no_work(worker_client, requester, rich_worker):
    rich_worker.blocks.all().delete()
    make_project(requester, name="Fresh")
    assert eligible_projects(worker=rich_worker).count() == 2

    worker_client.delete(ACCOUNT)

    rich_worker.refresh_from_db()
    assert eligible_projects(worker=rich_worker).count() == 0


def test_erasing_twice_changes_nothing_more(worker, rich_worker):
    worker_erase(worker=rich_worker, actor=worker)
    first = WorkerProfile.objects.filter(pk=rich_worker.pk).values().get()
    audit_count = WorkerAuditEvent.objects.filter(worker=rich_worker).count()

    worker_erase(worker=rich_worker, actor=worker)

    assert WorkerProfile.objects.filter(pk=rich_worker.pk).values().get() == first
    assert WorkerAuditEvent.objects.filter(worker=rich_worker).count() == audit_count


def test_a_suspended_worker_may_still_erase(worker_client, worker, staff, rich_worker):
    worker_suspend(worker=rich_worker, actor=staff, reason="Review.")

    assert worker_client.delete(ACCOUNT).status_code == 204
    assert WorkerProfile.objects.get(pk=rich_worker.pk).erased_at is not None


def test_erase_is_for_workers(requester_client, staff_client, api_client, requester, staff):
    assert requester_client.delete(ACCOUNT).status_code == 403
    assert staff_client.delete(ACCOUNT).status_code == 403
    assert api_client.delete(ACCOUNT).status_code == 401
    assert User.objects.get(pk=requester.pk).is_active
    assert User.objects.get(pk=staff.pk).email == "root@quorum.example"
    assert WorkerAuditEvent.objects.count() == 0


def test_export_includes_earnings_payouts_and_disputes(requester):
    """Issue 10: money and disputes are personal data too."""
    from conftest import client_for
    from flows.decisions import reject
    from payments.models import Payout
    from payments.services import bonus_grant
    from qa.services.disputes import dispute_open
    from qa.tests.conftest import claim, eligible_worker, launched_project, pseudonym_of, submit

    profile = eligible_worker("earner@workers.example")
    project = launched_project(requester)
    assignment = submit(claim(profile, project), profile, "positive")
    reject(assignment_id=assignment.pk, actor=requester, reason="Looked random.")
    dispute = dispute_open(worker=profile, assignment_id=assignment.pk,
                           message="I read every item.")
    bonus_grant(project=project, actor=requester, pseudonym=pseudonym_of(profile, project),
                amount_cents=250, reason="Great notes")

    body = client_for(profile.user).get(EXPORT).json()

    assert [(e["kind"], e["amount_cents"], e["reason"], e["status"])
            for e in body["earnings"]] == [("bonus", 250, "Great notes", "pending")]
    assert body["balances"] == {"pending_cents": 250, "available_cents": 0,
                                "in_flight_cents": 0, "paid_cents": 0}
    assert body["payouts"] == [] and not Payout.objects.exists()
    assert [(d["id"], d["assignment_id"], d["message"], d["status"])
            for d in body["disputes"]] == [
        (dispute.pk, assignment.pk, "I read every item.", "open")]
