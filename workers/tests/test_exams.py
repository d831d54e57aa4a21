"""Qualification exams: a gold-only project becomes an exam (platform: staff; organization:
requester); a worker takes it through /worker/qualifications, is graded at once; a platform
pass sets the verified level (source exam), an organization's pass only satisfies that
organization's required exams. Gold answers never reach the worker."""
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from marketplace.models import Item
from workers.models import (
    ExamAttempt,
    ProjectExamRequirement,
    QualificationExam,
    Skill,
    WorkerAuditEvent,
    WorkerSkill,
)
from workers.selectors import eligible_projects
from workers.services import exam_create, worker_ban, worker_suspend

from .factories import (
    audit_rows,
    error_code,
    give_skills,
    make_gold_only_project,
    make_project,
    make_ready_worker,
)

QUALIFICATIONS = "/api/v1/worker/qualifications"
ANSWERS = ["positive", "negative", "neutral", "positive"]


def _start_url(exam_id) -> str:
    return f"{QUALIFICATIONS}/{exam_id}/attempts"


def _submit_url(attempt_id) -> str:
    return f"/api/v1/worker/exam-attempts/{attempt_id}/submit"


def _platform_exam(staff, requester, *, answers=ANSWERS, skill="sentiment-en",
                   pass_mark=0.75, cooldown=3600, **project_kwargs) -> QualificationExam:
    project = make_gold_only_project(requester, answers, **project_kwargs)
    return exam_create(project=project, actor=staff, skill=Skill.objects.get(slug=skill),
                       pass_mark=pass_mark, question_count=len(answers),
                       retake_cooldown_seconds=cooldown, organization=None)


def _org_exam(requester, *, answers=ANSWERS, skill="sentiment-en",
              cooldown=3600) -> QualificationExam:
    project = make_gold_only_project(requester, answers, name="Acme sentiment test")
    return exam_create(project=project, actor=requester, skill=Skill.objects.get(slug=skill),
                       pass_mark=0.75, question_count=len(answers),
                       retake_cooldown_seconds=cooldown,
                       organization=requester.membership.organization)


def _answers(attempt_body: dict, *, wrong: int = 0) -> list[dict]:
    """Answers to the served items: all right except the first ``wrong`` ones."""
    gold = dict(Item.objects.filter(pk__in=[i["id"] for i in attempt_body["items"]])
                .values_list("id", "gold_answer"))
    answers = []
    for index, item in enumerate(attempt_body["items"]):
        value = gold[item["id"]]
        if index < wrong:
            value = "neutral" if value != "neutral" else "positive"
        answers.append({"item_id": item["id"], "value": value})
    return answers


def _take(client, exam, *, wrong: int = 0):
    started = client.post(_start_url(exam.pk))
    assert started.status_code == 201, started.json()
    return client.post(_submit_url(started.json()["attempt_id"]),
                       {"answers": _answers(started.json(), wrong=wrong)}, format="json")


def _state(worker) -> dict:
    return {
        "attempts": sorted(ExamAttempt.objects.filter(worker=worker)
                           .values_list("id", "status", "score", "answers")),
        "skills": sorted(WorkerSkill.objects.filter(worker=worker)
                         .values_list("skill__slug", "level", "source")),
        "audit": WorkerAuditEvent.objects.filter(worker=worker).count(),
    }


@pytest.fixture
def active_worker(worker):
    return make_ready_worker(worker)


# --- making an exam -------------------------------------------------------------------------


def test_requester_makes_a_gold_only_project_an_organization_exam(requester_client, requester):
    project = make_gold_only_project(requester, ANSWERS)

    response = requester_client.post(f"/api/v1/projects/{project.pk}/exam", {
        "skill": "sentiment-en", "pass_mark": 0.75, "question_count": 3,
        "retake_cooldown_seconds": 600}, format="json")

    assert response.status_code == 201, response.json()
    exam = QualificationExam.objects.get(project=project)
    assert response.json() == {
        "id": exam.pk, "project_id": project.pk, "skill": "sentiment-en", "pass_mark": 0.75,
        "question_count": 3, "retake_cooldown_seconds": 600, "time_limit_seconds": 3600,
        "scope": "organization"}
    assert (exam.organization, exam.created_by) == (requester.membership.organization,
                                                    requester)


