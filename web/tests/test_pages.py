"""The worker pages through Django's test client: who may see what, forms, and the JSON
endpoints of the labeling page (same error shape as the API)."""
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from conftest import PASSWORD, make_worker
from marketplace.enums import AssignmentStatus
from marketplace.models import Answer, Assignment
from workers.enums import WorkerStatus
from workers.models import WorkerApplication
from workers.tests.factories import make_ready_worker, profile_of

from .conftest import TASK_TYPES, launch

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready_worker(db):
    user = make_worker("dana@workers.example")
    make_ready_worker(user, skills={"sentiment-en": 90})
    return user


def signed_in(client, user):
    client.force_login(user)
    return client


def test_home_redirects_to_login_when_signed_out(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"


def test_signup_creates_a_worker_and_signs_in(client):
    response = client.post("/signup/", {"email": "New@Workers.example",
                                        "password": "a-long-passphrase"})
    assert response.status_code == 302 and response["Location"] == "/apply/"
    user = User.objects.get(email="new@workers.example")
    assert user.worker_profile.status == WorkerStatus.APPLICANT
    assert client.get("/").status_code == 200


def test_signup_shows_the_service_message_and_creates_nothing(client, ready_worker):
    response = client.post("/signup/", {"email": "dana@workers.example",
                                        "password": "a-long-passphrase"})
    assert response.status_code == 200
    assert "An account with this email already exists." in response.content.decode()
    assert User.objects.get(email="dana@workers.example").pk == ready_worker.pk


def test_login_with_wrong_password_is_refused(client, ready_worker):
    response = client.post("/login/", {"email": "dana@workers.example", "password": "nope"})
    assert response.status_code == 200
    assert "Wrong email or password." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_login_then_next(client, ready_worker):
    response = client.post("/login/?next=/exams/", {"email": "dana@workers.example",
                                                    "password": PASSWORD})
    assert response["Location"] == "/exams/"


def test_apply_sends_an_application_with_claims_and_terms(client, db):
    user = make_worker("new@workers.example")
    signed_in(client, user)
    response = client.post("/apply/", {
        "full_name": "Dana Doe", "domains": ["languages"], "skills": ["sentiment-en"],
        "self_level": "90", "statement": "Ten years of reviews.",
        "credentials": "MA Linguistics\nhttps://example.org/cv", "accept_terms": "on"})
    assert response.status_code == 302
    worker = profile_of(user)
    application = WorkerApplication.objects.get(worker=worker)
    assert (application.statement, application.credentials) == (
        "Ten years of reviews.", ["MA Linguistics", "https://example.org/cv"])
    assert worker.status == WorkerStatus.VETTING
    assert worker.terms_version_accepted != ""
    assert list(worker.skills.values_list("skill__slug", "level", "source")) == [
        ("sentiment-en", 90, "claimed")]
    page = client.get("/").content.decode()
    assert "Your application is being reviewed." in page


def test_apply_without_statement_changes_nothing(client, db):
    user = make_worker("new@workers.example")
    signed_in(client, user)
    response = client.post("/apply/", {"skills": ["sentiment-en"], "self_level": "60",
                                       "statement": ""})
    assert response.status_code == 200
    assert WorkerApplication.objects.count() == 0
    assert profile_of(user).skills.count() == 0


def test_requesters_are_told_the_app_is_for_workers(client, requester):
    signed_in(client, requester)
    response = client.get("/")
    assert response.status_code == 403
    assert "This app is for workers" in response.content.decode()


def test_home_lists_eligible_projects_with_pay(client, requester, ready_worker):
    launch(requester, "single_choice", name="Reviews", reward_cents=25)
    page = signed_in(client, ready_worker).get("/").content.decode()
    assert "Reviews" in page
    assert "$0.25 per task" in page
    assert "Start working" in page


def test_home_explains_why_there_is_no_work(client, requester, ready_worker):
    page = signed_in(client, ready_worker).get("/").content.decode()
    assert "No active project matches your verified skills" in page


def start(client, project):
    response = client.post("/work/start", {"project_id": project.pk})
    assert response.status_code == 302, response
    return Assignment.objects.get(pk=int(response["Location"].strip("/").split("/")[-1]))


def test_submit_validates_with_the_servers_messages(client, requester, ready_worker):
    project = launch(requester, "rating", items=1)
    signed_in(client, ready_worker)
    assignment = start(client, project)
    answer_id = Answer.objects.get(assignment=assignment).pk

    response = client.post(f"/work/{assignment.pk}/submit",
                           json.dumps({"answers": [{"item_id": answer_id, "value": 9}]}),
                           content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "answers.0.value": ["Must be an integer from 1 to 5."]}
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.ASSIGNED
    assert Answer.objects.get(pk=answer_id).value is None


def test_submit_returns_the_next_task_fragment(client, requester, ready_worker):
    project = launch(requester, "single_choice", items=2)
    signed_in(client, ready_worker)
    first = start(client, project)
    answer_id = Answer.objects.get(assignment=first).pk

    response = client.post(f"/work/{first.pk}/submit",
                           json.dumps({"answers": [{"item_id": answer_id,
                                                    "value": "positive"}]}),
                           content_type="application/json")

    body = response.json()
    second = Assignment.objects.exclude(pk=first.pk).get(worker=profile_of(ready_worker))
    assert body["status"] == "submitted"
    assert body["next"]["assignment_id"] == second.pk
    assert body["next"]["url"] == f"/work/{second.pk}/"
    assert f'data-item-id="{Answer.objects.get(assignment=second).pk}"' in body["next"]["html"]


def test_submit_after_expiry_is_409_and_the_page_says_closed(client, requester, ready_worker):
    project = launch(requester, "single_choice")
    signed_in(client, ready_worker)
    assignment = start(client, project)
    Assignment.objects.filter(pk=assignment.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1))
    answer_id = Answer.objects.get(assignment=assignment).pk

    response = client.post(f"/work/{assignment.pk}/submit",
                           json.dumps({"answers": [{"item_id": answer_id,
                                                    "value": "positive"}]}),
                           content_type="application/json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "assignment_expired"
    assert "Your lease on this task expired" in client.get(
        f"/work/{assignment.pk}/").content.decode()


def test_another_workers_assignment_is_404(client, requester, ready_worker):
    project = launch(requester, "single_choice")
    other = make_worker("eve@workers.example")
    make_ready_worker(other, skills={"sentiment-en": 90})
    signed_in(client, other)
    theirs = start(client, project)
    client.logout()
    signed_in(client, ready_worker)

    assert client.get(f"/work/{theirs.pk}/").status_code == 404
    assert client.post(f"/work/{theirs.pk}/return").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == AssignmentStatus.ASSIGNED
    heartbeat = client.post(f"/work/{theirs.pk}/heartbeat")
    assert heartbeat.status_code == 404


def test_return_gives_the_task_back(client, requester, ready_worker):
    project = launch(requester, "single_choice")
    signed_in(client, ready_worker)
    assignment = start(client, project)

    response = client.post(f"/work/{assignment.pk}/return", follow=True)

    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.RETURNED
    assert "Task returned." in response.content.decode()


def test_every_task_type_renders_and_gold_is_not_identifiable(client, requester, ready_worker):
    for task_type, (config, data, answer) in TASK_TYPES.items():
        project = launch(requester, task_type, gold_per_task=1, gold=[(data, answer)])
        assignment = start(signed_in(client, ready_worker), project)
        page = client.get(f"/work/{assignment.pk}/").content.decode()
        served = list(Answer.objects.filter(assignment=assignment).order_by("position"))
        assert [a.is_gold for a in served].count(True) == 1
        # Items are named by their answer slot, never by the item (whose id or external
        # id could be matched against the gold set).
        for answer_row in served:
            assert f'data-item-id="{answer_row.pk}"' in page
        assert "gold" not in page.lower()
        client.post(f"/work/{assignment.pk}/return")


def test_data_export_downloads_json(client, ready_worker):
    response = signed_in(client, ready_worker).get("/my-work/data-export")
    assert response["Content-Disposition"] == 'attachment; filename="quorum-my-data.json"'
    assert json.loads(response.content)["account"]["email"] == "dana@workers.example"


def test_erase_needs_confirmation(client, ready_worker):
    signed_in(client, ready_worker)
    response = client.post("/my-work/erase", {"confirm": "yes"})
    assert response.status_code == 200
    assert profile_of(ready_worker).erased_at is None
    response = client.post("/my-work/erase", {"confirm": "ERASE"})
    assert response["Location"] == "/login/"
    assert profile_of(ready_worker).erased_at is not None


def test_my_work_page_renders(client, ready_worker):
    page = signed_in(client, ready_worker).get("/my-work/").content.decode()
    assert "Earnings" in page and "$0.00" in page


def test_security_headers_and_csp(client, ready_worker):
    response = signed_in(client, ready_worker).get("/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"


def test_api_docs_are_self_hosted(client):
    page = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
    redoc = client.get("/api/redoc/")
    assert "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js" in \
        redoc.content.decode()


def test_seed_demo_bbox_project_is_open_to_the_demo_worker(client):
    import base64
    import io

    from django.core.management import call_command

    from marketplace.models import Item, Project
    from web.demo import PROJECT_NAME

    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "Worker app: http://127.0.0.1:8000/  sign in as ana@workers.example" in \
        out.getvalue()
    project = Project.objects.get(name=PROJECT_NAME)
    assert (project.status, project.task_type) == ("active", "bbox")
    items = list(Item.objects.filter(project=project))
    assert (sum(not i.is_gold for i in items), sum(i.is_gold for i in items)) == (40, 10)
    image = items[0].data["image"]
    assert image.startswith("data:image/svg+xml;base64,")
    assert base64.b64decode(image.split(",", 1)[1]).startswith(b"<svg")
    signed_in(client, User.objects.get(email="ana@workers.example"))
    page = client.get("/").content.decode()
    assert PROJECT_NAME in page


def test_admin_and_docs_static_files_are_served_by_whitenoise(client):
    assert client.get("/static/admin/css/base.css").status_code == 200
    assert client.get(
        "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"
    ).status_code == 200
    assert client.get("/static/web/js/labeling.js")["Content-Type"].startswith(
        "text/javascript")


def test_my_work_shows_gold_feedback_and_a_rejection_can_be_disputed(
        client, requester, ready_worker, django_capture_on_commit_callbacks):
    from flows.decisions import reject
    from qa.models import Dispute

    project = launch(requester, "single_choice", gold_per_task=1,
                     gold=[({"text": "Works perfectly."}, "positive")])
    signed_in(client, ready_worker)
    assignment = start(client, project)
    answers = [{"item_id": pk, "value": "negative"}
               for pk in Answer.objects.filter(assignment=assignment).values_list("pk", flat=True)]
    with django_capture_on_commit_callbacks(execute=True):  # grading runs after commit
        response = client.post(f"/work/{assignment.pk}/submit",
                               json.dumps({"answers": answers}),
                               content_type="application/json")
    assert response.status_code == 200, response.content
    assignment.refresh_from_db()
    reject(assignment_id=assignment.pk, actor=requester, reason="Gold missed")

    page = client.get("/my-work/").content.decode()
    assert "you answered <code>negative</code>, expected <code>positive</code>" in page
    assert "Reviewer's reason: Gold missed" in page

    refused = client.post("/my-work/disputes", {"assignment_id": assignment.pk,
                                                "message": "  "}, follow=True)
    assert Dispute.objects.count() == 0
    assert "This field is required." in refused.content.decode()
    client.post("/my-work/disputes", {"assignment_id": assignment.pk,
                                      "message": "The review was positive."})
    dispute = Dispute.objects.get()
    assert (dispute.assignment_id, dispute.message, dispute.status) == (
        assignment.pk, "The review was positive.", "open")
    assert "Dispute: Open" in client.get("/my-work/").content.decode()


def test_home_lists_only_projects_with_a_task_left_for_the_worker(client, requester,
                                                                  ready_worker):
    launch(requester, "single_choice", name="Open reviews")
    full = launch(requester, "single_choice", name="Taken reviews")
    other = make_worker("eve@workers.example")
    make_ready_worker(other, skills={"sentiment-en": 90})
    start(signed_in(client, other), full)
    client.logout()

    page = signed_in(client, ready_worker).get("/").content.decode()

    assert "Open reviews" in page
    assert "Taken reviews" not in page
