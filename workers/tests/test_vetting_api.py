"""Vetting and standing: apply -> approve | reject; suspend, reinstate, ban. Every legal
transition and its illegal twin (409), who may call what, and the audit log (who, what,
why) that each decision leaves; refused calls leave no trace."""
import pytest
from conftest import make_requester, make_worker

from workers.enums import WorkerStatus
from workers.models import (
    Skill,
    WorkerApplication,
    WorkerAuditEvent,
    WorkerProfile,
    WorkerSkill,
)
from workers.services import (
    application_approve,
    application_submit,
    worker_ban,
    worker_suspend,
)

from .factories import audit_rows, error_code, profile_of

APPLY = "/api/v1/worker/application"
APPLICATIONS = "/api/v1/admin/applications"
WORKERS = "/api/v1/admin/workers"

STATUSES = ["applicant", "vetting", "active", "suspended", "banned"]


def _application_url(application_id, action: str = "") -> str:
    return f"{APPLICATIONS}/{application_id}" + (f"/{action}" if action else "")


def _worker_url(worker_id, action: str = "") -> str:
    return f"{WORKERS}/{worker_id}" + (f"/{action}" if action else "")


def _bring_to(worker: WorkerProfile, status: str, staff) -> WorkerProfile:
    """Move a fresh applicant to ``status`` along the real vetting flow."""
    if status in ("vetting", "active", "suspended"):
        application = application_submit(worker=worker, statement="I label well.",
                                         credentials=[])
        if status in ("active", "suspended"):
            application_approve(application=application, actor=staff, skills=[])
        if status == "suspended":
            worker_suspend(worker=worker, actor=staff, reason="Setup.")
    elif status == "banned":
        worker_ban(worker=worker, actor=staff, reason="Setup.")
    worker.refresh_from_db()
    assert worker.status == status
    return worker


def _state(worker: WorkerProfile) -> dict:
    """What a refused call must leave alone."""
    worker.refresh_from_db()
    return {
        "status": worker.status, "status_reason": worker.status_reason,
        "clearance": worker.clearance,
        "applications": sorted(WorkerApplication.objects.filter(worker=worker)
                               .values_list("id", "status", "reason", "decided_by_id")),
        "skills": sorted(WorkerSkill.objects.filter(worker=worker)
                         .values_list("skill__slug", "level", "source")),
        "audit": WorkerAuditEvent.objects.filter(worker=worker).count(),
    }


# --- apply: applicant -> vetting -----------------------------------------------------------