def test_admin_makes_a_platform_exam(staff_client, staff, requester):
    project = make_gold_only_project(requester, ANSWERS)

    response = staff_client.post("/api/v1/admin/exams", {
        "project_id": project.pk, "skill": "sentiment-en", "pass_mark": 0.5,
        "question_count": 4}, format="json")

    assert response.status_code == 201, response.json()
    assert (response.json()["scope"], response.json()["skill"]) == ("platform", "sentiment-en")
    exam = QualificationExam.objects.get(project=project)
    assert (exam.organization, exam.created_by, exam.is_platform) == (None, staff, True)


def test_a_project_with_regular_items_cannot_be_an_exam(requester_client, requester):
    project = make_project(requester, status="draft")
    from marketplace.services import items_import
    from marketplace.uploads import UploadRow
    items_import(project=project, actor=requester, is_gold=False, rows=[
        UploadRow(row=1, external_id=None, data={"text": "x"}, answer=None, has_answer=False)])

    response = requester_client.post(f"/api/v1/projects/{project.pk}/exam", {
        "skill": "sentiment-en", "pass_mark": 0.5, "question_count": 1}, format="json")

    assert response.status_code == 409
    assert error_code(response) == "exam_has_items"
    assert QualificationExam.objects.count() == 0


@pytest.mark.parametrize("body, status, field", [
    ({"skill": "sentiment-en", "pass_mark": 0.5, "question_count": 5}, 400, "question_count"),
    ({"skill": "sentiment-en", "pass_mark": 0, "question_count": 2}, 400, "pass_mark"),
    ({"skill": "sentiment-en", "pass_mark": 1.5, "question_count": 2}, 400, "pass_mark"),
    ({"skill": "astrology", "pass_mark": 0.5, "question_count": 2}, 400, "skill"),
    ({"skill": "sentiment-en", "pass_mark": 0.5, "question_count": 2,
      "time_limit_seconds": 10}, 400, "time_limit_seconds"),
])
def test_exam_with_bad_settings_is_refused(requester_client, requester, body, status, field):
    project = make_gold_only_project(requester, ANSWERS)

    response = requester_client.post(f"/api/v1/projects/{project.pk}/exam", body, format="json")

    assert response.status_code == status
    assert list(response.json()["error"]["fields"]) == [field]
    assert QualificationExam.objects.count() == 0


def test_a_project_is_an_exam_once(requester_client, requester):
    exam = _org_exam(requester)

    response = requester_client.post(f"/api/v1/projects/{exam.project_id}/exam", {
        "skill": "sql", "pass_mark": 0.5, "question_count": 1}, format="json")

    assert response.status_code == 409
    assert error_code(response) == "already_exam"
    assert QualificationExam.objects.count() == 1


def test_another_organizations_project_cannot_be_made_an_exam(other_requester_client,
                                                               requester):
    project = make_gold_only_project(requester, ANSWERS)

    response = other_requester_client.post(f"/api/v1/projects/{project.pk}/exam", {
        "skill": "sentiment-en", "pass_mark": 0.5, "question_count": 1}, format="json")

    assert response.status_code == 404
    assert QualificationExam.objects.count() == 0


def test_workers_cannot_make_exams(worker_client, requester):
    project = make_gold_only_project(requester, ANSWERS)

    assert worker_client.post(f"/api/v1/projects/{project.pk}/exam", {
        "skill": "sentiment-en", "pass_mark": 0.5, "question_count": 1},
        format="json").status_code == 403
    assert QualificationExam.objects.count() == 0


# --- listing and starting ---------------------------------------------------------------------


def test_worker_lists_the_exams_it_may_take(worker_client, active_worker, staff, requester):
    platform = _platform_exam(staff, requester)
    org = _org_exam(requester, skill="translation-de")

    response = worker_client.get(QUALIFICATIONS)

    assert response.status_code == 200
    assert response.json()["count"] == 2
    assert response.json()["results"] == [
        {"id": platform.pk, "name": "Sentiment exam", "skill": "sentiment-en",
         "scope": "platform", "pass_mark": 0.75, "question_count": 4,
         "time_limit_seconds": 3600, "state": "available", "retake_available_at": None,
         "best_score": None, "attempts": 0},
        {"id": org.pk, "name": "Acme sentiment test", "skill": "translation-de",
         "scope": "organization", "pass_mark": 0.75, "question_count": 4,
         "time_limit_seconds": 3600, "state": "available", "retake_available_at": None,
         "best_score": None, "attempts": 0},
    ]


