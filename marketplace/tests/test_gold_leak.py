"""A worker never learns which served items are gold, nor any expected answer, nor other
workers' answers (DESIGN.md invariants). The responses are scanned as raw JSON text, so a
leak through any field, present or future, fails these tests."""
import json

from conftest import client_for, fund_organization, make_worker
from marketplace.models import Answer, Assignment, Item
from marketplace.services import (
    assignment_claim,
    items_import,
    project_create,
)
from marketplace.uploads import UploadRow
from workers.tests.factories import make_ready_worker, project_fields
from flows import projects as projects_flow
from flows import work

NEXT = "/api/v1/worker/tasks/next"
MY_ASSIGNMENTS = "/api/v1/worker/assignments"
# Words that would give gold away; none may appear in what a worker is served.
TELLTALE_WORDS = ("gold", "is_gold", "expected", "correct", "answer")


# --- helpers -----------------------------------------------------------------------------

def text_project(requester, *, tasks: int, gold_answers: list[str], **overrides):
    """A free-text project: gold answers are unique strings, easy to scan for."""
    fields = project_fields(task_type="text", label_config={"max_length": 200},
                            instructions="Summarise each review in a few words.",
                            **overrides)
    return launched(requester, fields, tasks=tasks, gold=[
        ({"text": f"Review {index}: it broke on day two."}, answer)
        for index, answer in enumerate(gold_answers)])


def launched(requester, fields: dict, *, tasks: int, gold: list[tuple]):
    project = project_create(organization=requester.membership.organization, actor=requester,
                             fields=fields)
    items_import(project=project, actor=requester, is_gold=False, rows=[
        UploadRow(row=i + 1, external_id=None, data={"text": f"Review {1000 + i}: fine."},
                  answer=None, has_answer=False)
        for i in range(tasks * fields["items_per_task"])])
    if gold:
        items_import(project=project, actor=requester, is_gold=True, rows=[
            UploadRow(row=i + 1, external_id=None, data=data, answer=answer, has_answer=True)
            for i, (data, answer) in enumerate(gold)])
    fund_organization(requester)
    projects_flow.launch(project=project, actor=requester)
    project.refresh_from_db()
    return project


def eligible(email: str):
    user = make_worker(email)
    return make_ready_worker(user, skills={"sentiment-en": 90}), client_for(user)


def assert_no_leak(text: str, secrets) -> None:
    lowered = text.lower()
    for word in TELLTALE_WORDS:
        assert word not in lowered, f"{word!r} in {text}"
    for secret in secrets:
        assert secret.lower() not in lowered, f"{secret!r} in {text}"


def gold_positions(assignment: Assignment) -> list[int]:
    return list(Answer.objects.filter(assignment=assignment, is_gold=True)
                .order_by("position").values_list("position", flat=True))


def submit_every_item(assignment: Assignment, worker, value) -> None:
    work.submit(assignment_id=assignment.pk, worker=worker, answers=[
        {"item_id": pk, "value": value}
        for pk in Answer.objects.filter(assignment=assignment).values_list("pk", flat=True)])


# --- the served task ---------------------------------------------------------------------

def test_next_task_json_has_no_gold_flag_and_no_gold_answer(requester):
    secrets = [f"hidden-expected-summary-{index}" for index in range(4)]
    text_project(requester, tasks=3, gold_answers=secrets, gold_per_task=2)
    worker, client = eligible("dana@workers.example")

    first = client.post(NEXT, {}, format="json")
    again = client.post(NEXT, {}, format="json")  # the resumed lease, same body

    assert first.status_code == 200
    assert_no_leak(first.content.decode(), secrets)
    assert_no_leak(again.content.decode(), secrets)
    body = first.json()
    assert len(body["items"]) == 4  # 2 items + 2 gold, all alike
    assert all(set(item) == {"id", "data"} for item in body["items"])
    assert all(set(item["data"]) == {"text"} for item in body["items"])
    assert not [name for name in body["project"] if "gold" in name or "overlap" in name]
    assert len(gold_positions(Assignment.objects.get(pk=body["assignment_id"]))) == 2


def test_the_items_of_a_choice_task_never_carry_the_expected_choice(requester):
    fields = project_fields(gold_per_task=1, items_per_task=2)
    launched(requester, fields, tasks=1, gold=[({"text": "Review 7: wonderful"}, "positive")])
    _, client = eligible("dana@workers.example")

    body = client.post(NEXT, {}, format="json").json()

    # The choices themselves are in label_config; the items must not name any of them.
    items_text = json.dumps(body["items"]).lower()
    for choice in ("positive", "negative", "neutral"):
        assert choice not in items_text
    assert_no_leak(items_text, [])