def test_apply_moves_an_applicant_to_vetting(worker_client, worker):
    response = worker_client.post(APPLY, {
        "statement": "Ten years of translation.",
        "credentials": [{"type": "degree", "name": "MA Translation"}, "https://cv.example"],
    }, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    profile = profile_of(worker)
    application = WorkerApplication.objects.get(worker=profile)
    assert body == {
        "id": application.pk, "worker_id": profile.pk, "email": "charlie@workers.example",
        "statement": "Ten years of translation.",
        "credentials": [{"type": "degree", "name": "MA Translation"}, "https://cv.example"],
        "status": "pending", "reason": "", "created_at": body["created_at"],
        "decided_at": None}
    assert profile.status == "vetting"
    assert audit_rows(profile) == [("applied", worker.pk, "")]
    assert WorkerAuditEvent.objects.get(worker=profile).details == {
        "application_id": application.pk}


def test_worker_sees_its_own_applications(worker_client, worker):
    worker_client.post(APPLY, {"statement": "Hi."}, format="json")

    response = worker_client.get(APPLY)

    assert response.status_code == 200
    assert [(a["statement"], a["status"], a["credentials"]) for a in response.json()["results"]] == [
        ("Hi.", "pending", [])]


@pytest.mark.parametrize("status", ["vetting", "active", "suspended", "banned"])
def test_apply_is_refused_unless_applicant(worker_client, worker, staff, status):
    profile = _bring_to(profile_of(worker), status, staff)
    before = _state(profile)

    response = worker_client.post(APPLY, {"statement": "Again."}, format="json")

    assert response.status_code == 409
    assert error_code(response) == "illegal_transition"
    assert _state(profile) == before


def test_apply_needs_a_statement(worker_client, worker):
    response = worker_client.post(APPLY, {"credentials": []}, format="json")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["statement"]
    assert _state(profile_of(worker)) == {
        "status": "applicant", "status_reason": "", "clearance": "none", "applications": [],
        "skills": [], "audit": 0}


def test_apply_is_for_workers(requester_client, staff_client, api_client, db):
    assert requester_client.post(APPLY, {"statement": "x"}, format="json").status_code == 403
    assert staff_client.post(APPLY, {"statement": "x"}, format="json").status_code == 403
    assert api_client.post(APPLY, {"statement": "x"}, format="json").status_code == 401
    assert WorkerApplication.objects.count() == 0


# --- the vetting queue ----------------------------------------------------------------------


def test_admin_lists_pending_applications_oldest_first(staff_client, staff, db):
    first = profile_of(make_worker("w1@workers.example"))
    second = profile_of(make_worker("w2@workers.example"))
    decided = profile_of(make_worker("w3@workers.example"))
    a1 = application_submit(worker=first, statement="one", credentials=["c1"])
    a2 = application_submit(worker=second, statement="two", credentials=[])
    a3 = application_submit(worker=decided, statement="three", credentials=[])
    application_approve(application=a3, actor=staff, skills=[])

    response = staff_client.get(APPLICATIONS, {"status": "pending"})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 2
    assert [(a["id"], a["worker_id"], a["email"], a["statement"], a["credentials"],
             a["status"]) for a in body["results"]] == [
        (a1.pk, first.pk, "w1@workers.example", "one", ["c1"], "pending"),
        (a2.pk, second.pk, "w2@workers.example", "two", [], "pending")]
    everything = staff_client.get(APPLICATIONS).json()
    assert [a["id"] for a in everything["results"]] == [a1.pk, a2.pk, a3.pk]


# --- approve: vetting -> active -------------------------------------------------------------


def test_approve_activates_with_verified_levels_and_clearance(staff_client, staff, worker):
    profile = _bring_to(profile_of(worker), "vetting", staff)
    application = WorkerApplication.objects.get(worker=profile)

    response = staff_client.post(_application_url(application.pk, "approve"), {
        "skills": [{"skill": "sentiment-en", "level": 70}, {"skill": "translation-de",
                                                            "level": 55}],
        "clearance": "pii", "note": "Strong sample."}, format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["reason"]) == ("approved",
                                                                      "Strong sample.")
    assert response.json()["decided_at"] is not None
    profile.refresh_from_db()
    application.refresh_from_db()
    assert (profile.status, profile.clearance) == ("active", "pii")
    assert (application.status, application.decided_by_id) == ("approved", staff.pk)
    assert sorted(WorkerSkill.objects.filter(worker=profile)
                  .values_list("skill__slug", "level", "source")) == [
        ("sentiment-en", 70, "admin"), ("translation-de", 55, "admin")]
    assert audit_rows(profile)[1:] == [
        ("approved", staff.pk, "Strong sample."),
        ("skill_level_set", staff.pk, "Set at vetting"),
        ("skill_level_set", staff.pk, "Set at vetting"),
        ("clearance_granted", staff.pk, "Granted at vetting"),
    ]
    events = list(WorkerAuditEvent.objects.filter(worker=profile).order_by("id"))
    assert events[2].details == {"skill": "sentiment-en", "level": 70, "source": "admin",
                                 "previous_level": None, "previous_source": None,
                                 "application_id": application.pk}
    assert events[4].details == {"clearance": "pii", "previous": "none"}


def test_approve_overrides_a_claimed_level(staff_client, staff, worker):
    profile = _bring_to(profile_of(worker), "vetting", staff)
    WorkerSkill.objects.create(worker=profile, skill_id=_skill_id("sql"), level=99,
                               source="claimed")
    application = WorkerApplication.objects.get(worker=profile)

    response = staff_client.post(_application_url(application.pk, "approve"), {
        "skills": [{"skill": "sql", "level": 40}]}, format="json")

    assert response.status_code == 200
    assert list(WorkerSkill.objects.filter(worker=profile)
                .values_list("skill__slug", "level", "source")) == [("sql", 40, "admin")]
    assert WorkerAuditEvent.objects.get(worker=profile, action="skill_level_set").details[
        "previous_level"] == 99


def _skill_id(slug: str) -> int:
    from workers.models import Skill
    return Skill.objects.get(slug=slug).pk


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_a_decided_application_cannot_be_approved(staff_client, staff, worker, decision):
    profile = _bring_to(profile_of(worker), "vetting", staff)
    application = WorkerApplication.objects.get(worker=profile)
    assert staff_client.post(_application_url(application.pk, decision), {
        "reason": "Decided.", "skills": [{"skill": "sql", "level": 50}]},
        format="json").status_code == 200
    before = _state(profile)

    response = staff_client.post(_application_url(application.pk, "approve"), {
        "skills": [{"skill": "sql", "level": 90}], "clearance": "phi"}, format="json")

    assert response.status_code == 409
    assert error_code(response) == "application_decided"
    assert _state(profile) == before


def test_approve_refused_when_the_worker_was_banned_meanwhile(staff_client, staff, worker):
    profile = _bring_to(profile_of(worker), "vetting", staff)
    application = WorkerApplication.objects.get(worker=profile)
    worker_ban(worker=profile, actor=staff, reason="Fraud.")
    before = _state(profile)

    response = staff_client.post(_application_url(application.pk, "approve"), {
        "skills": [{"skill": "sql", "level": 50}]}, format="json")

    # The ban closed the pending application, so it is no longer there to approve.
    assert response.status_code == 409
    assert error_code(response) == "application_decided"
    assert _state(profile) == before
    application.refresh_from_db()
    assert application.status == "rejected"
    assert application.reason == "Worker banned: Fraud."


@pytest.mark.parametrize("body, field", [
    ({}, "skills"),
    ({"skills": []}, "skills"),
    ({"skills": [{"skill": "astrology", "level": 50}]}, "skills.0.skill"),
    ({"skills": [{"skill": "sql", "level": 101}]}, "skills.0.level"),
    ({"skills": [{"skill": "sql"}]}, "skills.0.level"),
    ({"clearance": "top-secret"}, "clearance"),
])
def test_approve_with_bad_input_writes_nothing(staff_client, staff, worker, body, field):
    profile = _bring_to(profile_of(worker), "vetting", staff)
    application = WorkerApplication.objects.get(worker=profile)
    before = _state(profile)

    response = staff_client.post(_application_url(application.pk, "approve"), body,
                                 format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"], response.json()
    assert _state(profile) == before


def test_approve_unknown_application_is_404(staff_client):
    response = staff_client.post(_application_url(999_999, "approve"), {}, format="json")

    assert response.status_code == 404


# --- reject: vetting -> applicant -----------------------------------------------------------


def test_reject_returns_the_worker_to_applicant_with_the_reason(staff_client, staff, worker):
    profile = _bring_to(profile_of(worker), "vetting", staff)
    application = WorkerApplication.objects.get(worker=profile)

    response = staff_client.post(_application_url(application.pk, "reject"),
                                 {"reason": "No evidence of German."}, format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["reason"]) == (
        "rejected", "No evidence of German.")
    profile.refresh_from_db()
    application.refresh_from_db()
    assert (profile.status, profile.status_reason) == ("applicant", "No evidence of German.")
    assert (application.status, application.decided_by_id) == ("rejected", staff.pk)
    assert audit_rows(profile) == [("applied", worker.pk, ""),
                                   ("rejected", staff.pk, "No evidence of German.")]


def test_a_rejected_worker_may_apply_again(staff_client, staff, worker, worker_client):
    profile = _bring_to(profile_of(worker), "vetting", staff)
    application = WorkerApplication.objects.get(worker=profile)
    staff_client.post(_application_url(application.pk, "reject"), {"reason": "Thin."},
                      format="json")

    response = worker_client.post(APPLY, {"statement": "Now with a portfolio."}, format="json")

    assert response.status_code == 201
    assert profile_of(worker).status == "vetting"
    assert list(WorkerApplication.objects.filter(worker=profile).order_by("id")
                .values_list("status", flat=True)) == ["rejected", "pending"]


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}])
def test_reject_needs_a_reason(staff_client, staff, worker, body):
    profile = _bring_to(profile_of(worker), "vetting", staff)
    application = WorkerApplication.objects.get(worker=profile)
    before = _state(profile)

    response = staff_client.post(_application_url(application.pk, "reject"), body,
                                 format="json")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["reason"]
    assert _state(profile) == before


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_a_decided_application_cannot_be_rejected(staff_client, staff, worker, decision):
    profile = _bring_to(profile_of(worker), "vetting", staff)
    application = WorkerApplication.objects.get(worker=profile)
    staff_client.post(_application_url(application.pk, decision), {
        "reason": "Done.", "skills": [{"skill": "sql", "level": 50}]}, format="json")
    before = _state(profile)

    response = staff_client.post(_application_url(application.pk, "reject"),
                                 {"reason": "Changed my mind."}, format="json")

    assert response.status_code == 409
    assert error_code(response) == "application_decided"
    assert _state(profile) == before