def test_starting_an_attempt_serves_gold_items_as_id_and_data_only(worker_client, active_worker,
                                                                   staff, requester):
    secrets = ["aardvark-zulu-0", "aardvark-zulu-1", "aardvark-zulu-2"]
    exam = _platform_exam(staff, requester, answers=secrets, task_type="text",
                          label_config={"max_length": 100}, name="Animals",
                          texts=["Name animal A", "Name animal B", "Name animal C"])
    started = timezone.now()

    response = worker_client.post(_start_url(exam.pk))

    assert response.status_code == 201, response.json()
    body = response.json()
    attempt = ExamAttempt.objects.get(worker=active_worker)
    assert set(body) == {"attempt_id", "exam_id", "status", "expires_at", "project", "items"}
    assert (body["attempt_id"], body["exam_id"], body["status"]) == (attempt.pk, exam.pk,
                                                                     "started")
    assert body["project"] == {"name": "Animals", "instructions": "Answer every question.",
                               "task_type": "text", "label_config": {"max_length": 100}}
    assert all(set(item) == {"id", "data"} for item in body["items"])
    assert sorted(item["data"]["text"] for item in body["items"]) == [
        "Name animal A", "Name animal B", "Name animal C"]
    assert [item["id"] for item in body["items"]] == attempt.item_ids
    assert set(attempt.item_ids) == set(Item.objects.filter(project=exam.project)
                                        .values_list("id", flat=True))
    text = response.content.decode().lower()
    assert "gold" not in text
    assert "aardvark" not in text
    assert "answer\"" not in text
    assert started + timedelta(seconds=3600) <= attempt.expires_at <= \
        timezone.now() + timedelta(seconds=3600)
    # Nor does the listing leak them.
    listing = worker_client.get(QUALIFICATIONS).content.decode().lower()
    assert "aardvark" not in listing and "gold" not in listing


def test_an_attempt_serves_question_count_of_the_gold_items(worker_client, active_worker, staff,
                                                            requester):
    project = make_gold_only_project(requester, ANSWERS * 3)
    exam = exam_create(project=project, actor=staff, skill=Skill.objects.get(slug="sql"),
                       pass_mark=0.5, question_count=5, organization=None)

    body = worker_client.post(_start_url(exam.pk)).json()

    assert len(body["items"]) == 5
    assert len({item["id"] for item in body["items"]}) == 5
    assert Item.objects.filter(pk__in=[i["id"] for i in body["items"]], project=project,
                               is_gold=True).count() == 5


def test_asking_again_resumes_the_attempt_in_progress(worker_client, active_worker, staff,
                                                      requester):
    exam = _platform_exam(staff, requester)
    first = worker_client.post(_start_url(exam.pk)).json()

    again = worker_client.post(_start_url(exam.pk))

    assert again.status_code == 201
    assert again.json()["attempt_id"] == first["attempt_id"]
    assert again.json()["items"] == first["items"]
    assert ExamAttempt.objects.filter(worker=active_worker).count() == 1
    assert worker_client.get(QUALIFICATIONS).json()["results"][0]["state"] == "in_progress"


def test_a_vetting_worker_may_take_exams(worker_client, worker, staff, requester):
    make_ready_worker(worker, status="vetting")
    exam = _platform_exam(staff, requester)

    assert worker_client.post(_start_url(exam.pk)).status_code == 201


@pytest.mark.parametrize("status", ["applicant", "suspended", "banned"])
def test_workers_not_in_good_standing_cannot_start(worker_client, worker, staff, requester,
                                                   status):
    profile = make_ready_worker(worker, status=status)
    exam = _platform_exam(staff, requester)
    before = _state(profile)

    response = worker_client.post(_start_url(exam.pk))

    assert response.status_code == 409
    assert error_code(response) == "worker_not_eligible"
    assert _state(profile) == before


