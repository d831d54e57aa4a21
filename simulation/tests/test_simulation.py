"""The simulated crowd, end to end through the real flows (small crowds, few items)."""
import math
import threading
from datetime import datetime, timezone as dt_timezone

import pytest
from django.conf import settings
from django.utils import timezone

from conftest import make_requester
from marketplace.models import Project
from marketplace.services import items_import, project_create
from marketplace.uploads import UploadRow
from qa.models import QualitySettings
from simulation.engine import wilson_interval
from simulation.sandbox import SimulatedClock
from simulation.services import simulate
from workers.tests.factories import project_fields

pytestmark = pytest.mark.django_db

HONEST = {"workers": 6, "accuracy": {"mean": 0.7, "sd": 0.0}, "spammer_share": 0.0,
          "spammer_kind": "random", "seconds_per_task": {"mean": 120, "sd": 30},
          "items": None, "seed": 7, "sweep": False}


def _project(requester, *, items: int, gold: int = 0, **overrides) -> Project:
    project = project_create(organization=requester.membership.organization, actor=requester,
                             fields=project_fields(**overrides))
    def data(i: int) -> dict:
        if project.task_type == "ranking":  # a ranking item carries its `size` options
            return {"text": f"item {i}", "options": [f"option {n}" for n in
                                                     range(project.label_config["size"])]}
        return {"text": f"item {i}"}

    items_import(project=project, actor=requester, is_gold=False, rows=[
        UploadRow(row=i + 1, external_id=f"i{i}", data=data(i), answer=None,
                  has_answer=False) for i in range(items)])
    if gold:
        choices = project.label_config["choices"]
        items_import(project=project, actor=requester, is_gold=True, rows=[
            UploadRow(row=i + 1, external_id=f"g{i}", data={"text": f"gold {i}"},
                      answer=choices[i % len(choices)], has_answer=True) for i in range(gold)])
    return project


def test_majority_vote_of_three_matches_the_analytic_accuracy():
    # Given honest workers of accuracy p on a binary question, overlap 3, no dynamic overlap
    requester = make_requester("sim@acme.example", "Acme")
    project = _project(requester, items=120, label_config={"choices": ["yes", "no"]},
                       items_per_task=10, overlap=3, max_overlap=3)
    # When the crowd labels it
    report, detail = simulate(project=project, params=HONEST)
    # Then every item is final and the accuracy's interval holds p^3 + 3p^2(1-p)
    p = 0.7
    analytic = p ** 3 + 3 * p ** 2 * (1 - p)
    assert detail["items_final"] == 120
    low, high = report["accuracy_interval"]
    assert low <= analytic <= high
    correct = round(report["accuracy"] * 120)
    assert report["accuracy_interval"] == wilson_interval(correct, 120)
    assert report["extra_labels"] == 0
    assert report["spammer_labels_before_stop"] == 0
    # 12 tasks x 3 assignments at 10 cents plus the platform fee
    assert detail["submissions"] == 36
    assert report["cost_cents"] > 36 * 10 - 1
    assert report["hours_to_finish"] > 0
    # 10 cents a task of about two minutes is under the fair-pay floor: the only advice
    hourly = report["effective_hourly_cents"]
    assert 0 < hourly < settings.MIN_EFFECTIVE_HOURLY_CENTS
    assert report["recommendations"] == [
        f"reward_cents 10 → {math.ceil(10 * settings.MIN_EFFECTIVE_HOURLY_CENTS / hourly)} "
        f"to reach the fair-pay floor of {settings.MIN_EFFECTIVE_HOURLY_CENTS} cents per "
        f"hour (now {hourly})"]


def test_spammers_are_suspended_by_the_gold_rule_and_the_report_says_when():
    requester = make_requester("spam@acme.example", "Acme")
    project = _project(requester, items=60, gold=30, items_per_task=3, gold_per_task=1,
                       overlap=2, max_overlap=2, min_gold_accuracy=0.7)
    QualitySettings.objects.create(project=project, min_gold_before_suspension=4)
    params = {**HONEST, "workers": 10, "accuracy": {"mean": 0.95, "sd": 0.02},
              "spammer_share": 0.2, "spammer_kind": "constant", "seed": 3}
    report, detail = simulate(project=project, params=params)
    spammers = detail["spammers"]
    assert len(spammers) == 2
    for spammer in spammers:
        # Stopped, after at least the 4 gold the rule waits for (3 labels per assignment)
        assert spammer["stopped_after_hours"] is not None
        assert spammer["labels_before_stop"] >= 4 * 3
        assert spammer["labels_before_stop"] % 3 == 0
    assert report["spammer_labels_before_stop"] == sum(s["labels_before_stop"] for s in spammers)
    assert report["spammer_paid_cents"] == sum(s["paid_cents"] for s in spammers)


def test_same_seed_gives_the_same_report():
    requester = make_requester("seed@acme.example", "Acme")
    project = _project(requester, items=16, gold=10, items_per_task=4, gold_per_task=1,
                       overlap=2, max_overlap=3, confidence_target=0.9, reward_cents=40)
    params = {**HONEST, "workers": 5, "spammer_share": 0.2, "seed": 11}
    first = simulate(project=project, params=params)
    second = simulate(project=project, params=params)
    assert first == second
    assert first[1]["spammers"] and first[0]["cost_cents"] > 0


@pytest.mark.parametrize("task_type,config", [
    ("multi_choice", {"choices": ["a", "b", "c"]}),
    ("rating", {"min": 1, "max": 5}),
    ("text", {"max_length": 80}),
    ("spans", {"labels": ["PER", "ORG"]}),
    ("bbox", {"labels": ["car", "dog"]}),
    ("pairwise", {"allow_tie": True}),
    ("ranking", {"size": 4}),
])
def test_every_task_type_runs_to_a_result(task_type, config):
    requester = make_requester(f"{task_type}@acme.example", "Acme")
    project = _project(requester, items=6, task_type=task_type, label_config=config,
                       items_per_task=3, overlap=3, max_overlap=3)
    params = {**HONEST, "workers": 4, "accuracy": {"mean": 0.9, "sd": 0.0}}
    report, detail = simulate(project=project, params=params)
    assert detail["items_final"] == 6
    assert detail["submissions"] == 6
    assert 0 <= report["accuracy"] <= 1


def test_the_simulated_clock_belongs_to_the_simulating_thread_only():
    clock = SimulatedClock(datetime(2020, 1, 1, tzinfo=dt_timezone.utc))
    seen = {}
    with clock.installed(seed=1):
        thread = threading.Thread(target=lambda: seen.update(other=timezone.now()))
        thread.start()
        thread.join()
        seen["mine"] = timezone.now()
    assert seen["mine"] == datetime(2020, 1, 1, tzinfo=dt_timezone.utc)
    assert seen["other"].year >= 2026