# --- suspend / reinstate / ban: every start status ------------------------------------------

LEGAL = {
    "suspend": {"active": "suspended"},
    "reinstate": {"suspended": "active"},
    "ban": {"applicant": "banned", "vetting": "banned", "active": "banned",
            "suspended": "banned"},
}
AUDIT_ACTION = {"suspend": "suspended", "reinstate": "reinstated", "ban": "banned"}


@pytest.mark.parametrize("action, start", [
    (action, start) for action, moves in LEGAL.items() for start in moves])
def test_standing_change_is_applied_and_audited(staff_client, staff, worker, action, start):
    profile = _bring_to(profile_of(worker), start, staff)
    audit_before = audit_rows(profile)

    response = staff_client.post(_worker_url(profile.pk, action),
                                 {"reason": "Gold accuracy 41% over 200 tasks."}, format="json")

    assert response.status_code == 200, response.json()
    target = LEGAL[action][start]
    assert (response.json()["id"], response.json()["status"],
            response.json()["status_reason"]) == (
        profile.pk, target, "Gold accuracy 41% over 200 tasks.")
    profile.refresh_from_db()
    assert (profile.status, profile.status_reason) == (target,
                                                       "Gold accuracy 41% over 200 tasks.")
    assert audit_rows(profile) == audit_before + [
        (AUDIT_ACTION[action], staff.pk, "Gold accuracy 41% over 200 tasks.")]