def test_a_closed_exam_cannot_be_started(worker_client, active_worker, staff, requester):
    exam = _platform_exam(staff, requester)
    QualificationExam.objects.filter(pk=exam.pk).update(is_active=False)

    response = worker_client.post(_start_url(exam.pk))

    assert response.status_code == 404
    assert ExamAttempt.objects.count() == 0
    assert worker_client.get(QUALIFICATIONS).json()["results"] == []


def test_exams_are_for_workers(requester_client, staff_client, api_client, staff, requester):
    exam = _platform_exam(staff, requester)

    assert requester_client.get(QUALIFICATIONS).status_code == 403
    assert requester_client.post(_start_url(exam.pk)).status_code == 403
    assert staff_client.post(_start_url(exam.pk)).status_code == 403
    assert api_client.post(_start_url(exam.pk)).status_code == 401
    assert ExamAttempt.objects.count() == 0


# --- grading: platform exam -------------------------------------------------------------------


def test_passing_a_platform_exam_sets_the_verified_level_from_the_score(
        worker_client, worker, active_worker, staff, requester):
    exam = _platform_exam(staff, requester)

    response = _take(worker_client, exam, wrong=1)

    assert response.status_code == 200, response.json()
    attempt = ExamAttempt.objects.get(worker=active_worker)
    assert response.json() == {"attempt_id": attempt.pk, "status": "passed", "score": 0.75,
                               "passed": True, "pass_mark": 0.75}
    assert (attempt.status, attempt.score) == ("passed", 0.75)
    assert attempt.submitted_at is not None
    assert len(attempt.answers) == 4
    assert list(WorkerSkill.objects.filter(worker=active_worker)
                .values_list("skill__slug", "level", "source")) == [("sentiment-en", 75, "exam")]
    assert audit_rows(active_worker) == [
        ("exam_passed", worker.pk, ""),
        ("skill_level_set", None, "Qualification exam passed")]
    passed, level_set = WorkerAuditEvent.objects.filter(worker=active_worker).order_by("id")
    assert passed.details == {"exam_id": exam.pk, "skill": "sentiment-en", "score": 0.75}
    assert level_set.details == {"skill": "sentiment-en", "level": 75, "source": "exam",
                                 "previous_level": None, "previous_source": None,
                                 "exam_id": exam.pk, "attempt_id": attempt.pk}
    assert "positive" not in json.dumps(response.json())


def test_a_perfect_score_sets_level_100(worker_client, active_worker, staff, requester):
    exam = _platform_exam(staff, requester)

    assert _take(worker_client, exam).json()["score"] == 1.0
    assert WorkerSkill.objects.get(worker=active_worker).level == 100


def test_an_exam_pass_replaces_a_claimed_level(worker_client, active_worker, staff, requester):
    give_skills(active_worker, {"sentiment-en": 95}, source="claimed")
    exam = _platform_exam(staff, requester)

    _take(worker_client, exam, wrong=1)

    assert list(WorkerSkill.objects.filter(worker=active_worker)
                .values_list("level", "source")) == [(75, "exam")]


def test_an_exam_pass_never_lowers_a_higher_verified_level(worker_client, active_worker, staff,
                                                           requester):
    give_skills(active_worker, {"sentiment-en": 90}, source="admin")
    exam = _platform_exam(staff, requester)

    response = _take(worker_client, exam, wrong=1)

    assert response.json()["status"] == "passed"
    assert list(WorkerSkill.objects.filter(worker=active_worker)
                .values_list("level", "source")) == [(90, "admin")]
    assert [row[0] for row in audit_rows(active_worker)] == ["exam_passed"]


def test_an_exam_pass_raises_a_lower_verified_level(worker_client, active_worker, staff,
                                                    requester):
    give_skills(active_worker, {"sentiment-en": 40}, source="gold")
    exam = _platform_exam(staff, requester)

    _take(worker_client, exam)

    assert list(WorkerSkill.objects.filter(worker=active_worker)
                .values_list("level", "source")) == [(100, "exam")]


def test_grading_uses_the_task_types_comparator(worker_client, active_worker, staff, requester):
    exam = _platform_exam(staff, requester, answers=["The quick brown fox"], pass_mark=1.0,
                          task_type="text", label_config={"max_length": 100}, name="Typing")
    started = worker_client.post(_start_url(exam.pk)).json()

    response = worker_client.post(_submit_url(started["attempt_id"]), {"answers": [
        {"item_id": started["items"][0]["id"], "value": "the  QUICK brown fox"}]},
        format="json")

    assert (response.json()["status"], response.json()["score"]) == ("passed", 1.0)


