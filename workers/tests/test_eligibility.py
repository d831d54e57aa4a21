"""eligible_projects: "which active projects may this worker take?" - verified skills at the
required levels, a verified skill in the project's domain, clearance (with current terms)
covering the sensitivity, not blocked by the organization, required exams passed; never an
exam project; all in a constant, small number of queries."""
from dataclasses import dataclass, field
from typing import Callable

import pytest
from conftest import fund_organization
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from marketplace.services import worker_pseudonym_for
from workers.models import ExamAttempt, QualificationExam, Skill, WorkerProfile
from workers.selectors import eligible_projects
from workers.services import exam_create, exam_require, worker_block, worker_erase

from .factories import (
    give_skills,
    make_gold_only_project,
    make_project,
    make_ready_worker,
)

# The baseline: sentiment-en >= 50, domain languages, public, active.
BASE_SKILLS = {"sentiment-en": 60}


@dataclass
class Context:
    requester: object
    other_requester: object
    staff: object
    worker: WorkerProfile
    project: object


@dataclass
class Case:
    id: str
    expected: bool
    skills: dict = field(default_factory=lambda: dict(BASE_SKILLS))
    source: str = "admin"
    status: str = "active"
    clearance: str = "none"
    terms: bool = False
    project: dict = field(default_factory=dict)
    project_status: str = "active"
    setup: Callable[[Context], None] | None = None


def _exam(ctx: Context, *, organization=True):
    project = make_gold_only_project(ctx.requester, ["positive"], name="Gate")
    return exam_create(project=project, actor=ctx.requester,
                       skill=Skill.objects.get(slug="sentiment-en"), pass_mark=1.0,
                       question_count=1,
                       organization=ctx.requester.membership.organization if organization
                       else None)


def _attempt(ctx: Context, exam, status: str) -> None:
    ExamAttempt.objects.create(exam=exam, worker=ctx.worker, item_ids=[], status=status,
                               score=1.0 if status == "passed" else 0.0,
                               expires_at=timezone.now(), submitted_at=timezone.now())


def _requires_exam(attempt_status: str | None, *, organization=True):
    def setup(ctx: Context) -> None:
        exam = _exam(ctx, organization=organization)
        exam_require(project=ctx.project, exam=exam, actor=ctx.requester)
        if attempt_status:
            _attempt(ctx, exam, attempt_status)
    return setup


def _requires_two_exams_one_passed(ctx: Context) -> None:
    passed, missing = _exam(ctx), _exam(ctx)
    for exam in (passed, missing):
        exam_require(project=ctx.project, exam=exam, actor=ctx.requester)
    _attempt(ctx, passed, "passed")


def _exam_passed_for_another_project_only(ctx: Context) -> None:
    exam = _exam(ctx)
    exam_require(project=ctx.project, exam=exam, actor=ctx.requester)
    _attempt(ctx, _exam(ctx), "passed")


def _blocked_by(which: str):
    def setup(ctx: Context) -> None:
        owner = ctx.requester if which == "same" else ctx.other_requester
        project = ctx.project if which == "same" else make_project(owner, status="draft",
                                                                   name="Elsewhere")
        worker_block(project=project, actor=owner, reason="Spam.",
                     pseudonym=worker_pseudonym_for(project=project, worker=ctx.worker))
    return setup


def _blocked_from_a_sibling_project(ctx: Context) -> None:
    sibling = make_project(ctx.requester, status="draft", name="Sibling")
    worker_block(project=sibling, actor=ctx.requester, reason="Spam.",
                 pseudonym=worker_pseudonym_for(project=sibling, worker=ctx.worker))


def _declares_domain(slug: str):
    def setup(ctx: Context) -> None:
        from workers.models import Domain
        ctx.worker.domains.add(Domain.objects.get(slug=slug))
    return setup


def _terms_of_an_old_version(ctx: Context) -> None:
    WorkerProfile.objects.filter(pk=ctx.worker.pk).update(terms_version_accepted="2025-01")
    ctx.worker.refresh_from_db()


