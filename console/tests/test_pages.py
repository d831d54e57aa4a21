"""The console pages through Django's test client: what a requester sees, who may see it
(another organization's requester: 404 on every project page; a worker: 403), and the
actions, which go through the same flows and services as the API."""
import html
import io
import json
import re
import uuid

import pytest

from conftest import fund_organization
from marketplace.enums import AssignmentStatus, ProjectStatus
from marketplace.models import Assignment, Item, Project, WebhookDelivery, WebhookEndpoint
from payments.models import Earning, Journal
from qa.models import Review

from .conftest import GOLD_TEXT, ready_worker, work_once

pytestmark = pytest.mark.django_db

PROJECT_PAGES = ["/console/projects/{id}/", "/console/projects/{id}/quality",
                 "/console/projects/{id}/review", "/console/projects/{id}/results",
                 "/console/projects/{id}/results.csv"]


def signed_in(client, user):
    client.force_login(user)
    return client


# --- who may see what -----------------------------------------------------------------------

def test_signed_out_goes_to_login(client):
    response = client.get("/console/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=/console/"


def test_requester_signing_in_lands_in_the_console(client, requester):
    from conftest import PASSWORD

    response = client.post("/login/", {"email": requester.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/console/"


def test_a_worker_is_refused_every_console_page(client, worker, worked_project):
    signed_in(client, worker)
    for path in ["/console/", "/console/billing", "/console/projects/new"] + [
            page.format(id=worked_project.pk) for page in PROJECT_PAGES]:
        response = client.get(path)
        assert response.status_code == 403, path
        assert "The console is for requesters" in response.content.decode()


@pytest.mark.parametrize("page", PROJECT_PAGES)
def test_another_organizations_project_is_not_found(client, other_requester, worked_project,
                                                   page):
    signed_in(client, other_requester)
    response = client.get(page.format(id=worked_project.pk))
    assert response.status_code == 404
    assert "Reviews" not in response.content.decode()


def test_another_organizations_actions_are_not_found_and_change_nothing(
        client, other_requester, worked_project):
    signed_in(client, other_requester)
    assignment = Assignment.objects.filter(project=worked_project).first()
    gold = Item.objects.get(project=worked_project, is_gold=True)
    item = Item.objects.filter(project=worked_project, is_gold=False).first()
    pk = worked_project.pk
    for path, body in [
        (f"/console/projects/{pk}/transition", {"action": "pause"}),
        (f"/console/projects/{pk}/review/{assignment.pk}", {"decision": "approve"}),
        (f"/console/projects/{pk}/review/bulk-approve", {"assignment_ids": [assignment.pk]}),
        (f"/console/projects/{pk}/quality/gold/{gold.pk}", {"action": "retire"}),
        (f"/console/projects/{pk}/quality/items/{item.pk}/review", {}),
        (f"/console/projects/{pk}/upload", {"kind": "items"}),
    ]:
        assert client.post(path, body).status_code == 404, path
    worked_project.refresh_from_db()
    gold.refresh_from_db()
    assert worked_project.status == ProjectStatus.ACTIVE
    assert gold.retired_at is None
    assert not Assignment.objects.filter(project=worked_project,
                                         status=AssignmentStatus.APPROVED).exists()
    assert not Review.objects.exists()


def test_another_organizations_webhook_delivery_is_not_found(client, other_requester,
                                                             requester):
    endpoint = WebhookEndpoint.objects.create(
        organization=requester.membership.organization, url="https://example.com/hook",
        events=["item.finalized"], secret_nonce="n")
    delivery = WebhookDelivery.objects.create(public_id=uuid.uuid4(), endpoint=endpoint,
                                              event="item.finalized", body="{}",
                                              status="failed")
    signed_in(client, other_requester)
    response = client.post(f"/console/webhooks/{endpoint.pk}/deliveries/"
                           f"{delivery.public_id}/resend")
    assert response.status_code == 404
    assert WebhookDelivery.objects.count() == 1


# --- pages ------------------------------------------------------------------------------------

def test_projects_list_shows_progress_spend_quality_and_warnings(client, requester,
                                                                 worked_project):
    Project.objects.filter(pk=worked_project.pk).update(
        status=ProjectStatus.PAUSED, status_reason="Paused: not enough funds to collect "
        "more labels. Top up, then resume.")
    page = signed_in(client, requester).get("/console/").content.decode()
    assert "Reviews" in page
    assert "Paused: not enough funds to collect more labels" in page
    assert 'data-warning="paused"' in page
    assert "Gold accuracy 50.0%" in page  # one worker right, one wrong
    assert "<progress" in page


def test_overview_draws_every_chart_with_its_table(client, requester, worked_project):
    response = signed_in(client, requester).get(f"/console/projects/{worked_project.pk}/")
    page = response.content.decode()
    assert response.status_code == 200
    for key in ["finalized", "throughput", "spend", "confidence", "agreement", "accuracy",
                "hourly"]:
        assert f'data-chart="{key}"' in page, key
    assert page.count("<table>") >= 7
    assert '<svg class="chart"' in page
    assert "Throughput per hour" in page and "<td>2</td>" in page  # two submissions


def test_quality_ranks_the_missed_gold_first_and_lists_low_confidence(client, requester,
                                                                      worked_project):
    page = signed_in(client, requester).get(
        f"/console/projects/{worked_project.pk}/quality").content.decode()
    assert "missed 1 of 2 (50.0%)" in page
    assert GOLD_TEXT in page
    assert "Send to review" in page


def test_retired_gold_is_never_served_again(client, requester, worked_project):
    gold = Item.objects.get(project=worked_project, is_gold=True)
    response = signed_in(client, requester).post(
        f"/console/projects/{worked_project.pk}/quality/gold/{gold.pk}", {"action": "retire"})
    assert response.status_code == 302
    gold.refresh_from_db()
    assert gold.retired_at is not None
    newcomer = ready_worker("cleo@workers.example")
    assignment_id = work_once(newcomer, worked_project, gold_answer="positive")
    assert assignment_id is not None
    assert not Assignment.objects.get(pk=assignment_id).answers.filter(is_gold=True).exists()


def test_gold_answer_is_checked_against_the_label_config(client, requester, worked_project):
    gold = Item.objects.get(project=worked_project, is_gold=True)
    signed_in(client, requester)
    client.post(f"/console/projects/{worked_project.pk}/quality/gold/{gold.pk}",
                {"answer": "ecstatic"})
    gold.refresh_from_db()
    assert gold.gold_answer == "positive"
    client.post(f"/console/projects/{worked_project.pk}/quality/gold/{gold.pk}",
                {"answer": "neutral"})
    gold.refresh_from_db()
    assert gold.gold_answer == "neutral"


def test_send_to_review_requests_a_review_of_each_undecided_label(client, requester,
                                                                  worked_project):
    item = (Item.objects.filter(project=worked_project, is_gold=False,
                                answers__assignment__status=AssignmentStatus.SUBMITTED)
            .distinct().first())
    response = signed_in(client, requester).post(
        f"/console/projects/{worked_project.pk}/quality/items/{item.pk}/review")
    assert response.status_code == 302
    reviews = Review.objects.filter(assignment__answers__item=item)
    assert reviews.count() == 2
    assert all(review.requested_by_id == requester.pk for review in reviews)


def test_review_renders_answers_read_only_with_the_worker_widgets(client, requester,
                                                                  worked_project):
    page = signed_in(client, requester).get(
        f"/console/projects/{worked_project.pk}/review").content.decode()
    assert "2 submission(s) waiting" in page
    assert 'class="item readonly"' in page
    assert "disabled checked" in page
    assert "Gold item (missed); expected: positive" in page


def test_reject_without_missed_gold_as_gold_failed_is_refused(client, requester,
                                                              worked_project):
    good = Assignment.objects.filter(project=worked_project).exclude(
        answers__is_gold=True, answers__is_correct=False).get()
    signed_in(client, requester)
    response = client.post(f"/console/projects/{worked_project.pk}/review/{good.pk}",
                           {"decision": "reject", "reason_code": "gold_failed",
                            "reason": "Wrong gold"}, follow=True)
    assert "gold_failed needs missed gold" in response.content.decode()
    good.refresh_from_db()
    assert good.status == AssignmentStatus.SUBMITTED


def test_reject_with_reason_code_then_bulk_approve_the_rest(client, requester,
                                                            worked_project):
    sloppy = Assignment.objects.filter(project=worked_project, answers__is_gold=True,
                                       answers__is_correct=False).get()
    signed_in(client, requester)
    client.post(f"/console/projects/{worked_project.pk}/review/{sloppy.pk}",
                {"decision": "reject", "reason_code": "gold_failed",
                 "reason": "Missed the gold item"})
    sloppy.refresh_from_db()
    assert (sloppy.status, sloppy.review_reason_code) == (AssignmentStatus.REJECTED,
                                                          "gold_failed")
    rest = list(Assignment.objects.filter(project=worked_project,
                                          status=AssignmentStatus.SUBMITTED)
                .values_list("pk", flat=True))
    response = client.post(f"/console/projects/{worked_project.pk}/review/bulk-approve",
                           {"assignment_ids": rest + [sloppy.pk]}, follow=True)
    assert "Approved 1 submission(s). 1 could not be approved" in response.content.decode()
    assert Earning.objects.filter(assignment_id__in=rest).count() == 1


def test_results_preview_filters_and_downloads(client, requester, worked_project):
    signed_in(client, requester)
    page = client.get(f"/console/projects/{worked_project.pk}/results?max_confidence=1"
                      "&source=crowd").content.decode()
    assert "Download CSV" in page
    response = client.get(f"/console/projects/{worked_project.pk}/results?max_confidence=7")
    assert response.status_code == 400
    assert "A number from 0 to 1." in response.content.decode()
    csv = b"".join(client.get(
        f"/console/projects/{worked_project.pk}/results.csv").streaming_content).decode()
    assert csv.splitlines()[0].startswith("item_id,external_id,result,confidence")
    assert len(csv.splitlines()) == 5  # header + 4 items


def test_resend_queues_the_same_body_again_once(client, requester, settings):
    endpoint = WebhookEndpoint.objects.create(
        organization=requester.membership.organization, url="https://example.com/hook",
        events=["item.finalized"], secret_nonce="n")
    delivery = WebhookDelivery.objects.create(public_id=uuid.uuid4(), endpoint=endpoint,
                                              event="item.finalized", body='{"id":"x"}',
                                              status="failed")
    from unittest import mock

    signed_in(client, requester)
    with mock.patch("marketplace.webhooks.tasks.deliver_webhook.delay"):
        path = f"/console/webhooks/{endpoint.pk}/deliveries/{delivery.public_id}/resend"
        client.post(path)
        client.post(path)
    resent = WebhookDelivery.objects.exclude(pk=delivery.pk)
    assert [(d.body, d.status) for d in resent] == [('{"id":"x"}', "pending")]


def test_billing_shows_balances_and_tops_up_through_the_sandbox(client, requester, settings):
    settings.PAYMENTS_SANDBOX = True
    fund_organization(requester, 5_000)
    signed_in(client, requester)
    page = client.get("/console/billing").content.decode()
    assert "$50.00" in page and "Credit from Quorum: Test funds" in page
    response = client.post("/console/billing", {"amount": "25.50"}, follow=True)
    assert "Top-up credited." in response.content.decode()
    assert "$75.50" in response.content.decode()
    journals = Journal.objects.count()
    response = client.post("/console/billing", {"amount": "lots"}, follow=True)
    assert "Enter an amount in dollars" in response.content.decode()
    assert Journal.objects.count() == journals


# --- new project --------------------------------------------------------------------------------

FORM = {"name": "Cats", "instructions": "Is it a cat?", "task_type": "single_choice",
        "label_config": '{"choices": ["cat", "no cat"]}', "sensitivity": "public",
        "pay_model": "per_task", "reward_cents": "20", "items_per_task": "2", "overlap": "2",
        "gold_per_task": "1", "estimated_seconds_per_task": "30",
        "pii_detection": "raise"}


def test_preview_renders_the_worker_widgets_validates_and_estimates(client, requester,
                                                                    settings):
    settings.PLATFORM_FEE_PERCENT = 10
    settings.MIN_EFFECTIVE_HOURLY_CENTS = 1200
    signed_in(client, requester)
    body = dict(FORM, sample_item='{"text": "A cat on a mat"}', estimate_items="10")
    answer = client.post("/console/projects/new/preview", json.dumps(body),
                         content_type="application/json").json()
    assert answer["problems"] == {}
    assert 'type="radio" name="item-0" value="no cat"' in answer["html"]
    assert "A cat on a mat" in answer["html"]
    estimate = answer["estimate"]
    assert (estimate["tasks"], estimate["assignments"]) == (5, 10)
    assert estimate["pay_cents"] == 200
    assert estimate["implied_hourly_cents"] == 2400 and not estimate["below_floor"]
    body["reward_cents"] = "5"
    body["label_config"] = '{"choices": []}'
    answer = client.post("/console/projects/new/preview", json.dumps(body),
                         content_type="application/json").json()
    assert "label_config" in answer["problems"]
    assert answer["estimate"] is None
    assert not Project.objects.exists()


def test_preview_runs_the_service_rules_and_stores_nothing(client, requester):
    signed_in(client, requester)
    body = dict(FORM, max_overlap="3")  # above overlap without a confidence target
    answer = client.post("/console/projects/new/preview", json.dumps(body),
                         content_type="application/json").json()
    assert answer["problems"] == {"confidence_target": [
        "Required when max_overlap is above overlap."]}
    assert not Project.objects.exists()


def test_new_project_is_created_by_the_service_then_items_and_gold_upload(client,
                                                                          requester):
    signed_in(client, requester)
    response = client.post("/console/projects/new", FORM)
    assert response.status_code == 302
    project = Project.objects.get(name="Cats")
    assert (project.status, project.reward_cents, project.label_config) == (
        "draft", 20, {"choices": ["cat", "no cat"]})
    items = io.BytesIO(b'{"data": {"text": "a"}}\n{"data": {"text": "b"}}\n')
    items.name = "items.jsonl"
    client.post(f"/console/projects/{project.pk}/upload", {"kind": "items", "file": items})
    page = client.get(f"/console/projects/{project.pk}/").content.decode()
    assert "Stored 2 items in 1 tasks." in page
    gold = io.BytesIO(b'{"data": {"text": "g"}, "answer": "cat"}\n'
                      b'{"data": {"text": "h"}, "answer": "dog"}\n'
                      b'{"data": {"text": "i"}}\n')
    gold.name = "gold.jsonl"
    client.post(f"/console/projects/{project.pk}/upload", {"kind": "gold", "file": gold})
    page = client.get(f"/console/projects/{project.pk}/").content.decode()
    assert "Upload refused; nothing was stored." in page
    assert "<td>2</td><td>answer</td>" in page and "<td>3</td><td>answer</td>" in page
    assert not Item.objects.filter(project=project, is_gold=True).exists()


def test_new_project_refusal_shows_the_problems_inline(client, requester):
    signed_in(client, requester)
    response = client.post("/console/projects/new", dict(FORM, reward_cents="",
                                                         name=""))
    page = response.content.decode()
    assert response.status_code == 400
    assert 'id="name_error" data-error-for="name">This field is required.' in page
    assert not Project.objects.exists()


# --- read-only renderers, all eight task types ----------------------------------------------

READ_ONLY_MARKERS = {
    "single_choice": ['value="positive" data-key="1" disabled checked'],
    "multi_choice": ['value="price" data-key="1" disabled checked',
                     'value="delivery" data-key="3" disabled checked',
                     'value="quality" data-key="2" disabled>'],
    "rating": ['value="4" data-key="4" disabled checked'],
    "text": ['readonly>Good morning</textarea>'],
    # The scripted widgets get the answer as JSON (checked below, key order aside).
    "spans": ['<div class="spans" data-spans data-readonly data-initial='],
    "bbox": ['<div class="bbox" data-bbox data-readonly data-initial='],
    "pairwise": ['value="a" data-key="1" disabled checked'],
    "ranking": ['data-ranking data-readonly', 'aria-label="Move Python docs up" disabled'],
}


@pytest.mark.parametrize("task_type", list(READ_ONLY_MARKERS))
def test_review_shows_each_task_types_answer_in_its_worker_widget(client, requester,
                                                                  task_type):
    from web.tests.conftest import TASK_TYPES, launch

    from conftest import client_for

    project = launch(requester, task_type)
    worker = ready_worker("dana@workers.example")
    api = client_for(worker)
    claimed = api.post("/api/v1/worker/tasks/next", {"project_id": project.pk},
                       format="json").json()
    answer = TASK_TYPES[task_type][2]
    assert api.post(f"/api/v1/worker/assignments/{claimed['assignment_id']}/submit",
                    {"answers": [{"item_id": claimed["items"][0]["id"], "value": answer}]},
                    format="json").status_code == 200
    page = signed_in(client, requester).get(
        f"/console/projects/{project.pk}/review").content.decode()
    assert 'class="item readonly"' in page
    for marker in READ_ONLY_MARKERS[task_type]:
        assert marker in page, marker
    if task_type in ("spans", "bbox"):
        initial = re.search(r'data-initial="([^"]*)"', page).group(1)
        assert json.loads(html.unescape(initial)) == answer
    # Nothing the worker could submit with: no answer form, no add buttons.
    assert "data-answers" not in page and "data-span-add" not in page
    assert "data-bbox-add" not in page


def test_review_filters_by_missed_gold_and_by_worker(client, requester, worked_project):
    signed_in(client, requester)
    base = f"/console/projects/{worked_project.pk}/review"
    missed = client.get(base + "?missed_gold=yes").content.decode()
    clean = client.get(base + "?missed_gold=no").content.decode()
    assert "1 submission(s) waiting" in missed and "missed 1 gold item(s)" in missed
    assert "1 submission(s) waiting" in clean and "missed 1 gold item(s)" not in clean
    pseudonym = re.search(r"worker (\w+)</h2>", missed).group(1)
    by_worker = client.get(base + f"?worker={pseudonym}").content.decode()
    assert "1 submission(s) waiting" in by_worker and f"worker {pseudonym}" in by_worker
    assert "0 submission(s) waiting" in client.get(base + "?worker=nobody").content.decode()