@pytest.mark.parametrize("action, start", [
    (action, start) for action, moves in LEGAL.items() for start in STATUSES
    if start not in moves])
def test_illegal_standing_change_is_409_and_writes_nothing(staff_client, staff, worker,
                                                           action, start):
    profile = _bring_to(profile_of(worker), start, staff)
    before = _state(profile)

    response = staff_client.post(_worker_url(profile.pk, action), {"reason": "Because."},
                                 format="json")

    assert response.status_code == 409
    assert error_code(response) == "illegal_transition"
    assert _state(profile) == before


def test_the_illegal_twins_cover_every_pair_outside_the_transition_table():
    # Guards the two tests above against the table and the flows drifting apart.
    from workers.enums import WORKER_TRANSITIONS
    by_target = {"suspended": "suspend", "banned": "ban"}
    for start, targets in WORKER_TRANSITIONS.items():
        for target, action in by_target.items():
            assert (start in LEGAL[action]) == (target in targets), (start, target)
    assert set(LEGAL["reinstate"]) == {s for s, t in WORKER_TRANSITIONS.items()
                                       if WorkerStatus.ACTIVE in t} - {"vetting"}


@pytest.mark.parametrize("action", ["suspend", "reinstate", "ban"])
@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "  "}])
def test_standing_changes_need_a_reason(staff_client, staff, worker, action, body):
    profile = _bring_to(profile_of(worker), "suspended" if action == "reinstate" else "active",
                        staff)
    before = _state(profile)

    response = staff_client.post(_worker_url(profile.pk, action), body, format="json")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["reason"]
    assert _state(profile) == before


