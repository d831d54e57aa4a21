"""Shared by the console tests: a launched project with gold, worked by test workers
through the API (claim, submit), so every page has something to show."""
import pytest

from conftest import client_for, make_worker
from web.tests.conftest import launch
from workers.tests.factories import make_ready_worker

GOLD_TEXT = "GOLD: I love it"


def ready_worker(email: str):
    user = make_worker(email)
    make_ready_worker(user, skills={"sentiment-en": 90})
    return user


def work_once(worker_user, project, *, gold_answer: str, answer: str = "positive") -> int | None:
    """Claim one task of ``project`` through the API and submit: ``gold_answer`` for the
    gold item (recognised by its text, as a test may), ``answer`` for the rest."""
    client = client_for(worker_user)
    claimed = client.post("/api/v1/worker/tasks/next", {"project_id": project.pk},
                          format="json")
    if claimed.status_code == 204:
        return None
    assert claimed.status_code == 200, claimed.content
    body = claimed.json()
    answers = [{"item_id": item["id"],
                "value": gold_answer if item["data"].get("text") == GOLD_TEXT else answer}
               for item in body["items"]]
    submitted = client.post(f"/api/v1/worker/assignments/{body['assignment_id']}/submit",
                            {"answers": answers}, format="json")
    assert submitted.status_code == 200, submitted.content
    return body["assignment_id"]


@pytest.fixture
def worked_project(requester, django_capture_on_commit_callbacks):
    """4 single-choice items (one per task), overlap 2, one gold item served with every
    task; worker A gets the gold right, worker B misses it. Everything is submitted."""
    project = launch(requester, "single_choice", items=4, overlap=2, gold_per_task=1,
                     gold=[({"text": GOLD_TEXT}, "positive")], name="Reviews")
    good, sloppy = ready_worker("ana@workers.example"), ready_worker("ben@workers.example")
    # Gold is served once per worker: each takes one task. Grading and aggregation run
    # after commit (eager Celery): run them as the commit would.
    with django_capture_on_commit_callbacks(execute=True):
        work_once(good, project, gold_answer="positive")
    with django_capture_on_commit_callbacks(execute=True):
        work_once(sloppy, project, gold_answer="negative", answer="negative")
    project.refresh_from_db()
    return project