# --- failing, cooldown, expiry --------------------------------------------------------------


def test_failing_is_audited_and_sets_no_level(worker_client, worker, active_worker, staff,
                                              requester):
    exam = _platform_exam(staff, requester)

    response = _take(worker_client, exam, wrong=2)

    assert response.json()["status"] == "failed"
    assert (response.json()["score"], response.json()["passed"]) == (0.5, False)
    assert WorkerSkill.objects.filter(worker=active_worker).count() == 0
    assert audit_rows(active_worker) == [("exam_failed", worker.pk, "")]


def test_after_a_failure_a_retake_waits_for_the_cooldown(worker_client, active_worker, staff,
                                                         requester):
    exam = _platform_exam(staff, requester, cooldown=3600)
    _take(worker_client, exam, wrong=4)
    attempt = ExamAttempt.objects.get(worker=active_worker)
    before = _state(active_worker)

    response = worker_client.post(_start_url(exam.pk))

    assert response.status_code == 409
    assert error_code(response) == "exam_cooldown"
    assert _state(active_worker) == before
    listed = worker_client.get(QUALIFICATIONS).json()["results"][0]
    assert (listed["state"], listed["attempts"], listed["best_score"]) == ("cooldown", 1, 0.0)
    assert listed["retake_available_at"] == (
        attempt.started_at + timedelta(seconds=3600)).isoformat().replace("+00:00", "Z")


def test_once_the_cooldown_is_over_the_worker_may_retake(worker_client, active_worker, staff,
                                                         requester):
    exam = _platform_exam(staff, requester, cooldown=3600)
    _take(worker_client, exam, wrong=4)
    ExamAttempt.objects.filter(worker=active_worker).update(
        started_at=timezone.now() - timedelta(seconds=3601))

    response = _take(worker_client, exam)

    assert response.json()["status"] == "passed"
    assert list(ExamAttempt.objects.filter(worker=active_worker).order_by("id")
                .values_list("status", flat=True)) == ["failed", "passed"]


def test_a_pass_is_final(worker_client, active_worker, staff, requester):
    exam = _platform_exam(staff, requester, cooldown=0)
    _take(worker_client, exam)
    before = _state(active_worker)

    response = worker_client.post(_start_url(exam.pk))

    assert response.status_code == 409
    assert error_code(response) == "exam_passed"
    assert _state(active_worker) == before
    assert worker_client.get(QUALIFICATIONS).json()["results"][0]["state"] == "passed"


def test_an_attempt_is_graded_once(worker_client, active_worker, staff, requester):
    exam = _platform_exam(staff, requester)
    started = worker_client.post(_start_url(exam.pk)).json()
    worker_client.post(_submit_url(started["attempt_id"]),
                       {"answers": _answers(started, wrong=4)}, format="json")
    before = _state(active_worker)

    response = worker_client.post(_submit_url(started["attempt_id"]),
                                  {"answers": _answers(started)}, format="json")

    assert response.status_code == 409
    assert error_code(response) == "attempt_closed"
    assert _state(active_worker) == before


