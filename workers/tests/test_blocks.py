"""POST /projects/{id}/blocks: a requester organization blocks a worker it knows by a
per-project pseudonym; the block is stored per organization and routing honours it on every
project of that organization, and only there."""
import pytest
from conftest import client_for, make_requester

from marketplace.services import worker_pseudonym_for
from workers.models import WorkerAuditEvent, WorkerBlock
from workers.selectors import eligible_projects

from .factories import audit_rows, error_code, make_project, make_ready_worker


def _blocks_url(project_id) -> str:
    return f"/api/v1/projects/{project_id}/blocks"


@pytest.fixture
def active_worker(worker):
    return make_ready_worker(worker, skills={"sentiment-en": 80})


@pytest.fixture
def acme_project(requester):
    return make_project(requester, name="Acme reviews")


def _nothing_written() -> tuple:
    return WorkerBlock.objects.count(), WorkerAuditEvent.objects.count()


def test_requester_blocks_a_worker_by_its_pseudonym(requester_client, requester, active_worker,
                                                    acme_project):
    pseudonym = worker_pseudonym_for(project=acme_project, worker=active_worker)

    response = requester_client.post(_blocks_url(acme_project.pk), {
        "worker_id": pseudonym, "reason": "Copy-pasted answers."}, format="json")

    assert response.status_code == 201, response.json()
    block = WorkerBlock.objects.get()
    assert response.json() == {"id": block.pk, "worker_id": pseudonym,
                               "reason": "Copy-pasted answers.", "project_id": acme_project.pk,
                               "created_at": response.json()["created_at"]}
    assert (block.organization, block.worker, block.pseudonym, block.project,
            block.created_by) == (requester.membership.organization, active_worker, pseudonym,
                                  acme_project, requester)
    assert audit_rows(active_worker) == [("blocked", requester.pk, "Copy-pasted answers.")]
    assert WorkerAuditEvent.objects.get().details == {
        "organization_id": requester.membership.organization.pk,
        "project_id": acme_project.pk}


def test_the_response_never_reveals_the_worker_id(requester_client, active_worker, acme_project):
    pseudonym = worker_pseudonym_for(project=acme_project, worker=active_worker)

    response = requester_client.post(_blocks_url(acme_project.pk), {
        "worker_id": pseudonym, "reason": "Spam."}, format="json")
    listing = requester_client.get(_blocks_url(acme_project.pk))

    for body in (response.json(), listing.json()["results"][0]):
        assert body["worker_id"] == pseudonym
        assert active_worker.pseudonym not in str(body)
        assert str(active_worker.pk) != body["worker_id"]


def test_blocking_twice_is_409(requester_client, requester, active_worker, acme_project):
    pseudonym = worker_pseudonym_for(project=acme_project, worker=active_worker)
    requester_client.post(_blocks_url(acme_project.pk), {"worker_id": pseudonym,
                                                         "reason": "Spam."}, format="json")
    before = _nothing_written()

    response = requester_client.post(_blocks_url(acme_project.pk), {
        "worker_id": pseudonym, "reason": "Spam again."}, format="json")

    assert response.status_code == 409
    assert error_code(response) == "already_blocked"
    assert _nothing_written() == before


def test_blocking_again_from_another_project_of_the_organization_is_409(
        requester_client, requester, active_worker, acme_project):
    second = make_project(requester, name="Acme tweets")
    requester_client.post(_blocks_url(acme_project.pk), {
        "worker_id": worker_pseudonym_for(project=acme_project, worker=active_worker),
        "reason": "Spam."}, format="json")
    before = _nothing_written()

    response = requester_client.post(_blocks_url(second.pk), {
        "worker_id": worker_pseudonym_for(project=second, worker=active_worker),
        "reason": "Spam."}, format="json")

    assert response.status_code == 409
    assert error_code(response) == "already_blocked"
    assert _nothing_written() == before


