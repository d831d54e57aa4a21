"""The cached routable projects of a worker (marketplace/routing_cache.py) follow every
change of their inputs: each test warms the cache, changes one input through its service,
and expects the next read to see it - and a claim to follow it."""
import pytest
from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db.models import signals

from automation.enums import AutomationMode
from conftest import make_worker
from flows import automation as automation_flow
from marketplace import routing_cache
from marketplace.enums import ProjectStatus
from marketplace.models import Project, ProjectSkillRequirement
from marketplace.routing_cache import routable_project_list
from marketplace.services import (
    assignment_claim,
    project_pause,
    project_resume,
    worker_pseudonym_for,
)
from qa.enums import QualityActionKind
from qa.models import QualityAction
from qa.services import suspension_lift
from workers.enums import SkillSource, WorkerStatus
from workers.models import Skill
from workers.services import (
    worker_block,
    worker_clearance_grant,
    worker_skill_set,
    worker_status_set,
    worker_terms_accept,
    worker_unblock,
)
from workers.tests.factories import make_project, make_ready_worker

pytestmark = pytest.mark.django_db


def ready(email="dana@workers.example"):
    return make_ready_worker(make_worker(email), skills={"sentiment-en": 90})


def ids(worker) -> list[int]:
    return [pk for pk, _, _ in routable_project_list(worker=worker)]


@pytest.fixture
def project(requester):
    return make_project(requester)


@pytest.fixture
def worker(project):
    worker = ready()
    assert ids(worker) == [project.pk]  # warm
    return worker


def test_a_warm_entry_is_served_without_touching_the_database(worker, project,
                                                              django_assert_num_queries):
    with django_assert_num_queries(0):
        assert routable_project_list(worker=worker) == [(project.pk, 0, "off")]


def test_worker_suspended_and_reinstated(worker, project):
    worker_status_set(worker=worker, status=WorkerStatus.SUSPENDED)
    assert ids(worker) == []
    assert assignment_claim(worker=worker) is None

    worker_status_set(worker=worker, status=WorkerStatus.ACTIVE)
    assert ids(worker) == [project.pk]


def test_skill_lowered_below_the_minimum(worker):
    worker_skill_set(worker=worker, skill=Skill.objects.get(slug="sentiment-en"), level=10,
                     source=SkillSource.ADMIN)
    assert ids(worker) == []


def test_skill_deleted(worker):
    worker.skills.all().delete()
    assert ids(worker) == []


def test_blocked_and_unblocked(worker, project, requester):
    pseudonym = worker_pseudonym_for(project=project, worker=worker)
    assert ids(worker) == [project.pk]

    worker_block(project=project, pseudonym=pseudonym, actor=requester, reason="Spam.")
    assert ids(worker) == []
    assert assignment_claim(worker=worker) is None

    worker_unblock(project=project, pseudonym=pseudonym, actor=requester)
    assert ids(worker) == [project.pk]


def test_quality_suspension_and_its_lifting(worker, project, requester):
    QualityAction.objects.create(worker=worker, project=project, rule="gold_accuracy",
                                 kind=QualityActionKind.SUSPENDED, reason="Gold.")
    assert ids(worker) == []

    suspension_lift(worker_id=worker.pk, project_id=project.pk, actor=requester)
    assert ids(worker) == [project.pk]


def test_clearance_and_terms(requester, staff):
    confidential = make_project(requester, sensitivity="confidential")
    worker = ready()
    assert ids(worker) == []

    worker_clearance_grant(worker=worker, actor=staff, clearance="confidential",
                           reason="NDA signed.")
    assert ids(worker) == []  # terms not accepted yet
    worker_terms_accept(worker=worker, version=settings.CONFIDENTIALITY_TERMS_VERSION)
    assert ids(worker) == [confidential.pk]


def test_project_paused_and_resumed(worker, project, requester):
    project_pause(project=project, actor=requester)
    assert ids(worker) == []
    assert assignment_claim(worker=worker) is None

    project_resume(project=project, actor=requester)
    assert ids(worker) == [project.pk]


def test_a_new_project_appears(worker, project, requester):
    other = make_project(requester, name="Second")
    assert sorted(ids(worker)) == sorted([project.pk, other.pk])


def test_priority_reorders(worker, project, requester):
    other = make_project(requester, name="Second")
    other.priority = 5
    other.save(update_fields=["priority"])
    assert routable_project_list(worker=worker)[0][:2] == (other.pk, 5)


def test_a_new_skill_requirement(worker, project):
    ProjectSkillRequirement.objects.create(project=project,
                                           skill=Skill.objects.exclude(slug="sentiment-en")
                                           .first(), min_level=50)
    assert ids(worker) == []


def test_automation_mode(worker, project):
    automation_flow.update_settings(project=project, fields={"mode": AutomationMode.ACTIVE})
    assert routable_project_list(worker=worker) == [(project.pk, 0, AutomationMode.ACTIVE)]


def test_confidentiality_terms_version_is_part_of_the_key(worker, project, settings):
    settings.CONFIDENTIALITY_TERMS_VERSION = "2099-01"
    cached = cache.get_many([routing_cache._projects_key()])
    assert cached == {}  # a new terms version starts from new tokens


def test_every_input_model_is_wired():
    for sender in routing_cache.WORKER_SIDE + routing_cache.PROJECT_SIDE:
        model = apps.get_model(sender)
        assert signals.post_save.has_listeners(model), sender
        assert signals.post_delete.has_listeners(model), sender


def test_a_change_committed_while_the_entry_was_computed_outdates_it(
        worker, project, monkeypatch, django_capture_on_commit_callbacks):
    """The race: a claim reads the old rows, the change commits (its after-commit bump),
    then the claim writes its entry. The entry carries the tokens read before the rows, so
    the bump outdates it."""
    worker_status_set(worker=worker, status=WorkerStatus.SUSPENDED)  # entry dropped
    original = routing_cache.routable_projects

    def read_then_change_commits(*, worker):
        rows = list(original(worker=worker).values_list("pk", "priority",
                                                        "automation_settings__mode"))
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            worker_status_set(worker=worker, status=WorkerStatus.ACTIVE)
        assert callbacks  # the after-commit bump ran
        return original(worker=worker).filter(pk__in=[pk for pk, _, _ in rows])

    monkeypatch.setattr(routing_cache, "routable_projects", read_then_change_commits)
    assert ids(worker) == []  # computed from the rows read before the change
    monkeypatch.setattr(routing_cache, "routable_projects", original)

    assert ids(worker) == [project.pk]  # not the stale entry


def test_a_change_bumps_again_after_commit(worker, django_capture_on_commit_callbacks):
    key = routing_cache._worker_key(worker.pk)
    with django_capture_on_commit_callbacks() as callbacks:
        worker_status_set(worker=worker, status=WorkerStatus.SUSPENDED)
    token = cache.get(key)
    for callback in callbacks:
        callback()
    assert cache.get(key) != token


def test_a_stale_entry_never_serves_a_project_that_stopped(worker, project):
    # A change no signal saw (a queryset update): the entry still names the project, the
    # claim statement checks its status itself.
    Project.objects.filter(pk=project.pk).update(status=ProjectStatus.PAUSED)
    assert ids(worker) == [project.pk]

    assert assignment_claim(worker=worker) is None