def _erased(ctx: Context) -> None:
    worker_erase(worker=ctx.worker, actor=ctx.worker.user)
    ctx.worker.refresh_from_db()


def _is_an_exam(ctx: Context) -> None:
    # An active project that is also an exam. The services forbid building this (exams
    # hold gold only), so the exam row is written directly to prove routing's own guard.
    exam_project = make_gold_only_project(ctx.requester, ["positive"], name="Exam")
    from flows.projects import launch
    from marketplace.services import items_import
    from marketplace.uploads import UploadRow
    items_import(project=exam_project, actor=ctx.requester, is_gold=False, rows=[
        UploadRow(row=1, external_id=None, data={"text": "x"}, answer=None, has_answer=False)])
    fund_organization(ctx.requester, 100_000)
    launch(project=exam_project, actor=ctx.requester)
    QualificationExam.objects.create(project=exam_project, organization=None,
                                     skill=Skill.objects.get(slug="sentiment-en"),
                                     pass_mark=1.0, question_count=1, created_by=ctx.staff)
    exam_project.refresh_from_db()
    assert exam_project.status == "active"
    ctx.project = exam_project


CASES = [
    Case("baseline", True),
    # status
    *[Case(f"status_{status}", False, status=status)
      for status in ("applicant", "vetting", "suspended", "banned")],
    Case("erased", False, setup=_erased),
    # skills
    Case("missing_skill", False, skills={"translation-de": 90}),
    Case("no_skills_at_all", False, skills={}),
    Case("level_below_minimum", False, skills={"sentiment-en": 49}),
    Case("level_at_minimum", True, skills={"sentiment-en": 50}),
    Case("level_100", True, skills={"sentiment-en": 100}),
    Case("claimed_only_skill_does_not_count", False, skills={"sentiment-en": 100},
         source="claimed"),
    Case("exam_level_counts", True, source="exam"),
    Case("gold_level_counts", True, source="gold"),
    Case("two_required_skills_both_held", True,
         skills={"sentiment-en": 60, "translation-de": 70},
         project={"required_skills": [{"skill": "sentiment-en", "min_level": 50},
                                      {"skill": "translation-de", "min_level": 70}]}),
    Case("two_required_skills_one_short", False,
         skills={"sentiment-en": 60, "translation-de": 69},
         project={"required_skills": [{"skill": "sentiment-en", "min_level": 50},
                                      {"skill": "translation-de", "min_level": 70}]}),
    Case("no_requirements_no_domain", True, skills={},
         project={"required_skills": [], "domain": None}),
    # domain
    Case("domain_without_verified_skill_in_it", False,
         project={"required_skills": [], "domain": "law"}),
    Case("domain_with_only_a_claimed_skill_in_it", False, skills={"contract-review": 90},
         source="claimed", project={"required_skills": [], "domain": "law"}),
    Case("domain_declared_on_profile_is_not_enough", False,
         project={"required_skills": [], "domain": "law"}, setup=_declares_domain("law")),
    Case("domain_with_verified_skill_in_it", True, skills={"legal-research": 40},
         project={"required_skills": [], "domain": "law"}),
    Case("domain_with_verified_level_zero", False, skills={"legal-research": 0},
         project={"required_skills": [], "domain": "law"}),
    # clearance
    Case("public_needs_no_clearance", True),
    Case("confidential_without_clearance", False, terms=True,
         project={"sensitivity": "confidential"}),
    Case("pii_with_confidential_clearance", False, clearance="confidential", terms=True,
         project={"sensitivity": "pii"}),
    Case("phi_with_pii_clearance", False, clearance="pii", terms=True,
         project={"sensitivity": "phi"}),
    Case("confidential_with_confidential_clearance", True, clearance="confidential",
         terms=True, project={"sensitivity": "confidential"}),
    Case("pii_with_pii_clearance", True, clearance="pii", terms=True,
         project={"sensitivity": "pii"}),
    Case("phi_with_phi_clearance", True, clearance="phi", terms=True,
         project={"sensitivity": "phi"}),
    Case("confidential_with_phi_clearance", True, clearance="phi", terms=True,
         project={"sensitivity": "confidential"}),
    Case("clearance_ok_but_terms_not_accepted", False, clearance="pii", terms=False,
         project={"sensitivity": "pii"}),
    Case("clearance_ok_but_old_terms", False, clearance="pii", terms=True,
         project={"sensitivity": "pii"}, setup=_terms_of_an_old_version),
    # blocks
    Case("blocked_by_the_organization", False, setup=_blocked_by("same")),
    Case("blocked_from_a_sibling_project", False, setup=_blocked_from_a_sibling_project),
    Case("blocked_by_another_organization", True, setup=_blocked_by("other")),
    # exams
    Case("exam_required_not_taken", False, setup=_requires_exam(None)),
    Case("exam_required_failed", False, setup=_requires_exam("failed")),
    Case("exam_required_in_progress", False, setup=_requires_exam("started")),
    Case("exam_required_passed", True, setup=_requires_exam("passed")),
    Case("platform_exam_required_passed", True,
         setup=_requires_exam("passed", organization=False)),
    Case("two_exams_required_one_passed", False, setup=_requires_two_exams_one_passed),
    Case("passed_a_different_exam", False, setup=_exam_passed_for_another_project_only),
    # project state
    *[Case(f"project_{status}", False, project_status=status)
      for status in ("draft", "paused", "completed", "cancelled")],
    # The base project stays a draft: the launched exam project is the only active one.
    Case("exam_projects_are_never_work", False, project_status="draft", setup=_is_an_exam),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_eligibility_matrix(requester, other_requester, staff, worker, case):
    # given
    profile = make_ready_worker(worker, skills=case.skills, source=case.source,
                                clearance=case.clearance, terms=case.terms,
                                status=case.status)
    project = make_project(requester, status=case.project_status, **case.project)
    ctx = Context(requester=requester, other_requester=other_requester, staff=staff,
                  worker=profile, project=project)
    if case.setup:
        case.setup(ctx)

    # when
    eligible = list(eligible_projects(worker=ctx.worker))

    # then
    assert eligible == ([ctx.project] if case.expected else [])


def test_many_projects_sorted_out_at_once(requester, other_requester, staff, worker):
    profile = make_ready_worker(worker, skills={"sentiment-en": 60, "contract-review": 80},
                                clearance="confidential", terms=True)
    fits = [
        make_project(requester, name="fits 1"),
        make_project(requester, name="fits law", domain="law",
                     required_skills=[{"skill": "contract-review", "min_level": 80}]),
        make_project(other_requester, name="fits confidential", sensitivity="confidential"),
    ]
    make_project(requester, name="too hard",
                 required_skills=[{"skill": "sentiment-en", "min_level": 61}])
    make_project(requester, name="pii", sensitivity="pii")
    make_project(requester, name="paused", status="paused")
    make_project(other_requester, name="science", domain="science", required_skills=[])

    assert sorted(p.pk for p in eligible_projects(worker=profile)) == sorted(
        p.pk for p in fits)


def test_the_api_lists_eligible_projects_by_priority(worker_client, worker, requester):
    make_ready_worker(worker, skills=BASE_SKILLS)
    low = make_project(requester, name="low", priority=0)
    high = make_project(requester, name="high", priority=5)
    make_project(requester, name="too hard",
                 required_skills=[{"skill": "sentiment-en", "min_level": 90}])

    response = worker_client.get("/api/v1/worker/projects")

    assert response.status_code == 200
    assert [(p["id"], p["name"], p["task_type"], p["pay_model"], p["reward_cents"])
            for p in response.json()["results"]] == [
        (high.pk, "high", "single_choice", "per_task", 10),
        (low.pk, "low", "single_choice", "per_task", 10)]


def test_the_api_lists_nothing_for_a_worker_not_yet_vetted(worker_client, worker, requester):
    make_project(requester)
    give_skills(WorkerProfile.objects.get(user=worker), BASE_SKILLS)

    response = worker_client.get("/api/v1/worker/projects")

    assert (response.status_code, response.json()["results"]) == (200, [])


# --- cost -----------------------------------------------------------------------------------


def _world(requester, other_requester, staff, worker, count: int) -> WorkerProfile:
    """``count`` active projects exercising every rule, for a worker eligible for some."""
    profile = make_ready_worker(worker, skills={"sentiment-en": 60, "contract-review": 70},
                                clearance="pii", terms=True)
    gate = exam_create(project=make_gold_only_project(requester, ["positive"], name="Gate"),
                       actor=staff, skill=Skill.objects.get(slug="sentiment-en"),
                       pass_mark=1.0, question_count=1, organization=None)
    ExamAttempt.objects.create(exam=gate, worker=profile, item_ids=[], status="passed",
                               score=1.0, expires_at=timezone.now())
    variants = [
        {},
        {"domain": "law", "required_skills": [{"skill": "contract-review", "min_level": 70}]},
        {"sensitivity": "pii"},
        {"sensitivity": "phi"},
        {"required_skills": [{"skill": "sentiment-en", "min_level": 90}]},
        {"domain": "science", "required_skills": []},
    ]
    for index in range(count):
        owner = requester if index % 2 else other_requester
        project = make_project(owner, name=f"p{index}", **variants[index % len(variants)])
        if index % 3 == 0:
            exam_require(project=project, exam=gate, actor=owner)
    blocked_on = make_project(requester, status="draft", name="blocked here")
    worker_block(project=blocked_on, actor=requester, reason="Spam.",
                 pseudonym=worker_pseudonym_for(project=blocked_on, worker=profile))
    return profile


def _queries_to_evaluate(profile: WorkerProfile) -> tuple[int, int]:
    profile = WorkerProfile.objects.get(pk=profile.pk)
    with CaptureQueriesContext(connection) as captured:
        eligible = list(eligible_projects(worker=profile))
    return len(captured), len(eligible)


@pytest.mark.parametrize("count", [1, 30])
def test_evaluation_takes_a_constant_small_number_of_queries(
        requester, other_requester, staff, worker, django_assert_max_num_queries, count):
    profile = _world(requester, other_requester, staff, worker, count)
    profile = WorkerProfile.objects.get(pk=profile.pk)

    with django_assert_max_num_queries(3):
        list(eligible_projects(worker=profile))


def test_query_count_does_not_grow_with_the_number_of_projects(db, requester, other_requester,
                                                              staff):
    from conftest import make_worker
    few = _world(requester, other_requester, staff, make_worker("few@workers.example"), 1)
    few_queries, few_eligible = _queries_to_evaluate(few)
    many = _world(requester, other_requester, staff, make_worker("many@workers.example"), 30)
    many_queries, many_eligible = _queries_to_evaluate(many)

    assert few_queries == many_queries <= 3
    # the larger world really has more to sort out (both workers see both worlds' projects)
    assert many_eligible > few_eligible > 0


def test_the_api_endpoint_cost_is_constant_too(worker, requester, other_requester, staff):
    from conftest import client_for
    profile = _world(requester, other_requester, staff, worker, 2)
    client = client_for(worker)
    client.get("/api/v1/me")  # the token's identity is read once, then cached
    with CaptureQueriesContext(connection) as few:
        assert client.get("/api/v1/worker/projects").status_code == 200
    for index in range(28):
        make_project(requester, name=f"more {index}")

    with CaptureQueriesContext(connection) as many:
        response = client.get("/api/v1/worker/projects")

    assert len(many) == len(few) <= 5  # worker profile, page count, page rows
    assert response.json()["count"] == eligible_projects(worker=profile).count()
