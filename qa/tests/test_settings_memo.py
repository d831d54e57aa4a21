"""Inside one submit the quality settings come from the cache once (issue 11: the
submit's three readers each paid a Redis round trip), and a save inside a memo block is
seen by the next read."""
import pytest

from flows import work
from qa import settings_cache
from qa.models import QualitySettings, Review
from qa.selectors import quality_settings_for, quality_settings_memo
from qa.tests.conftest import answers_for, claim, eligible_worker, launched_project

pytestmark = pytest.mark.django_db


@pytest.fixture
def cache_reads(monkeypatch):
    reads = []
    original = settings_cache._cached_row

    def counting(*, project_id):
        reads.append(project_id)
        return original(project_id=project_id)

    monkeypatch.setattr(settings_cache, "_cached_row", counting)
    return reads


def test_a_submit_reads_the_quality_settings_from_the_cache_once(requester, cache_reads):
    project = launched_project(requester, tasks=2, items_per_task=1, overlap=1)
    QualitySettings.objects.create(project=project, spot_check_rate=1.0)
    worker = eligible_worker("a@workers.example")
    assignment = claim(worker, project)
    cache_reads.clear()

    work.submit(assignment_id=assignment.pk, worker=worker,
                answers=answers_for(assignment, "positive"))

    assert cache_reads == [project.pk]
    assert Review.objects.filter(assignment=assignment).count() == 1  # rate 1.0 applied


def test_reads_outside_a_memo_each_go_to_the_cache(requester, cache_reads):
    project = launched_project(requester, tasks=1, items_per_task=1, overlap=1)
    quality_settings_for(project=project)
    quality_settings_for(project=project)
    assert cache_reads == [project.pk, project.pk]


def test_a_save_inside_the_memo_is_seen_by_the_next_read(requester):
    project = launched_project(requester, tasks=1, items_per_task=1, overlap=1)
    with quality_settings_memo():
        assert quality_settings_for(project=project).spot_check_rate == 0
        QualitySettings.objects.create(project=project, spot_check_rate=0.5)
        assert quality_settings_for(project=project).spot_check_rate == 0.5


def test_memo_readers_get_their_own_instances(requester):
    project = launched_project(requester, tasks=1, items_per_task=1, overlap=1)
    QualitySettings.objects.create(project=project, spot_check_rate=0.25)
    with quality_settings_memo():
        first = quality_settings_for(project=project)
        first.spot_check_rate = 0.9  # a caller's change stays its own
        assert quality_settings_for(project=project).spot_check_rate == 0.25
