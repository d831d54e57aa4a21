"""The requester console in real Chromium (Debian's), against a live server on PostgreSQL.

One journey, as a requester lives it: build a project with the label-config builder
(the preview shows the task as workers will see it), upload items and gold, fund, launch,
watch progress move while test workers submit through the API, find the missed gold item
ranked first, reject one submission with a reason code, bulk-approve the rest, download
the CSV results. axe-core checks every console page on the way. Run with `-m browser`.
"""
import re
from pathlib import Path

import pytest

from conftest import PASSWORD
from marketplace.enums import AssignmentStatus
from marketplace.models import Assignment, Project
from web.tests.browser import AXE, Page, browser  # noqa: F401 (fixtures)

from .conftest import GOLD_TEXT, ready_worker, work_once

pytestmark = [pytest.mark.browser,
              pytest.mark.django_db(transaction=True, serialized_rollback=True)]

WIDE = {"width": 1280, "height": 900}
ITEMS = b"\n".join(b'{"external_id": "r%d", "data": {"text": "Review number %d"}}' % (n, n)
                   for n in range(4)) + b"\n"
GOLD = ('{"external_id": "g1", "data": {"text": "%s"}, "answer": "positive"}\n'
        % GOLD_TEXT).encode()


@pytest.fixture
def console(browser, live_server):  # noqa: F811 (fixtures)
    context = browser.new_context(viewport=WIDE, locale="en-US", accept_downloads=True)
    context.add_init_script(path=str(AXE))
    page = Page(context.new_page(), live_server.url)
    page.page.set_default_timeout(10_000)
    yield page
    page.assert_no_console_errors()
    context.close()


def test_build_fund_launch_watch_review_and_download(console, requester, settings,
                                                     tmp_path):
    settings.PAYMENTS_SANDBOX = True
    settings.MIN_EFFECTIVE_HOURLY_CENTS = 600
    page = console.page

    # Sign in: a requester lands in the console.
    console.goto("/login/")
    page.get_by_label("Email").fill(requester.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/console/$"))
    page.get_by_text("No projects yet.").wait_for()
    console.axe()

    # Build the project: per-type controls write the label config, the preview is the
    # worker's labeling page.
    page.get_by_role("link", name="New project").first.click()
    page.wait_for_url(re.compile(r"/console/projects/new$"))
    page.get_by_label("Name (required)").fill("Product reviews")
    page.get_by_label("Instructions").fill("Is the review positive or negative?")
    page.get_by_label("Choices, one per line").fill("positive\nnegative")
    preview = page.locator("[data-preview]")
    # The starter config had "neutral": the preview follows the edited choices.
    preview.get_by_role("radio", name="neutral").wait_for(state="detached")
    preview.get_by_role("radio", name="negative").wait_for()
    page.get_by_label("Reward cents").fill("5")
    page.get_by_label("Estimated seconds per task").fill("60")
    page.get_by_label("Items per task").fill("1")
    page.get_by_label("Gold per task").fill("1")
    page.get_by_label("Overlap", exact=True).fill("2")
    page.get_by_label("Items you plan to upload (for the estimate)").fill("4")
    estimate = page.locator("[data-estimate]")
    estimate.get_by_text("Below the pay floor").wait_for()  # 5 cents a minute: $3/h < $6/h
    page.get_by_label("Reward cents").fill("12")
    estimate.get_by_text("$7.20 per hour").wait_for()
    assert estimate.get_by_text("Below the pay floor").count() == 0
    page.get_by_label("Sentiment (English)").check()
    page.get_by_label("Minimum level in the chosen skills (0–100)").fill("50")
    console.axe()
    page.locator("[data-builder]").scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, -80)")
    console.screenshot("console_builder")
    page.get_by_role("button", name="Create project").click()
    page.wait_for_url(re.compile(r"/console/projects/\d+/$"))
    project = Project.objects.get(name="Product reviews")
    assert project.label_config == {"choices": ["positive", "negative"]}

    # Upload items and gold; the import report says what was stored.
    page.get_by_label("Items file (.jsonl, .csv or .json)").set_input_files(
        files=[{"name": "items.jsonl", "mimeType": "application/x-ndjson", "buffer": ITEMS}])
    page.get_by_role("button", name="Upload items").click()
    page.get_by_text("Stored 4 items in 4 tasks.").wait_for()
    page.get_by_label("Gold file (rows with an answer)").set_input_files(
        files=[{"name": "gold.jsonl", "mimeType": "application/x-ndjson", "buffer": GOLD}])
    page.get_by_role("button", name="Upload gold").click()
    page.get_by_text("Stored 1 gold items.").wait_for()

    # Launch without funds is refused (402); top up with the sandbox, then launch.
    page.get_by_role("button", name="Launch").click()
    page.locator(".message.error").wait_for()
    page.get_by_role("link", name="Top up").click()
    page.wait_for_url(re.compile(r"/console/billing$"))
    console.axe()
    page.get_by_label("Amount in dollars").fill("20")
    page.get_by_role("button", name="Top up").click()
    page.get_by_text("Top-up credited.").wait_for()
    assert page.locator("[data-balance=available]").inner_text() == "$20.00"
    console.goto(f"/console/projects/{project.pk}/")
    page.get_by_role("button", name="Launch").click()
    page.get_by_text("Launched: workers can take tasks now.").wait_for()
    assert page.locator("[data-status]").inner_text() == "Active"
    assert "0 of 4 items final" in page.locator("label[for=project-progress]").inner_text()

    # Test workers submit through the API; the overview shows the progress move.
    good, sloppy = ready_worker("ana@workers.example"), ready_worker("ben@workers.example")
    work_once(good, project, gold_answer="positive")
    work_once(sloppy, project, gold_answer="negative", answer="negative")
    work_once(good, project, gold_answer="positive")
    page.reload()
    assert "1 of 4 items final" in page.locator("label[for=project-progress]").inner_text()
    assert page.locator("[data-count=submitted]").inner_text() == "3"
    page.locator("[data-chart=finalized] svg").wait_for()
    console.axe()

    # Quality: the gold item that was missed comes first.
    page.get_by_role("link", name="Quality").click()
    first = page.locator(".gold-list > li").first
    assert "g1" in first.inner_text() and "missed 1 of 2" in first.inner_text()
    console.axe()

    # Review: reject the submission that missed gold with its reason code, bulk-approve
    # the rest.
    page.get_by_role("link", name="Review").click()
    page.get_by_text("3 submission(s) waiting").wait_for()
    console.axe()
    missed = Assignment.objects.get(project=project, answers__is_gold=True,
                                    answers__is_correct=False)
    card = page.locator(f"[data-assignment='{missed.pk}']")
    assert card.get_by_label("Reason code").input_value() == "gold_failed"
    card.get_by_label("Reason for the worker").fill("You marked a positive review negative.")
    card.get_by_role("button", name="Reject").click()
    page.get_by_text(f"Assignment {missed.pk}: rejected.").wait_for()
    page.get_by_role("button", name="Approve all 2 shown").click()
    page.get_by_text("Approved 2 submission(s).").wait_for()
    statuses = sorted(Assignment.objects.filter(project=project).exclude(
        status=AssignmentStatus.ASSIGNED).values_list("status", flat=True))
    assert statuses == ["approved", "approved", "rejected"]

    # Results: filter, then download the CSV.
    page.get_by_role("link", name="Results").click()
    console.axe()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    target = tmp_path / "results.csv"
    download_info.value.save_as(str(target))
    lines = Path(target).read_text().splitlines()
    assert lines[0].startswith("item_id,external_id,result,confidence")
    assert len(lines) == 5
    console.goto("/console/")
    page.get_by_text("Product reviews").wait_for()
    console.axe()

    # The overview once work is paid: the README's screenshot.
    console.goto(f"/console/projects/{project.pk}/")
    assert page.locator("[data-count=approved]").inner_text() == "2"
    page.locator(".charts").scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, -20)")
    console.screenshot("console_overview")


