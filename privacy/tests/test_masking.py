"""mask_pii_for_workers: workers see placeholders; spans answers given on the masked text
are stored in the original text's offsets; requesters see the original."""
from marketplace.models import Answer, Item
from privacy.masking import (
    mask_data,
    masked_length,
    offset_to_masked,
    offset_to_original,
    span_offsets_to_original,
)

from .helpers import claim, cleared_worker, launched_project, submit

TEXT = "Ann Lee (ann@example.com) called +44 20 7946 0958 twice."
# "Ann Lee ([EMAIL]) called [PHONE] twice."
MASKED = "Ann Lee ([EMAIL]) called [PHONE] twice."
SPANS = [[["text"], 9, 24, "EMAIL"], [["text"], 33, 49, "PHONE"]]
FLAT = [(9, 24, "EMAIL"), (33, 49, "PHONE")]


def test_mask_data_replaces_each_value_by_its_type():
    data = {"text": TEXT, "other": "kept"}

    masked = mask_data(data, SPANS)

    assert masked == {"text": MASKED, "other": "kept"}
    assert data["text"] == TEXT  # the stored data is not touched
    assert masked_length(TEXT, FLAT) == len(MASKED)


def test_offsets_map_back_to_the_original_text():
    # Before any placeholder: unchanged.
    assert offset_to_original(4, FLAT, is_end=False) == 4
    # After the first placeholder: shifted by the length difference.
    start, end = MASKED.index("called"), MASKED.index("called") + len("called")
    assert TEXT[offset_to_original(start, FLAT, is_end=False):
                offset_to_original(end, FLAT, is_end=True)] == "called"
    # Marking the placeholder itself marks the hidden value.
    start, end = MASKED.index("[PHONE]"), MASKED.index("[PHONE]") + len("[PHONE]")
    assert TEXT[offset_to_original(start, FLAT, is_end=False):
                offset_to_original(end, FLAT, is_end=True)] == "+44 20 7946 0958"
    # Inside a placeholder: a start widens to the value's start, an end to its end.
    assert offset_to_original(MASKED.index("[EMAIL]") + 2, FLAT, is_end=False) == 9
    assert offset_to_original(MASKED.index("[EMAIL]") + 2, FLAT, is_end=True) == 24
    # And the inverse, for showing stored offsets on the masked text.
    assert offset_to_masked(TEXT.index("twice"), FLAT) == MASKED.index("twice")
    assert offset_to_masked(12, FLAT) == MASKED.index("[EMAIL]")


def test_malformed_spans_pass_through_for_the_validator_to_refuse():
    value = [{"start": 0, "end": 999, "label": "PER"}, {"start": "a", "end": 2}, "junk"]

    assert span_offsets_to_original(value, TEXT, SPANS) == value


def test_workers_see_placeholders_and_their_spans_are_stored_in_original_offsets(
        requester, requester_client):
    project = launched_project(requester, [TEXT], task_type="spans",
                               label_config={"labels": ["PER", "CONTACT"]},
                               mask_pii_for_workers=True)
    assert project.sensitivity == "pii"  # detection raised it: only cleared workers
    _, client = cleared_worker("dana@workers.example")

    served = claim(client)

    assert [item["data"] for item in served["items"]] == [{"text": MASKED}]
    detail = client.get(f"/api/v1/worker/assignments/{served['assignment_id']}").json()
    assert [item["data"] for item in detail["items"]] == [{"text": MASKED}]
    name = {"start": 0, "end": 7, "label": "PER"}
    phone = {"start": MASKED.index("[PHONE]"), "end": MASKED.index("[PHONE]") + 7,
             "label": "CONTACT"}
    response = submit(client, served, [name, phone])
    assert response.status_code == 200, response.json()

    stored = Answer.objects.get(assignment_id=served["assignment_id"]).value
    assert stored == [{"start": 0, "end": 7, "label": "PER"},
                      {"start": 33, "end": 49, "label": "CONTACT"}]
    assert TEXT[33:49] == "+44 20 7946 0958"
    review = requester_client.get(f"/api/v1/projects/{project.pk}/assignments").json()
    assert review["results"][0]["answers"][0]["value"] == stored
    items = requester_client.get(f"/api/v1/projects/{project.pk}/items").json()["results"]
    assert items[0]["data"] == {"text": TEXT}
    assert Item.objects.get(project=project).data == {"text": TEXT}


def test_without_the_option_workers_see_the_data(requester):
    launched_project(requester, [TEXT])
    _, client = cleared_worker("dana@workers.example")

    served = claim(client)

    assert [item["data"] for item in served["items"]] == [{"text": TEXT}]


def test_a_span_past_the_masked_text_is_refused_and_nothing_stored(requester):
    launched_project(requester, [TEXT], task_type="spans",
                     label_config={"labels": ["PER", "CONTACT"]}, mask_pii_for_workers=True)
    _, client = cleared_worker("dana@workers.example")
    served = claim(client)

    response = submit(client, served, [{"start": 0, "end": len(TEXT) + 1, "label": "PER"}])

    assert response.status_code == 400
    assert Answer.objects.get(assignment_id=served["assignment_id"]).value is None


def test_gold_feedback_is_shown_in_the_offsets_the_worker_saw(
        requester, django_capture_on_commit_callbacks):
    gold_text = "Mail ann@example.com now"  # masked: "Mail [EMAIL] now"
    expected = [{"start": 5, "end": 20, "label": "CONTACT"}]
    launched_project(requester, ["plain item"], task_type="spans",
                     label_config={"labels": ["PER", "CONTACT"]}, mask_pii_for_workers=True,
                     gold_per_task=1, gold=[(gold_text, expected)])
    _, client = cleared_worker("dana@workers.example")
    served = claim(client)
    masked_texts = sorted(item["data"]["text"] for item in served["items"])
    assert masked_texts == ["Mail [EMAIL] now", "plain item"]

    with django_capture_on_commit_callbacks(execute=True):
        response = submit(client, served, [{"start": 0, "end": 4, "label": "PER"}])
    assert response.status_code == 200, response.json()

    detail = client.get(f"/api/v1/worker/assignments/{served['assignment_id']}").json()
    assert [(entry["your_answer"], entry["expected"]) for entry in detail["gold_feedback"]] == [
        ([{"start": 0, "end": 4, "label": "PER"}],
         [{"start": 5, "end": 12, "label": "CONTACT"}])]


def test_a_span_pre_label_is_shown_in_masked_offsets_and_kept_in_original_ones(requester):
    from flows import automation as automation_flow
    from qa.tests.conftest import committed

    project = launched_project(requester, [TEXT], task_type="spans",
                               label_config={"labels": ["PER", "CONTACT"]},
                               mask_pii_for_workers=True)
    committed(automation_flow.update_settings, project=project, fields={"mode": "prelabel"})
    predicted = [{"start": 0, "end": 7, "label": "PER"},
                 {"start": 33, "end": 49, "label": "CONTACT"}]  # the phone number
    automation_flow.store_predictions(project=project, predictions=[
        {"external_id": "t1", "value": predicted, "score": 0.7, "model_version": "m"}])
    _, client = cleared_worker("dana@workers.example")

    served = claim(client)

    [item] = served["items"]
    shown = item["prediction"]["value"]
    assert [MASKED[span["start"]:span["end"]] for span in shown] == ["Ann Lee", "[PHONE]"]
    # Submitted as shown, it is stored as the model said it.
    response = submit(client, served, shown)
    assert response.status_code == 200, response.json()
    assert Answer.objects.get(assignment_id=served["assignment_id"]).value == predicted