@pytest.mark.parametrize("action", ["suspend", "reinstate", "ban"])
def test_standing_change_of_unknown_worker_is_404(staff_client, action):
    response = staff_client.post(_worker_url(999_999, action), {"reason": "x"}, format="json")

    assert response.status_code == 404


def test_full_life_cycle_leaves_a_complete_audit_trail(staff_client, staff, worker,
                                                       worker_client):
    worker_client.post(APPLY, {"statement": "Hello."}, format="json")
    profile = profile_of(worker)
    application = WorkerApplication.objects.get(worker=profile)
    staff_client.post(_application_url(application.pk, "approve"), {
        "skills": [{"skill": "sql", "level": 50}]}, format="json")
    staff_client.post(_worker_url(profile.pk, "suspend"), {"reason": "Spam."}, format="json")
    staff_client.post(_worker_url(profile.pk, "reinstate"), {"reason": "Appeal won."},
                      format="json")
    staff_client.post(_worker_url(profile.pk, "ban"), {"reason": "Fraud."}, format="json")

    response = staff_client.get(_worker_url(profile.pk))

    assert response.status_code == 200
    assert [(e["action"], e["actor_id"], e["reason"]) for e in response.json()["audit_log"]] == [
        ("applied", worker.pk, ""), ("approved", staff.pk, ""),
        ("skill_level_set", staff.pk, "Set at vetting"), ("suspended", staff.pk, "Spam."),
        ("reinstated", staff.pk, "Appeal won."), ("banned", staff.pk, "Fraud.")]
    assert all(e["created_at"] for e in response.json()["audit_log"])
    assert profile_of(worker).status == "banned"


def test_admin_lists_workers_by_status(staff_client, staff, db):
    active = _bring_to(profile_of(make_worker("a@workers.example")), "active", staff)
    _bring_to(profile_of(make_worker("b@workers.example")), "vetting", staff)

    response = staff_client.get(WORKERS, {"status": "active"})

    assert response.status_code == 200
    assert [(w["id"], w["status"], w["pseudonym"]) for w in response.json()["results"]] == [
        (active.pk, "active", active.pseudonym)]


# --- admin sets a verified level ------------------------------------------------------------


def test_admin_sets_a_verified_level_and_it_is_audited(staff_client, staff, worker):
    profile = _bring_to(profile_of(worker), "active", staff)

    response = staff_client.post(_worker_url(profile.pk, "skills"), {
        "skill": "sql", "level": 85, "reason": "Interview."}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["skills"] == [
        {"skill": "sql", "level": 85, "source": "admin", "verified": True}]
    assert audit_rows(profile)[-1] == ("skill_level_set", staff.pk, "Interview.")


@pytest.mark.parametrize("body, field", [
    ({"skill": "astrology", "level": 50, "reason": "x"}, "skill"),
    ({"skill": "sql", "level": 101, "reason": "x"}, "level"),
    ({"skill": "sql", "level": 50}, "reason"),
])
def test_admin_set_level_with_bad_input_writes_nothing(staff_client, staff, worker, body, field):
    profile = _bring_to(profile_of(worker), "active", staff)
    before = _state(profile)

    response = staff_client.post(_worker_url(profile.pk, "skills"), body, format="json")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]
    assert _state(profile) == before


# --- only staff can vet ---------------------------------------------------------------------