def test_review_draws_spans_boxes_and_rankings_read_only(console, requester):
    from web.tests.conftest import TASK_TYPES, launch

    from conftest import client_for

    projects = {}
    worker = ready_worker("dana@workers.example")
    for task_type in ("spans", "bbox", "ranking"):
        project = projects[task_type] = launch(requester, task_type)
        api = client_for(worker)
        claimed = api.post("/api/v1/worker/tasks/next", {"project_id": project.pk},
                           format="json").json()
        api.post(f"/api/v1/worker/assignments/{claimed['assignment_id']}/submit",
                 {"answers": [{"item_id": claimed["items"][0]["id"],
                               "value": TASK_TYPES[task_type][2]}]}, format="json")
    page = console.page
    console.goto("/login/")
    page.get_by_label("Email").fill(requester.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/console/$"))

    console.goto(f"/console/projects/{projects['spans'].pk}/review")
    span = page.locator("[data-span-list] li").first
    assert span.inner_text() == "Ada Lovelace PERSON"  # a <q> and its label
    assert page.locator("[data-span-list] button").count() == 0
    console.axe()
    console.goto(f"/console/projects/{projects['bbox'].pk}/review")
    page.get_by_text("Box 1: square, x 10%, y 10%, 30% × 30%").wait_for()
    assert page.locator(".bbox-stage .box").count() == 1
    console.axe()
    console.goto(f"/console/projects/{projects['ranking'].pk}/review")
    options = page.locator("[data-ranking] .option-label").all_inner_texts()
    assert options == ["Python docs", "Snake facts", "Cooking"]
    assert page.get_by_role("button", name="Move Cooking up").is_disabled()
    console.axe()
