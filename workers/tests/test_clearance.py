"""Clearance for sensitive data (none < confidential < pii < phi): granted by admins, audited,
and only effective once the worker accepted the current confidentiality terms."""
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from config.errors import InvalidInput
from workers.models import WorkerAuditEvent, WorkerProfile
from workers.selectors import allowed_sensitivities
from workers.services import worker_ban, worker_clearance_grant, worker_terms_accept

from .factories import audit_rows, error_code, make_ready_worker, profile_of

ACCEPT = "/api/v1/worker/clearance/accept-terms"


def _clearance_url(worker_id) -> str:
    return f"/api/v1/admin/workers/{worker_id}/clearance"


def _state(worker: WorkerProfile) -> tuple:
    row = WorkerProfile.objects.filter(pk=worker.pk).values(
        "status", "clearance", "terms_version_accepted", "terms_accepted_at").get()
    return row, WorkerAuditEvent.objects.filter(worker=worker).count()


# --- admins grant -----------------------------------------------------------------------------


def test_admin_grants_clearance_and_it_is_audited(staff_client, staff, worker):
    profile = make_ready_worker(worker)

    response = staff_client.post(_clearance_url(profile.pk), {
        "clearance": "phi", "reason": "HIPAA training certificate checked."}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["clearance"] == "phi"
    assert profile_of(worker).clearance == "phi"
    assert audit_rows(profile) == [("clearance_granted", staff.pk,
                                    "HIPAA training certificate checked.")]
    assert WorkerAuditEvent.objects.get(worker=profile).details == {"clearance": "phi",
                                                                    "previous": "none"}


def test_admin_can_lower_a_clearance(staff_client, staff, worker):
    profile = make_ready_worker(worker, clearance="pii")

    response = staff_client.post(_clearance_url(profile.pk), {
        "clearance": "confidential", "reason": "Left the PII programme."}, format="json")

    assert response.status_code == 200
    assert profile_of(worker).clearance == "confidential"
    assert WorkerAuditEvent.objects.get(worker=profile).details == {
        "clearance": "confidential", "previous": "pii"}


@pytest.mark.parametrize("body, field", [
    ({"clearance": "secret", "reason": "x"}, "clearance"),
    ({"reason": "x"}, "clearance"),
    ({"clearance": "pii"}, "reason"),
    ({"clearance": "pii", "reason": ""}, "reason"),
])
def test_grant_with_bad_input_writes_nothing(staff_client, worker, body, field):
    profile = make_ready_worker(worker)
    before = _state(profile)

    response = staff_client.post(_clearance_url(profile.pk), body, format="json")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]
    assert _state(profile) == before


def test_service_refuses_a_blank_reason(staff, worker):
    profile = make_ready_worker(worker)
    before = _state(profile)

    with pytest.raises(InvalidInput) as raised:
        worker_clearance_grant(worker=profile, actor=staff, clearance="pii", reason="  ")

    assert raised.value.fields == {"reason": ["This field is required."]}
    assert _state(profile) == before


def test_a_banned_worker_cannot_be_cleared(staff_client, staff, worker):
    profile = make_ready_worker(worker)
    worker_ban(worker=profile, actor=staff, reason="Fraud.")
    before = _state(profile)

    response = staff_client.post(_clearance_url(profile.pk), {
        "clearance": "pii", "reason": "Oops."}, format="json")

    assert response.status_code == 409
    assert error_code(response) == "illegal_transition"
    assert _state(profile) == before


def test_clearance_of_unknown_worker_is_404(staff_client):
    response = staff_client.post(_clearance_url(999_999), {"clearance": "pii", "reason": "x"},
                                 format="json")

    assert response.status_code == 404


def test_worker_cannot_grant_itself_clearance(worker_client, worker):
    profile = make_ready_worker(worker)
    before = _state(profile)

    assert worker_client.post(_clearance_url(profile.pk), {
        "clearance": "phi", "reason": "Trust me."}, format="json").status_code == 403
    assert worker_client.patch("/api/v1/worker/profile", {"clearance": "phi"},
                               format="json").status_code == 400
    assert _state(profile) == before


# --- the worker accepts the terms -------------------------------------------------------------


def test_worker_accepts_the_current_terms_and_time_and_version_are_recorded(worker_client,
                                                                            worker):
    profile = make_ready_worker(worker, clearance="pii")
    started = timezone.now()

    response = worker_client.post(ACCEPT, {"version": "2026-01"}, format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["terms_version_accepted"],
            response.json()["terms_current_version"]) == ("2026-01", "2026-01")
    profile.refresh_from_db()
    assert profile.terms_version_accepted == "2026-01"
    assert started <= profile.terms_accepted_at <= timezone.now()
    assert audit_rows(profile) == [("terms_accepted", worker.pk, "")]
    assert WorkerAuditEvent.objects.get(worker=profile).details == {"version": "2026-01"}


@pytest.mark.parametrize("body", [{"version": "2025-06"}, {"version": ""}, {}])
def test_accepting_another_version_is_refused(worker_client, worker, body):
    profile = make_ready_worker(worker, clearance="pii")
    before = _state(profile)

    response = worker_client.post(ACCEPT, body, format="json")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["version"]
    assert _state(profile) == before


def test_accept_terms_is_for_workers(requester_client, staff_client, api_client, db):
    assert requester_client.post(ACCEPT, {"version": "2026-01"}, format="json").status_code == 403
    assert staff_client.post(ACCEPT, {"version": "2026-01"}, format="json").status_code == 403
    assert api_client.post(ACCEPT, {"version": "2026-01"}, format="json").status_code == 401


# --- what a clearance opens -------------------------------------------------------------------


@pytest.mark.parametrize("clearance, terms, opens", [
    ("none", False, ["public"]),
    ("none", True, ["public"]),
    ("confidential", False, ["public"]),
    ("confidential", True, ["public", "confidential"]),
    ("pii", False, ["public"]),
    ("pii", True, ["public", "confidential", "pii"]),
    ("phi", False, ["public"]),
    ("phi", True, ["public", "confidential", "pii", "phi"]),
])
def test_clearance_opens_levels_up_to_itself_only_with_accepted_terms(worker, clearance, terms,
                                                                      opens):
    profile = make_ready_worker(worker, clearance=clearance, terms=terms)

    assert allowed_sensitivities(worker=profile) == opens


def test_new_terms_version_closes_sensitive_work_until_accepted_again(worker):
    profile = make_ready_worker(worker, clearance="phi", terms=True)

    with override_settings(CONFIDENTIALITY_TERMS_VERSION="2027-01"):
        assert allowed_sensitivities(worker=profile) == ["public"]
        worker_terms_accept(worker=profile, version="2027-01")
        profile.refresh_from_db()
        assert allowed_sensitivities(worker=profile) == ["public", "confidential", "pii", "phi"]
    assert profile.terms_accepted_at > timezone.now() - timedelta(minutes=1)
