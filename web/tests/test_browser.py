"""The worker app in real Chromium (Debian's), against a live server on PostgreSQL.

What a person sees and does: sign up, apply, get approved (by an admin, through the API),
label one task of each of the eight types with the keyboard and the mouse, see the
approval in the earnings; validation messages, lease expiry, returning a task, another
worker's assignment, gold that cannot be told apart. axe-core checks every page.
Run only these with `-m browser`.
"""
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import PASSWORD, client_for, make_worker
from marketplace.models import Answer, Assignment
from marketplace.services import items_import
from marketplace.uploads import UploadRow
from workers.models import WorkerApplication
from workers.tests.factories import make_ready_worker, profile_of

from .browser import browser, second_web, web  # noqa: F401 (fixtures)
from .conftest import TASK_TYPES, launch

pytestmark = [pytest.mark.browser,
              # The skill taxonomy comes from a data migration: restore it after the flush.
              pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def sign_in(web, email: str, password: str = PASSWORD) -> None:
    web.goto("/login/")
    web.page.get_by_label("Email").fill(email)
    web.page.get_by_label("Password").fill(password)
    web.page.get_by_label("Password").press("Enter")
    web.page.wait_for_url(re.compile(r"/$"))


def ready_worker(email="dana@workers.example"):
    user = make_worker(email)
    make_ready_worker(user, skills={"sentiment-en": 90})
    return user


def start(web, project_name: str) -> None:
    web.goto("/")
    web.page.get_by_role("button", name=f"Start working on {project_name}").click()
    web.page.wait_for_url(re.compile(r"/work/\d+/$"))


def item(web, number: int = 1):
    return web.page.locator("fieldset[data-item]").nth(number - 1)


def expect_done(web) -> None:
    web.page.get_by_text("There are no more tasks for you in this project").wait_for()


def stored(user, project) -> list:
    assignment = Assignment.objects.filter(worker=profile_of(user), project=project).latest("id")
    return list(Answer.objects.filter(assignment=assignment).order_by("position")
                .values_list("value", flat=True))


# --- the journey ------------------------------------------------------------------------------

def test_sign_up_apply_label_all_eight_types_and_see_the_approval(web, requester, staff):
    page = web.page
    web.goto("/")
    assert page.url.endswith("/login/?next=/")
    web.axe()
    page.get_by_role("link", name="Create a worker account").click()
    web.axe()
    page.get_by_label("Email").fill("dana@workers.example")
    page.get_by_label("Password").fill("a-long-passphrase")
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url(re.compile(r"/apply/$"))
    web.axe()
    page.get_by_label("Full name").fill("Dana Doe")
    page.get_by_label("Languages").check()
    page.get_by_label("Sentiment (English)").check()
    page.get_by_label("About your expertise").fill("Ten years of product review analysis.")
    page.get_by_label("I accept the confidentiality terms").check()
    page.get_by_role("button", name="Send application").click()
    page.get_by_text("Application sent.").wait_for()
    web.goto("/")
    page.get_by_text("Your application is being reviewed.").wait_for()
    web.axe()

    # An admin approves through the API; requesters launch one project per task type.
    application = WorkerApplication.objects.get(worker__user__email="dana@workers.example")
    approved = client_for(staff).post(
        f"/api/v1/admin/applications/{application.pk}/approve",
        {"skills": [{"skill": "sentiment-en", "level": 90}]}, format="json")
    assert approved.status_code == 200, approved.content
    projects = {task_type: launch(requester, task_type, name=f"Demo {task_type}",
                                  items=2 if task_type == "single_choice" else 1)
                for task_type in TASK_TYPES}
    # One gold item rides in the single-choice tasks: it must look like any other item.
    projects["single_choice"].gold_per_task = 1
    projects["single_choice"].save(update_fields=["gold_per_task"])
    items_import(project=projects["single_choice"], actor=requester, is_gold=True, rows=[
        UploadRow(row=1, external_id="gold-secret-1", data={"text": "Works perfectly."},
                  answer="positive", has_answer=True)])
    worker = application.worker.user

    web.goto("/")
    for task_type in TASK_TYPES:
        page.get_by_role("heading", name=f"Demo {task_type}").wait_for()
    page.get_by_text("$0.10 per task").first.wait_for()
    web.axe()
    web.screenshot("home")

    # single choice: digits pick (in the focused item, else the first unanswered one),
    # Enter submits, and the next task arrives without a page load.
    start(web, "Demo single_choice")
    web.axe()
    assert page.locator("fieldset[data-item]").count() == 2  # the item and the gold item
    assert "gold" not in page.content().lower()
    page.evaluate("() => { window.stayedOnPage = true; }")
    web.screenshot("single_choice")
    page.keyboard.press("1")
    page.keyboard.press("Tab")
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    page.get_by_text("Submitted. The next task is loaded.").wait_for(state="attached")
    assert page.evaluate("() => window.stayedOnPage") is True
    first = Assignment.objects.get(worker=profile_of(worker), status="submitted")
    assert sorted(Answer.objects.filter(assignment=first).values_list("value", flat=True)) \
        == ["negative", "positive"]
    assert page.locator("fieldset[data-item]").count() == 1
    page.keyboard.press("3")
    page.keyboard.press("Enter")
    expect_done(web)
    assert stored(worker, projects["single_choice"]) == ["neutral"]
    page.get_by_role("link", name="Back to your projects").click()

    # multi choice: a digit and a mouse click.
    start(web, "Demo multi_choice")
    web.axe()
    page.keyboard.press("1")
    page.get_by_label("delivery").click()
    web.screenshot("multi_choice")
    page.keyboard.press("Enter")
    expect_done(web)
    assert stored(worker, projects["multi_choice"]) == [["price", "delivery"]]

    # rating: digit 4 on a 1..5 scale.
    start(web, "Demo rating")
    page.keyboard.press("4")
    web.axe()
    web.screenshot("rating")
    page.keyboard.press("Enter")
    expect_done(web)
    assert stored(worker, projects["rating"]) == [4]

    # free text: type, Ctrl+Enter submits from inside the text box.
    start(web, "Demo text")
    page.get_by_label("Your answer").fill("Good morning")
    web.axe()
    web.screenshot("text")
    page.get_by_label("Your answer").press("Control+Enter")
    expect_done(web)
    assert stored(worker, projects["text"]) == ["Good morning"]

    # spans: select with Shift+arrows, add with the mouse, see and remove one.
    start(web, "Demo spans")
    source = page.locator("[data-span-source]")
    source.focus()
    page.keyboard.press("Home")
    for _ in range(12):
        page.keyboard.press("Shift+ArrowRight")
    page.get_by_role("button", name="Add span").click()
    source.focus()
    page.keyboard.press("Control+End")
    page.keyboard.press("ArrowLeft")
    for _ in range(6):
        page.keyboard.press("Shift+ArrowLeft")
    page.get_by_label("Label", exact=True).select_option("CITY")
    page.get_by_role("button", name="Add span").click()
    page.locator("[data-span-list] q", has_text="London").wait_for()
    page.locator("mark", has_text="Ada Lovelace").wait_for()
    web.axe()
    web.screenshot("spans")
    source.focus()
    page.keyboard.type("typing changes nothing")
    assert source.input_value() == "Ada Lovelace lived in London."
    page.get_by_role("button", name="Remove span “London” (CITY)").click()
    assert page.locator("[data-span-list] q").all_inner_texts() == ["Ada Lovelace"]
    page.keyboard.press("Control+Enter")
    expect_done(web)
    assert stored(worker, projects["spans"]) == [[{"start": 0, "end": 12, "label": "PERSON"}]]

    # bounding boxes: draw, move and resize with the mouse; relabel; add and delete with
    # the keyboard.
    start(web, "Demo bbox")
    stage = page.locator("[data-stage]")
    stage.locator("img").wait_for()
    page.wait_for_function("() => document.querySelector('[data-stage] img').complete")
    box = stage.bounding_box()
    at = lambda fx, fy: (box["x"] + fx * box["width"], box["y"] + fy * box["height"])  # noqa: E731
    page.mouse.move(*at(0.1, 0.1))
    page.mouse.down()
    page.mouse.move(*at(0.25, 0.25), steps=4)
    page.mouse.move(*at(0.4, 0.5), steps=4)
    page.mouse.up()
    page.mouse.move(*at(0.2, 0.2))            # move: drag from inside the box
    page.mouse.down()
    page.mouse.move(*at(0.3, 0.3), steps=4)
    page.mouse.up()
    handle = page.locator(".box .handle").first.bounding_box()
    page.mouse.move(handle["x"] + 5, handle["y"] + 5)    # resize: drag the corner
    page.mouse.down()
    page.mouse.move(*at(0.7, 0.8), steps=4)
    page.mouse.up()
    page.get_by_label("Label of box 1").select_option("circle")
    page.get_by_role("button", name="Add box").click()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+ArrowDown")
    assert page.locator(".box").count() == 2
    web.axe()
    web.screenshot("bbox")
    page.keyboard.press("Delete")
    assert page.locator(".box").count() == 1
    page.get_by_role("button", name="Submit").click()
    expect_done(web)
    [[drawn]] = stored(worker, projects["bbox"])
    assert drawn["label"] == "circle"
    assert drawn["x"] == pytest.approx(0.2, abs=0.02)
    assert drawn["y"] == pytest.approx(0.2, abs=0.02)
    assert drawn["x"] + drawn["w"] == pytest.approx(0.7, abs=0.03)
    assert drawn["y"] + drawn["h"] == pytest.approx(0.8, abs=0.03)

    # pairwise: digit 1 picks A, a rationale, Ctrl+Enter.
    start(web, "Demo pairwise")
    page.keyboard.press("1")
    page.get_by_label("Why (optional)").fill("B is not grammatical.")
    web.axe()
    web.screenshot("pairwise")
    page.get_by_label("Why (optional)").press("Control+Enter")
    expect_done(web)
    assert stored(worker, projects["pairwise"]) == [
        {"choice": "a", "rationale": "B is not grammatical."}]

    # ranking: drag "Cooking" to the top, Alt+Down moves it back, its "up" button again.
    start(web, "Demo ranking")
    entries = page.locator("[data-ranking] li")
    labels = page.locator("[data-ranking] .option-label")
    entries.filter(has_text="Cooking").drag_to(entries.filter(has_text="Python docs"),
                                               target_position={"x": 20, "y": 2})
    assert labels.all_inner_texts() == ["Cooking", "Python docs", "Snake facts"]
    entries.filter(has_text="Cooking").focus()
    page.keyboard.press("Alt+ArrowDown")
    assert labels.all_inner_texts() == ["Python docs", "Cooking", "Snake facts"]
    page.get_by_role("button", name="Move Cooking up").click()
    assert labels.all_inner_texts() == ["Cooking", "Python docs", "Snake facts"]
    web.axe()
    web.screenshot("ranking")
    page.get_by_role("button", name="Submit").click()
    expect_done(web)
    assert stored(worker, projects["ranking"]) == [[2, 0, 1]]

    # The requester approves everything; the earnings show it, pending.
    requester_api = client_for(requester)
    submitted = Assignment.objects.filter(worker=profile_of(worker), status="submitted")
    assert submitted.count() == 9
    for assignment in submitted:
        response = requester_api.post(f"/api/v1/assignments/{assignment.pk}/approve")
        assert response.status_code == 200, response.content
    page.get_by_role("link", name="My work").click()
    assert page.locator("[data-balance=pending]").inner_text() == "$0.90"
    assert page.get_by_role("cell", name="Approved task · Demo ranking").count() == 1
    web.axe()
    web.screenshot("my_work")


# --- refusals and edges ----------------------------------------------------------------------

def test_browser_and_server_validation_messages_appear_next_to_the_item(web, requester):
    ready_worker()
    launch(requester, "single_choice", name="Reviews")
    launch(requester, "text", name="Translations")
    sign_in(web, "dana@workers.example")
    start(web, "Reviews")
    web.page.keyboard.press("Enter")
    error = item(web).locator("[data-field-error]")
    assert error.inner_text() == "Choose one option."
    assert web.page.locator("[data-form-error]").inner_text() == "Some answers need attention."
    web.axe()
    web.page.locator("body").press("?")
    web.page.get_by_role("dialog", name="Keyboard shortcuts").wait_for()
    web.axe()
    web.page.keyboard.press("Escape")
    web.page.get_by_role("dialog").wait_for(state="hidden")
    web.page.get_by_role("button", name="Return task").click()

    # The server has the last word: a stale page without the length limit.
    web.expect_console_error("status of 400 (Bad Request)")
    start(web, "Translations")
    box = web.page.get_by_label("Your answer")
    box.evaluate("element => element.removeAttribute('maxlength')")
    box.fill("x" * 41)
    box.press("Control+Enter")
    item(web).locator("[data-field-error]", has_text="At most 40 characters.").wait_for()
    assert Assignment.objects.get(project__name="Translations").status == "assigned"


def test_prelabelled_choice_and_boxes_show_the_prediction(web, requester):
    from flows import automation as automation_flow

    worker = ready_worker()
    choice = launch(requester, "single_choice", name="Prelabelled reviews")
    shapes = launch(requester, "bbox", name="Prelabelled shapes")
    predicted_box = {"x": 0.5, "y": 0.25, "w": 0.25, "h": 0.5, "label": "circle"}
    for project, value in ((choice, "negative"), (shapes, [predicted_box])):
        automation_flow.update_settings(project=project, fields={"mode": "prelabel"})
        automation_flow.store_predictions(project=project, predictions=[{
            "external_id": f"{project.task_type}-0", "value": value, "score": 0.6,
            "model_version": "m1"}])
    page = web.page
    sign_in(web, "dana@workers.example")

    start(web, "Prelabelled reviews")
    page.get_by_text("Pre-filled by a model: check it and correct what is wrong.").wait_for()
    assert page.get_by_role("radio", name="negative").is_checked()
    assert not page.get_by_role("radio", name="positive").is_checked()
    web.axe()
    page.get_by_role("button", name="Submit").click()  # the worker agrees with the model
    expect_done(web)
    assert stored(worker, choice) == ["negative"]

    start(web, "Prelabelled shapes")
    page.locator(".box").wait_for()
    assert page.locator(".box").count() == 1
    assert page.locator(".box-tag").inner_text() == "1 circle"
    assert page.get_by_label("Label of box 1").input_value() == "circle"
    drawn = page.locator(".box").evaluate(
        "node => [node.style.left, node.style.top, node.style.width, node.style.height]")
    assert drawn == ["50%", "25%", "25%", "50%"]
    web.axe()
    page.get_by_label("Label of box 1").select_option("square")  # the worker corrects it
    page.get_by_role("button", name="Submit").click()
    expect_done(web)
    assert stored(worker, shapes) == [[{**predicted_box, "label": "square"}]]


def test_every_type_is_pre_filled_and_submitting_unchanged_keeps_the_prediction(
        web, requester):
    from flows import automation as automation_flow

    worker = ready_worker()
    predicted = {"multi_choice": ["price", "delivery"], "rating": 2,
                 "text": "Good morning", "spans": [{"start": 22, "end": 28, "label": "CITY"}],
                 "pairwise": {"choice": "b", "rationale": "Reads better."},
                 "ranking": [2, 0, 1]}
    projects = {}
    for task_type, value in predicted.items():
        projects[task_type] = launch(requester, task_type, name=f"Prelabelled {task_type}")
        automation_flow.update_settings(project=projects[task_type],
                                        fields={"mode": "prelabel"})
        automation_flow.store_predictions(project=projects[task_type], predictions=[{
            "external_id": f"{task_type}-0", "value": value, "score": 0.5,
            "model_version": "m1"}])
    shown = {  # what a person sees of each pre-label
        "multi_choice": lambda: [page.get_by_role("checkbox", name=name).is_checked()
                                 for name in ("price", "quality", "delivery")]
        == [True, False, True],
        "rating": lambda: page.get_by_role("radio", name="2").is_checked(),
        "text": lambda: page.get_by_label("Your answer").input_value() == "Good morning",
        "spans": lambda: page.locator("[data-span-preview] mark").inner_text() == "London"
        and page.locator("[data-span-list] .tag").all_inner_texts() == ["CITY"],
        "pairwise": lambda: page.get_by_role("radio", name="B is better").is_checked()
        and page.get_by_label("Why (optional)").input_value() == "Reads better.",
        "ranking": lambda: page.locator("[data-ranking] .option-label").all_inner_texts()
        == ["Cooking", "Python docs", "Snake facts"],
    }
    page = web.page
    sign_in(web, "dana@workers.example")

    for task_type, value in predicted.items():
        start(web, f"Prelabelled {task_type}")
        page.get_by_text("Pre-filled by a model").wait_for()
        assert shown[task_type](), task_type
        page.get_by_role("button", name="Submit").click()  # unchanged
        expect_done(web)
        assert stored(worker, projects[task_type]) == [value], task_type


def test_lease_expiry_is_shown_and_submit_disabled(web, requester):
    ready_worker()
    project = launch(requester, "single_choice", name="Reviews")
    sign_in(web, "dana@workers.example")
    start(web, "Reviews")
    Assignment.objects.filter(project=project).update(
        expires_at=timezone.now() + timedelta(seconds=2))
    web.page.reload()
    web.page.get_by_role("alert").filter(
        has_text="Your lease on this task expired").wait_for()
    assert web.page.get_by_role("button", name="Submit").is_disabled()
    assert web.page.locator("[data-timer]").inner_text() == "0:00"


def test_return_gives_the_task_back(web, requester):
    ready_worker()
    project = launch(requester, "single_choice", name="Reviews")
    sign_in(web, "dana@workers.example")
    start(web, "Reviews")
    web.page.get_by_role("button", name="Return task").click()
    web.page.get_by_text("Task returned.").wait_for()
    assert Assignment.objects.get(project=project).status == "returned"
    web.page.get_by_text("All current work on your projects is taken").wait_for()
    web.axe()


def test_a_worker_never_sees_another_workers_assignment(web, second_web, requester):
    ready_worker()
    ready_worker("eve@workers.example")
    launch(requester, "single_choice", name="Reviews", items=2)
    sign_in(web, "dana@workers.example")
    start(web, "Reviews")
    theirs = web.page.url
    sign_in(second_web, "eve@workers.example")
    second_web.expect_console_error("status of 404 (Not Found)")
    response = second_web.page.goto(theirs)
    assert response.status == 404
    second_web.page.get_by_role("heading", name="Not found").wait_for()
    assert "Reviews" not in second_web.page.content()
    # On a phone-sized screen, the second worker still gets their own task.
    start(second_web, "Reviews")
    assert second_web.page.url != theirs
    second_web.axe()


def test_take_an_exam_see_the_result_and_the_retake_cooldown(web, requester, staff):
    from workers.models import Skill
    from workers.services import exam_create
    from workers.tests.factories import make_gold_only_project

    ready_worker()
    exam_project = make_gold_only_project(requester, ["positive", "negative"],
                                          texts=["Great value.", "Broke in a day."])
    exam_create(project=exam_project, actor=staff, skill=Skill.objects.get(slug="sentiment-en"),
                pass_mark=1.0, question_count=2, retake_cooldown_seconds=3600,
                organization=None)
    sign_in(web, "dana@workers.example")
    web.page.get_by_role("link", name="Exams").click()
    web.axe()
    web.page.get_by_role("button", name="Take the exam Sentiment exam").click()
    web.page.wait_for_url(re.compile(r"/exams/attempts/\d+/$"))
    web.axe()
    assert "gold" not in web.page.content().lower()
    # "positive" to both questions: one right, one wrong.
    for position in range(2):
        item(web, position + 1).get_by_label("positive").check()
    web.page.keyboard.press("Enter")
    web.page.get_by_text("Not passed: 50% (pass mark 100%).").wait_for()
    web.page.get_by_text("You can retake this exam from").wait_for()
    web.axe()
    web.page.get_by_role("link", name="Back to exams").click()
    web.page.get_by_text("Retake from").wait_for()


def test_api_docs_and_admin_render_offline_under_the_csp(web):
    web.goto("/api/docs/")
    web.page.locator(".opblock").first.wait_for()
    assert web.page.locator(".opblock").count() > 50
    # ReDoc's bundle shows its vendor's logo from their CDN: decoration, unreachable here.
    web.expect_console_error("https://cdn.redoc.ly/redoc/logo-mini.svg")
    web.expect_console_error("net::ERR_NAME_NOT_RESOLVED")
    web.goto("/api/redoc/")
    web.page.get_by_role("heading", name="Quorum API (1.0.0)").wait_for()
    web.goto("/admin/login/")
    # whitenoise serves the admin's stylesheet: the login box is styled.
    assert web.page.locator("#header").evaluate(
        "element => getComputedStyle(element).backgroundColor") != "rgba(0, 0, 0, 0)"