def _admin_calls(application_id: int, worker_id: int) -> list[tuple[str, str, dict]]:
    return [
        ("get", APPLICATIONS + "?status=pending", {}),
        ("post", _application_url(application_id, "approve"),
         {"skills": [{"skill": "sql", "level": 100}], "clearance": "phi"}),
        ("post", _application_url(application_id, "reject"), {"reason": "x"}),
        ("get", WORKERS, {}),
        ("get", _worker_url(worker_id), {}),
        ("post", _worker_url(worker_id, "suspend"), {"reason": "x"}),
        ("post", _worker_url(worker_id, "reinstate"), {"reason": "x"}),
        ("post", _worker_url(worker_id, "ban"), {"reason": "x"}),
        ("post", _worker_url(worker_id, "clearance"), {"clearance": "phi", "reason": "x"}),
        ("post", _worker_url(worker_id, "skills"), {"skill": "sql", "level": 100,
                                                     "reason": "x"}),
        ("post", "/api/v1/admin/exams", {}),
    ]


@pytest.mark.parametrize("persona", ["requester", "other_requester", "worker", "other_worker",
                                     "anonymous"])
def test_only_staff_may_call_admin_endpoints(request, staff, worker, persona):
    # given a worker with a pending application
    from conftest import client_for
    from rest_framework.test import APIClient
    profile = _bring_to(profile_of(worker), "vetting", staff)
    application = WorkerApplication.objects.get(worker=profile)
    users = {
        "requester": lambda: make_requester("r@acme.example", "Acme"),
        "other_requester": lambda: make_requester("r@globex.example", "Globex"),
        "worker": lambda: worker,  # the very worker being vetted
        "other_worker": lambda: make_worker("other@workers.example"),
    }
    client = client_for(users[persona]()) if persona != "anonymous" else APIClient()
    before = _state(profile)

    for method, url, body in _admin_calls(application.pk, profile.pk):
        response = getattr(client, method)(url, body, format="json")
        # then 401 without a token, 403 with any non-staff token, and nothing changes
        expected = 401 if persona == "anonymous" else 403
        assert response.status_code == expected, (url, response.json())
        assert error_code(response) == ("not_authenticated" if persona == "anonymous"
                                        else "permission_denied")
    assert _state(profile) == before


# --- the Django admin ------------------------------------------------------------------------


@pytest.fixture
def admin_site(client, staff):
    client.force_login(staff)
    return client


def test_django_admin_vetting_queue_shows_pending_applications(admin_site, staff, db):
    pending = profile_of(make_worker("p@workers.example"))
    done = profile_of(make_worker("d@workers.example"))
    application_submit(worker=pending, statement="pending one", credentials=[])
    decided = application_submit(worker=done, statement="decided one", credentials=[])
    application_approve(application=decided, actor=staff, skills=[])

    response = admin_site.get("/admin/workers/workerapplication/")

    assert response.status_code == 200
    shown = list(response.context["cl"].queryset)
    assert [a.worker_id for a in shown] == [pending.pk]


def test_django_admin_approve_action_sets_skills_and_clearance_through_the_service(
        admin_site, staff, worker):
    profile = _bring_to(profile_of(worker), "vetting", staff)
    application = WorkerApplication.objects.get(worker=profile)
    before = _state(profile)

    form = admin_site.post("/admin/workers/workerapplication/", {
        "action": "approve", "_selected_action": [application.pk]})

    assert form.status_code == 200
    assert b'name="level"' in form.content and b'name="clearance"' in form.content
    assert _state(profile) == before

    sql = Skill.objects.get(slug="sql")
    response = admin_site.post("/admin/workers/workerapplication/", {
        "action": "approve", "_selected_action": [application.pk], "apply": "Approve",
        "skills": [sql.pk], "level": 75, "clearance": "pii", "note": "Strong sample."})

    assert response.status_code == 302
    profile = profile_of(worker)
    assert (profile.status, profile.clearance) == ("active", "pii")
    assert list(profile.skills.values_list("skill__slug", "level", "source")) == [
        ("sql", 75, "admin")]
    assert [row[0] for row in audit_rows(profile)[-3:]] == [
        "approved", "skill_level_set", "clearance_granted"]
    assert audit_rows(profile)[-3] == ("approved", staff.pk, "Strong sample.")