def test_submitting_an_expired_attempt_is_409_and_writes_nothing(worker_client, active_worker,
                                                                 staff, requester):
    exam = _platform_exam(staff, requester)
    started = worker_client.post(_start_url(exam.pk)).json()
    ExamAttempt.objects.filter(pk=started["attempt_id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1))
    before = _state(active_worker)

    response = worker_client.post(_submit_url(started["attempt_id"]),
                                  {"answers": _answers(started)}, format="json")

    assert response.status_code == 409
    assert error_code(response) == "attempt_expired"
    assert _state(active_worker) == before
    assert WorkerSkill.objects.filter(worker=active_worker).count() == 0


def test_an_expired_attempt_counts_as_a_failure_for_the_cooldown(worker_client, active_worker,
                                                                 staff, requester):
    exam = _platform_exam(staff, requester, cooldown=3600)
    started = worker_client.post(_start_url(exam.pk)).json()
    ExamAttempt.objects.filter(pk=started["attempt_id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1))

    response = worker_client.post(_start_url(exam.pk))

    assert response.status_code == 409
    assert error_code(response) == "exam_cooldown"
    assert ExamAttempt.objects.filter(worker=active_worker).count() == 1
    assert worker_client.get(QUALIFICATIONS).json()["results"][0]["state"] == "cooldown"


def test_without_cooldown_an_expired_attempt_is_replaced_by_a_new_one(worker_client,
                                                                      active_worker, staff,
                                                                      requester):
    exam = _platform_exam(staff, requester, cooldown=0)
    started = worker_client.post(_start_url(exam.pk)).json()
    ExamAttempt.objects.filter(pk=started["attempt_id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1))

    response = worker_client.post(_start_url(exam.pk))

    assert response.status_code == 201
    assert response.json()["attempt_id"] != started["attempt_id"]
    assert list(ExamAttempt.objects.filter(worker=active_worker).order_by("id")
                .values_list("status", flat=True)) == ["expired", "started"]


@pytest.mark.parametrize("mangle, field", [
    (lambda answers: answers[:-1], "answers"),
    (lambda answers: answers + [answers[0]], "answers.4.item_id"),
    (lambda answers: [answers[0] | {"value": "furious"}] + answers[1:], "answers.0.value"),
    (lambda answers: [{"item_id": 999_999, "value": "positive"}] + answers[1:],
     "answers.0.item_id"),
    (lambda answers: "positive", "answers"),
])
def test_invalid_answers_are_400_and_write_nothing(worker_client, active_worker, staff,
                                                   requester, mangle, field):
    exam = _platform_exam(staff, requester)
    started = worker_client.post(_start_url(exam.pk)).json()
    before = _state(active_worker)

    response = worker_client.post(_submit_url(started["attempt_id"]),
                                  {"answers": mangle(_answers(started))}, format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"], response.json()
    assert _state(active_worker) == before


def test_another_workers_attempt_is_404(worker_client, active_worker, staff, requester):
    from conftest import client_for, make_worker
    exam = _platform_exam(staff, requester)
    started = worker_client.post(_start_url(exam.pk)).json()
    other = make_worker("other@workers.example")
    make_ready_worker(other)
    before = _state(active_worker)

    response = client_for(other).post(_submit_url(started["attempt_id"]),
                                      {"answers": _answers(started)}, format="json")

    assert response.status_code == 404
    assert _state(active_worker) == before


# --- organization exams -----------------------------------------------------------------------


def test_an_organization_exam_pass_sets_no_verified_level(worker_client, worker, active_worker,
                                                          requester):
    exam = _org_exam(requester)

    response = _take(worker_client, exam)

    assert response.json()["status"] == "passed"
    assert WorkerSkill.objects.filter(worker=active_worker).count() == 0
    assert audit_rows(active_worker) == [("exam_passed", worker.pk, "")]


def test_an_organization_exam_qualifies_for_that_organizations_projects_requiring_it(
        worker_client, requester_client, active_worker, requester):
    give_skills(active_worker, {"sentiment-en": 80})
    exam = _org_exam(requester)
    project = make_project(requester)
    open_project = make_project(requester, name="No exam needed")

    response = requester_client.post(f"/api/v1/projects/{project.pk}/required-exams",
                                     {"exam_id": exam.pk}, format="json")

    assert response.status_code == 201, response.json()
    assert response.json() == {"project_id": project.pk, "exam_id": exam.pk}
    assert list(eligible_projects(worker=active_worker)) == [open_project]

    _take(worker_client, exam)

    assert sorted(p.pk for p in eligible_projects(worker=active_worker)) == sorted(
        [project.pk, open_project.pk])
    # and the org exam left the verified level alone
    assert list(WorkerSkill.objects.filter(worker=active_worker)
                .values_list("level", "source")) == [(80, "admin")]


def test_a_project_may_require_a_platform_exam(requester_client, requester, staff):
    exam = _platform_exam(staff, requester)
    project = make_project(requester, status="draft")

    response = requester_client.post(f"/api/v1/projects/{project.pk}/required-exams",
                                     {"exam_id": exam.pk}, format="json")

    assert response.status_code == 201
    assert ProjectExamRequirement.objects.filter(project=project, exam=exam).count() == 1


@pytest.mark.parametrize("which", ["other_org_exam", "unknown", "itself"])
def test_required_exam_must_be_usable_by_the_organization(requester_client, requester,
                                                          other_requester, which):
    own_exam = _org_exam(requester)
    exams = {"other_org_exam": lambda: _org_exam(other_requester).pk,
             "unknown": lambda: 999_999,
             "itself": lambda: own_exam.pk}
    project_id = own_exam.project_id if which == "itself" else make_project(
        requester, status="draft").pk

    response = requester_client.post(f"/api/v1/projects/{project_id}/required-exams",
                                     {"exam_id": exams[which]()}, format="json")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["exam_id"]
    assert ProjectExamRequirement.objects.count() == 0


def test_another_organizations_project_cannot_require_exams(other_requester_client,
                                                            requester, staff):
    exam = _platform_exam(staff, requester)
    project = make_project(requester, status="draft")

    response = other_requester_client.post(f"/api/v1/projects/{project.pk}/required-exams",
                                           {"exam_id": exam.pk}, format="json")

    assert response.status_code == 404
    assert ProjectExamRequirement.objects.count() == 0


# --- standing during an attempt ---------------------------------------------------------------


@pytest.mark.parametrize("action", ["suspend", "ban"])
def test_a_worker_suspended_or_banned_mid_attempt_cannot_submit(worker_client, active_worker,
                                                                staff, requester, action):
    exam = _platform_exam(staff, requester)
    started = worker_client.post(_start_url(exam.pk)).json()
    {"suspend": worker_suspend, "ban": worker_ban}[action](
        worker=active_worker, actor=staff, reason="Cheating.")
    before = _state(active_worker)

    response = worker_client.post(_submit_url(started["attempt_id"]),
                                  {"answers": _answers(started)}, format="json")

    assert response.status_code == 409
    assert error_code(response) == "worker_not_eligible"
    assert _state(active_worker) == before


# --- Idempotency-Key --------------------------------------------------------------------------


def test_a_retried_exam_creation_with_the_same_key_replays_the_first(requester_client,
                                                                     requester):
    project = make_gold_only_project(requester, ANSWERS)
    body = {"skill": "sentiment-en", "pass_mark": 0.75, "question_count": 2}

    first = requester_client.post(f"/api/v1/projects/{project.pk}/exam", body, format="json",
                                  HTTP_IDEMPOTENCY_KEY="exam-1")
    second = requester_client.post(f"/api/v1/projects/{project.pk}/exam", body, format="json",
                                   HTTP_IDEMPOTENCY_KEY="exam-1")

    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == first.json()
    assert QualificationExam.objects.count() == 1


def test_a_retried_platform_exam_creation_with_the_same_key_replays_the_first(staff_client,
                                                                              requester):
    project = make_gold_only_project(requester, ANSWERS)
    body = {"project_id": project.pk, "skill": "sentiment-en", "pass_mark": 0.5,
            "question_count": 2}

    first = staff_client.post("/api/v1/admin/exams", body, format="json",
                              HTTP_IDEMPOTENCY_KEY="exam-2")
    second = staff_client.post("/api/v1/admin/exams", body, format="json",
                               HTTP_IDEMPOTENCY_KEY="exam-2")

    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == first.json()
    assert QualificationExam.objects.count() == 1


# --- blocks (issue 10) ----------------------------------------------------------------------


def test_a_blocked_worker_neither_sees_nor_starts_that_organizations_exam(
        requester, staff, worker_client, active_worker):
    from marketplace.services import worker_pseudonym_for
    from workers.services import worker_block

    org_exam = _org_exam(requester)
    platform_exam = _platform_exam(staff, requester, name="Platform sentiment")
    project = make_project(requester, name="Acme reviews")
    worker_block(project=project, actor=requester, reason="Copy-pasted answers.",
                 pseudonym=worker_pseudonym_for(project=project, worker=active_worker))
    before = _state(active_worker)

    listed = worker_client.get(QUALIFICATIONS)
    started = worker_client.post(_start_url(org_exam.pk))

    assert listed.status_code == 200
    body = listed.json()
    exams = body["results"] if isinstance(body, dict) else body
    assert [exam["id"] for exam in exams] == [platform_exam.pk]
    assert started.status_code == 404
    assert _state(active_worker) == before
