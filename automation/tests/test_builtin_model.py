"""The built-in model (TF-IDF + logistic regression) learns a separable toy text set from
the crowd's final results and predicts every waiting item; its held-out accuracy is
recorded and reported."""
import pytest
from django.utils import timezone

from automation.models import BuiltinModelRun, Prediction
from conftest import client_for
from flows import automation as automation_flow
from marketplace.models import Item
from qa.tests.conftest import launched_project

pytestmark = pytest.mark.django_db

GOOD = ["great wonderful product", "love it, wonderful", "great value, love",
        "excellent and great", "wonderful, excellent quality"]
BAD = ["awful terrible product", "hate it, terrible", "awful value, hate",
       "broken and awful", "terrible, broken quality"]


def test_learns_a_separable_text_set_and_predicts_waiting_items(requester):
    texts = [(text, "positive") for text in GOOD * 3] + [(text, "negative") for text in BAD * 3]
    waiting = ["great and wonderful", "terrible and broken"]
    project = launched_project(requester, items_per_task=1, tasks=len(texts) + 2,
                               items=[{"text": t} for t, _ in texts]
                               + [{"text": t} for t in waiting])
    items = list(Item.objects.filter(project=project).order_by("pk"))
    # The crowd's final results (set directly: the crowd loop is tested elsewhere).
    for item, (_, label) in zip(items, texts):
        Item.objects.filter(pk=item.pk).update(result=label, confidence=1.0,
                                               finalized_at=timezone.now(), revision=1)

    run = automation_flow.train_builtin_model(project_id=project.pk)

    assert (run.model_version, run.trained_on, run.holdout_accuracy, run.predicted) == (
        "builtin-30", 30, 1.0, 2)
    predicted = dict(Prediction.objects.filter(project=project)
                     .values_list("item__data__text", "value"))
    assert predicted == {"great and wonderful": "positive", "terrible and broken": "negative"}
    assert all(0.5 < score <= 1 for score in
               Prediction.objects.values_list("score", flat=True))
    report = client_for(requester).get(f"/api/v1/projects/{project.pk}/automation").json()
    assert [(r["model_version"], r["trained_on"], r["holdout_accuracy"])
            for r in report["builtin_model_runs"]] == [("builtin-30", 30, 1.0)]


def test_does_not_train_on_too_few_results_or_other_task_types(requester):
    project = launched_project(requester, items_per_task=1, tasks=3)
    rating = launched_project(requester, items_per_task=1, tasks=1, task_type="rating",
                              label_config={"min": 1, "max": 5}, name="Rating")

    assert automation_flow.train_builtin_model(project_id=project.pk) is None
    assert automation_flow.train_builtin_model(project_id=rating.pk) is None
    assert not BuiltinModelRun.objects.exists() and not Prediction.objects.exists()