def test_django_admin_reject_action_asks_for_a_reason_first(admin_site, staff, worker):
    profile = _bring_to(profile_of(worker), "vetting", staff)
    application = WorkerApplication.objects.get(worker=profile)
    before = _state(profile)

    form = admin_site.post("/admin/workers/workerapplication/", {
        "action": "reject", "_selected_action": [application.pk]})

    assert form.status_code == 200
    assert b'name="reason"' in form.content
    assert _state(profile) == before

    admin_site.post("/admin/workers/workerapplication/", {
        "action": "reject", "_selected_action": [application.pk], "apply": "Reject",
        "reason": "Sample failed."})

    assert profile_of(worker).status == "applicant"
    assert audit_rows(profile)[-1] == ("rejected", staff.pk, "Sample failed.")


@pytest.mark.parametrize("action, start, target, audit_action", [
    ("suspend", "active", "suspended", "suspended"),
    ("reinstate", "suspended", "active", "reinstated"),
    ("ban", "vetting", "banned", "banned"),
])
def test_django_admin_standing_actions_are_audited(admin_site, staff, worker, action, start,
                                                   target, audit_action):
    profile = _bring_to(profile_of(worker), start, staff)

    admin_site.post("/admin/workers/workerprofile/", {
        "action": action, "_selected_action": [profile.pk], "apply": action,
        "reason": "Reviewed in admin."})

    assert profile_of(worker).status == target
    assert audit_rows(profile)[-1] == (audit_action, staff.pk, "Reviewed in admin.")


def test_django_admin_illegal_action_changes_nothing(admin_site, staff, worker):
    profile = _bring_to(profile_of(worker), "vetting", staff)
    before = _state(profile)

    response = admin_site.post("/admin/workers/workerprofile/", {
        "action": "suspend", "_selected_action": [profile.pk], "apply": "Suspend",
        "reason": "No."}, follow=True)

    assert response.status_code == 200
    assert "Cannot suspend a worker who is vetting." in response.content.decode()
    assert _state(profile) == before


def test_django_admin_shows_the_audit_log_read_only(admin_site, staff, worker):
    profile = _bring_to(profile_of(worker), "active", staff)
    worker_suspend(worker=profile, actor=staff, reason="Visible reason.")
    event = WorkerAuditEvent.objects.filter(worker=profile, action="suspended").get()

    listing = admin_site.get("/admin/workers/workerauditevent/")
    change_page = admin_site.get(f"/admin/workers/workerprofile/{profile.pk}/change/")
    delete = admin_site.post(f"/admin/workers/workerauditevent/{event.pk}/delete/",
                             {"post": "yes"})

    assert listing.status_code == 200
    assert "Visible reason." in listing.content.decode()
    assert change_page.status_code == 200
    assert "Visible reason." in change_page.content.decode()
    assert delete.status_code == 403
    assert WorkerAuditEvent.objects.filter(pk=event.pk).exists()


# --- Idempotency-Key --------------------------------------------------------------------------


def test_a_retried_application_with_the_same_key_replays_the_first(worker_client, worker):
    body = {"statement": "Retry me.", "credentials": []}

    first = worker_client.post(APPLY, body, format="json", HTTP_IDEMPOTENCY_KEY="apply-1")
    second = worker_client.post(APPLY, body, format="json", HTTP_IDEMPOTENCY_KEY="apply-1")

    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    profile = profile_of(worker)
    assert WorkerApplication.objects.filter(worker=profile).count() == 1
    assert audit_rows(profile) == [("applied", worker.pk, "")]


def test_a_refused_application_is_not_remembered_under_its_key(worker_client, worker):
    refused = worker_client.post(APPLY, {}, format="json", HTTP_IDEMPOTENCY_KEY="apply-2")

    corrected = worker_client.post(APPLY, {"statement": "Fixed."}, format="json",
                                   HTTP_IDEMPOTENCY_KEY="apply-2")

    assert (refused.status_code, corrected.status_code) == (400, 201)
    assert WorkerApplication.objects.filter(worker=profile_of(worker)).count() == 1
