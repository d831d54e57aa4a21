"""Console selectors: chart series agree with the API's figures; warnings come from what
the API computes."""
import pytest
from django.utils import timezone

from automation.models import AutomationSettings
from console import selectors
from payments.selectors import project_progress
from qa.selectors import project_agreement
from web.tests.conftest import launch

from .conftest import ready_worker, work_once

pytestmark = pytest.mark.django_db


def test_agreement_chart_ends_at_the_progress_figures_alpha(
        requester, django_capture_on_commit_callbacks):
    project = launch(requester, "single_choice", items=3, overlap=2, name="Alpha")
    ana, ben = ready_worker("ana@workers.example"), ready_worker("ben@workers.example")
    for worker, answers in ((ana, ["positive", "positive", "negative"]),
                            (ben, ["positive", "negative", "negative"])):
        for answer in answers:
            with django_capture_on_commit_callbacks(execute=True):
                work_once(worker, project, gold_answer=answer, answer=answer)
    points = selectors.agreement_series(project=project)
    assert len(points) == 1
    assert points[-1][1] is not None
    assert points[-1][1] == project_agreement(project=project)
    progress = project_progress(project=project)
    finalized = selectors.items_finalized_series(project=project, progress=progress)
    assert finalized["points"][-1][1] == progress["items_done"] == 3
    assert [row["value"] for row in selectors.confidence_histogram(project=project)
            if row["value"]] != []


def test_warnings_name_automation_paused_and_funds_pause(requester, worked_project):
    AutomationSettings.objects.create(project=worked_project, mode="auto_accept",
                                      paused_at=timezone.now(),
                                      paused_reason="spot checks fell under the target")
    summary = selectors.project_summary(project=worked_project)
    assert [w["code"] for w in summary["warnings"]] == ["automation_paused"]
    assert "spot checks fell under the target" in summary["warnings"][0]["message"]


def test_pay_under_the_floor_is_warned(requester, worked_project, settings):
    from marketplace.models import Assignment

    from django.core.cache import caches

    Assignment.objects.filter(project=worked_project).update(active_seconds=600)
    caches["process"].clear()  # the rate measured at claim time (none yet) is memoised
    settings.MIN_EFFECTIVE_HOURLY_CENTS = 5000  # 10 cents per 10 minutes is 60 cents/h
    summary = selectors.project_summary(project=worked_project)
    assert "below_min_effective_hourly" in [w["code"] for w in summary["warnings"]]