@pytest.mark.parametrize("which", ["made_up", "other_project", "worker_id", "global_pseudonym"])
def test_unknown_pseudonym_is_400(requester_client, requester, active_worker, acme_project,
                                  which):
    other_project = make_project(requester, name="Acme tweets")
    worker_ids = {
        "made_up": lambda: "w_0000000000000000",
        # Pseudonyms are per project: one from another project names nobody here.
        "other_project": lambda: worker_pseudonym_for(project=other_project,
                                                      worker=active_worker),
        "worker_id": lambda: str(active_worker.pk),
        "global_pseudonym": lambda: active_worker.pseudonym,
    }
    worker_id = worker_ids[which]()
    before = _nothing_written()

    response = requester_client.post(_blocks_url(acme_project.pk), {
        "worker_id": worker_id, "reason": "Spam."}, format="json")

    assert response.status_code == 400
    assert error_code(response) == "unknown_worker"
    assert list(response.json()["error"]["fields"]) == ["worker_id"]
    assert _nothing_written() == before


@pytest.mark.parametrize("body, field", [
    ({"reason": "Spam."}, "worker_id"),
    ({"worker_id": "PSEUDONYM"}, "reason"),
    ({"worker_id": "PSEUDONYM", "reason": ""}, "reason"),
    ({"worker_id": "PSEUDONYM", "reason": "   "}, "reason"),
])
def test_block_needs_a_worker_and_a_reason(requester_client, active_worker, acme_project, body,
                                           field):
    pseudonym = worker_pseudonym_for(project=acme_project, worker=active_worker)
    body = {name: (pseudonym if value == "PSEUDONYM" else value) for name, value in body.items()}
    before = _nothing_written()

    response = requester_client.post(_blocks_url(acme_project.pk), body, format="json")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]
    assert _nothing_written() == before


def test_another_organization_gets_404_for_the_project(other_requester_client, active_worker,
                                                       acme_project):
    pseudonym = worker_pseudonym_for(project=acme_project, worker=active_worker)
    before = _nothing_written()

    post = other_requester_client.post(_blocks_url(acme_project.pk), {
        "worker_id": pseudonym, "reason": "Spam."}, format="json")
    listing = other_requester_client.get(_blocks_url(acme_project.pk))
    delete = other_requester_client.delete(f"{_blocks_url(acme_project.pk)}/{pseudonym}")

    assert (post.status_code, listing.status_code, delete.status_code) == (404, 404, 404)
    assert _nothing_written() == before


def test_blocks_are_for_requesters(worker_client, staff_client, api_client, active_worker,
                                   acme_project):
    pseudonym = worker_pseudonym_for(project=acme_project, worker=active_worker)
    body = {"worker_id": pseudonym, "reason": "Spam."}

    assert worker_client.post(_blocks_url(acme_project.pk), body,
                              format="json").status_code == 403
    assert staff_client.post(_blocks_url(acme_project.pk), body, format="json").status_code == 403
    assert api_client.post(_blocks_url(acme_project.pk), body, format="json").status_code == 401
    assert _nothing_written() == (0, 0)


def test_idempotency_key_replays_the_first_block(requester_client, active_worker, acme_project):
    body = {"worker_id": worker_pseudonym_for(project=acme_project, worker=active_worker),
            "reason": "Spam."}

    first = requester_client.post(_blocks_url(acme_project.pk), body, format="json",
                                  HTTP_IDEMPOTENCY_KEY="block-1")
    second = requester_client.post(_blocks_url(acme_project.pk), body, format="json",
                                   HTTP_IDEMPOTENCY_KEY="block-1")

    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == first.json()
    assert _nothing_written() == (1, 1)


# --- routing honours it -------------------------------------------------------------------


def test_blocked_worker_gets_no_project_of_that_organization_but_keeps_others(
        requester_client, requester, other_requester, active_worker, acme_project):
    acme_second = make_project(requester, name="Acme tweets")
    globex = make_project(other_requester, name="Globex reviews")
    assert {p.pk for p in eligible_projects(worker=active_worker)} == {
        acme_project.pk, acme_second.pk, globex.pk}

    requester_client.post(_blocks_url(acme_project.pk), {
        "worker_id": worker_pseudonym_for(project=acme_project, worker=active_worker),
        "reason": "Spam."}, format="json")

    assert [p.pk for p in eligible_projects(worker=active_worker)] == [globex.pk]
    # A project the organization launches later is covered as well.
    make_project(requester, name="Acme later")
    assert [p.pk for p in eligible_projects(worker=active_worker)] == [globex.pk]


