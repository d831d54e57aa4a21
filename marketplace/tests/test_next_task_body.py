"""The next task's body is built by hand for speed (marketplace/api/assignment_views.py);
NextTaskOutput documents it. Both must render the same JSON, whatever the project's pay
model, gold, masking or instructions version."""
import json

import pytest
from rest_framework.renderers import JSONRenderer

from marketplace import selectors
from marketplace.api.assignment_views import NextTaskOutput, _worker_items
from marketplace.models import Assignment
from marketplace.tests.test_hot_path_queries import launched, next_task
from privacy.tests.helpers import cleared_worker

pytestmark = pytest.mark.django_db


def rendered_by_the_serializer(assignment_id: int) -> dict:
    assignment = Assignment.objects.select_related("project").get(pk=assignment_id)
    body = NextTaskOutput({
        "assignment_id": assignment.pk, "expires_at": assignment.expires_at,
        "instructions_version": assignment.instructions_version,
        "instructions_changed": selectors.instructions_change_for(assignment=assignment),
        "project": assignment.project, "items": _worker_items(assignment)}).data
    return json.loads(JSONRenderer().render(body))


@pytest.mark.parametrize("fields", [
    {"gold_per_task": 1, "items_per_task": 2, "overlap": 2},
    {"pay_model": "hourly", "hourly_rate_cents": 1800, "reward_cents": None,
     "max_seconds_per_assignment": 900},
    {"mask_pii_for_workers": True, "sensitivity": "pii"},
], ids=["per-task-with-gold", "hourly", "masked"])
def test_next_task_body_is_what_its_serializer_renders(requester, fields):
    launched(requester, tasks=3, gold=3, **fields)
    # cleared for personal data (the masked project's sensitivity), which no other needs
    _, client = cleared_worker("dana@workers.example")

    response = next_task(client)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body == rendered_by_the_serializer(body["assignment_id"])
    assert set(body["project"]) == set(NextTaskOutput().fields["project"].fields)
