"""Shared by the web app tests: one item, label config and valid answer per task type,
and ``launch`` to bring a project of any type to active through the services."""
import base64

from conftest import fund_organization
from flows import projects as projects_flow
from marketplace.services import items_import, project_create
from marketplace.uploads import UploadRow
from workers.tests.factories import project_fields

SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="320" height="200">'
       '<rect width="320" height="200" fill="#cfe3f5"/>'
       '<rect x="40" y="60" width="90" height="80" fill="#d9534f"/>'
       '<circle cx="230" cy="100" r="45" fill="#2e7d32"/></svg>')
IMAGE = "data:image/svg+xml;base64," + base64.b64encode(SVG.encode()).decode()

# task type -> (label_config, item data, a valid answer)
TASK_TYPES = {
    "single_choice": ({"choices": ["positive", "negative", "neutral"]},
                      {"text": "Love this kettle."}, "positive"),
    "multi_choice": ({"choices": ["price", "quality", "delivery"]},
                     {"text": "Cheap and arrived late."}, ["price", "delivery"]),
    "rating": ({"min": 1, "max": 5}, {"text": "How polite is: thanks a lot!"}, 4),
    "text": ({"max_length": 40}, {"text": "Translate: Guten Morgen"}, "Good morning"),
    "spans": ({"labels": ["PERSON", "CITY"]}, {"text": "Ada Lovelace lived in London."},
              [{"start": 0, "end": 12, "label": "PERSON"}]),
    "bbox": ({"labels": ["square", "circle"]}, {"image": IMAGE},
             [{"x": 0.1, "y": 0.1, "w": 0.3, "h": 0.3, "label": "square"}]),
    "pairwise": ({"allow_tie": True}, {"a": "The cat sat.", "b": "Cat sat the."}, "a"),
    "ranking": ({"size": 3}, {"text": "Rank by relevance to 'python'",
                              "options": ["Python docs", "Snake facts", "Cooking"]},
                [0, 1, 2]),
}


def launch(requester, task_type: str, *, items: int = 1, gold: list | None = None,
           **overrides):
    """An active project of ``task_type`` with ``items`` items, one item per task."""
    config, data, _answer = TASK_TYPES[task_type]
    fields = project_fields(name=overrides.pop("name", f"Demo {task_type}"),
                            task_type=task_type, label_config=config, items_per_task=1,
                            instructions=f"Label each item ({task_type}).", **overrides)
    project = project_create(organization=requester.membership.organization,
                             actor=requester, fields=fields)
    items_import(project=project, actor=requester, is_gold=False, rows=[
        UploadRow(row=n + 1, external_id=f"{task_type}-{n}", data=data, answer=None,
                  has_answer=False) for n in range(items)])
    if gold:
        items_import(project=project, actor=requester, is_gold=True, rows=[
            UploadRow(row=n + 1, external_id=f"gold-{n}", data=gold_data, answer=answer,
                      has_answer=True) for n, (gold_data, answer) in enumerate(gold)])
    fund_organization(requester, 1_000_000)
    projects_flow.launch(project=project, actor=requester)
    project.refresh_from_db()
    return project