def test_the_block_only_affects_the_blocked_worker(requester_client, requester, active_worker,
                                                   acme_project):
    from conftest import make_worker
    bystander = make_ready_worker(make_worker("dana@workers.example"),
                                  skills={"sentiment-en": 80})

    requester_client.post(_blocks_url(acme_project.pk), {
        "worker_id": worker_pseudonym_for(project=acme_project, worker=active_worker),
        "reason": "Spam."}, format="json")

    assert list(eligible_projects(worker=bystander)) == [acme_project]


def test_each_organization_blocks_independently(requester_client, other_requester_client,
                                                requester, other_requester, active_worker,
                                                acme_project):
    globex = make_project(other_requester, name="Globex reviews")
    for client, project in ((requester_client, acme_project), (other_requester_client, globex)):
        response = client.post(_blocks_url(project.pk), {
            "worker_id": worker_pseudonym_for(project=project, worker=active_worker),
            "reason": "Spam."}, format="json")
        assert response.status_code == 201

    assert sorted(WorkerBlock.objects.values_list("organization_id", flat=True)) == sorted(
        [requester.membership.organization.pk, other_requester.membership.organization.pk])
    assert list(eligible_projects(worker=active_worker)) == []


def test_requester_lists_its_organizations_blocks(requester_client, other_requester_client,
                                                  requester, other_requester, active_worker,
                                                  acme_project):
    globex = make_project(other_requester, name="Globex reviews")
    pseudonym = worker_pseudonym_for(project=acme_project, worker=active_worker)
    requester_client.post(_blocks_url(acme_project.pk), {"worker_id": pseudonym,
                                                         "reason": "Spam."}, format="json")
    other_requester_client.post(_blocks_url(globex.pk), {
        "worker_id": worker_pseudonym_for(project=globex, worker=active_worker),
        "reason": "Slow."}, format="json")
    acme_second = make_project(requester, name="Acme tweets")

    response = requester_client.get(_blocks_url(acme_second.pk))

    assert response.status_code == 200
    assert [(b["worker_id"], b["reason"], b["project_id"])
            for b in response.json()["results"]] == [
        (pseudonym, "Spam.", acme_project.pk)]


def test_unblocking_restores_eligibility_and_is_audited(requester_client, requester,
                                                        active_worker, acme_project):
    pseudonym = worker_pseudonym_for(project=acme_project, worker=active_worker)
    requester_client.post(_blocks_url(acme_project.pk), {"worker_id": pseudonym,
                                                         "reason": "Spam."}, format="json")

    response = requester_client.delete(f"{_blocks_url(acme_project.pk)}/{pseudonym}")

    assert response.status_code == 204
    assert WorkerBlock.objects.count() == 0
    assert list(eligible_projects(worker=active_worker)) == [acme_project]
    assert audit_rows(active_worker) == [("blocked", requester.pk, "Spam."),
                                         ("unblocked", requester.pk, "")]


def test_unblocking_a_worker_who_is_not_blocked_is_400(requester_client, active_worker,
                                                       acme_project):
    pseudonym = worker_pseudonym_for(project=acme_project, worker=active_worker)

    response = requester_client.delete(f"{_blocks_url(acme_project.pk)}/{pseudonym}")

    assert response.status_code == 400
    assert error_code(response) == "not_blocked"
    assert _nothing_written() == (0, 0)


def test_a_colleague_in_the_organization_may_block_too(requester, active_worker, acme_project):
    from marketplace.models import Membership
    colleague = make_requester("dave@other.example", "Throwaway")
    Membership.objects.filter(user=colleague).update(
        organization=requester.membership.organization)

    response = client_for(colleague).post(_blocks_url(acme_project.pk), {
        "worker_id": worker_pseudonym_for(project=acme_project, worker=active_worker),
        "reason": "Spam."}, format="json")

    assert response.status_code == 201
    assert WorkerBlock.objects.get().created_by == colleague