def test_heartbeat_detail_and_submit_responses_do_not_leak_gold(requester):
    secrets = ["hidden-expected-a", "hidden-expected-b"]
    text_project(requester, tasks=1, gold_answers=secrets, gold_per_task=2)
    _, client = eligible("dana@workers.example")
    served = client.post(NEXT, {}, format="json").json()
    assignment_id = served["assignment_id"]

    heartbeat = client.post(f"{MY_ASSIGNMENTS}/{assignment_id}/heartbeat")
    detail = client.get(f"{MY_ASSIGNMENTS}/{assignment_id}")
    submitted = client.post(f"{MY_ASSIGNMENTS}/{assignment_id}/submit", {"answers": [
        {"item_id": item["id"], "value": "it broke"} for item in served["items"]]},
        format="json")

    assert_no_leak(heartbeat.content.decode(), secrets)
    assert_no_leak(submitted.content.decode(), secrets)
    # The detail carries the contract's (empty, ungraded) gold_feedback key; the rest of
    # it - items included - must not tell gold apart.
    detail_body = detail.json()
    assert detail_body["gold_feedback"] == []
    assert detail_body["items"] == served["items"]
    detail_body.pop("gold_feedback")
    assert_no_leak(json.dumps(detail_body), secrets)


def test_gold_answered_correctly_is_never_pointed_out(requester,
                                                      django_capture_on_commit_callbacks):
    text_project(requester, tasks=1, gold_answers=["it broke"], gold_per_task=1)
    _, client = eligible("dana@workers.example")
    served = client.post(NEXT, {}, format="json").json()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"{MY_ASSIGNMENTS}/{served['assignment_id']}/submit", {"answers": [
            {"item_id": item["id"], "value": "it broke"} for item in served["items"]]},
            format="json")

    listed = client.get(MY_ASSIGNMENTS).json()["results"][0]
    assert listed["graded"] is True
    assert listed["gold_feedback"] == []


def test_other_workers_answers_are_never_served(requester):
    project = text_project(requester, tasks=1, gold_answers=[], overlap=2)
    first_worker, _ = eligible("erin@workers.example")
    submit_every_item(assignment_claim(worker=first_worker), first_worker,
                      "erins-private-summary")
    _, client = eligible("dana@workers.example")

    response = client.post(NEXT, {}, format="json")

    assert response.json()["project"]["id"] == project.pk
    assert_no_leak(response.content.decode(), ["erins-private-summary"])


# --- ids and positions -------------------------------------------------------------------

def test_item_ids_are_answer_slots_numbered_in_served_order(requester):
    text_project(requester, tasks=2, gold_answers=["x-1", "x-2", "x-3"], gold_per_task=2)
    _, client = eligible("dana@workers.example")

    body = client.post(NEXT, {}, format="json").json()

    ids = [item["id"] for item in body["items"]]
    slots = list(Answer.objects.filter(assignment_id=body["assignment_id"])
                 .order_by("position").values_list("pk", "item_id", "is_gold"))
    # The ids are the answer slots', not the items' (gold items were uploaded apart, so
    # their pks would stand out) ...
    assert ids == [pk for pk, _, _ in slots]
    assert [is_gold for _, _, is_gold in slots].count(True) == 2
    # ... consecutive and ascending whatever is gold: no gap or order tells gold apart.
    assert ids == list(range(ids[0], ids[0] + len(ids)))


def test_gold_lands_at_random_positions(requester):
    fields = project_fields(gold_per_task=1, items_per_task=2, overlap=1)
    launched(requester, fields, tasks=40, gold=[
        ({"text": f"Review {index}"}, "positive") for index in range(40)])
    worker, _ = eligible("dana@workers.example")

    positions = set()
    for _ in range(40):
        assignment = assignment_claim(worker=worker)
        positions.update(gold_positions(assignment))
        # Right on gold ("positive"): gold is graded inside the submit, and a worker
        # failing it would be suspended before the forty draws are done.
        submit_every_item(assignment, worker, "positive")

    # Three places for one gold item among two; forty draws miss one with p < 1e-6.
    assert positions == {0, 1, 2}


def test_a_worker_never_gets_the_same_gold_twice(requester):
    fields = project_fields(gold_per_task=2, items_per_task=1, overlap=2)
    project = launched(requester, fields, tasks=4, gold=[
        ({"text": f"Review {index}"}, "positive") for index in range(3)])
    worker, _ = eligible("dana@workers.example")
    other, _ = eligible("erin@workers.example")

    served_gold = []
    for _ in range(3):
        assignment = assignment_claim(worker=worker)
        served_gold.append(sorted(Answer.objects.filter(assignment=assignment, is_gold=True)
                                  .values_list("item_id", flat=True)))
        submit_every_item(assignment, worker, "negative")

    # Two unseen, then the one left, then none: seen gold is never served again.
    assert [len(gold) for gold in served_gold] == [2, 1, 0]
    flat = [item_id for gold in served_gold for item_id in gold]
    assert sorted(flat) == sorted(Item.objects.filter(project=project, is_gold=True)
                                  .values_list("pk", flat=True))
    # Another worker has seen none of it yet.
    fresh = assignment_claim(worker=other)
    assert Answer.objects.filter(assignment=fresh, is_gold=True).count() == 2
