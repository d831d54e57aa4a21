"""The new-project form: every field of the API's ProjectInput, validated by that very
serializer and by ``project_create`` (run in a transaction that is rolled back, for the
live check), the workers' view of the task rendered by the worker templates, and the
cost estimate from the payments services that launch uses."""
import json
from dataclasses import dataclass

from django.db import transaction
from django.template.loader import render_to_string
from rest_framework import serializers

from config.errors import ApiError
from flows import projects as projects_flow
from marketplace import task_types
from marketplace.api.serializers import ProjectInput
from marketplace.enums import PayModel, TaskType
from marketplace.models import Project
from payments.services import assignment_cost_cents, pay_floor_cents
from payments.services.escrow import assignment_pay_max_cents
from payments.services.fair_pay import implied_hourly_cents
from web import widgets
from workers.models import Domain, Skill

# What the builder starts from for each task type: a label config and a sample item.
STARTERS = {
    TaskType.SINGLE_CHOICE: ({"choices": ["positive", "negative", "neutral"]},
                             {"text": "The kettle boils fast and looks great."}),
    TaskType.MULTI_CHOICE: ({"choices": ["price", "quality", "delivery"]},
                            {"text": "Cheap, but it arrived late."}),
    TaskType.RATING: ({"min": 1, "max": 5}, {"text": "Thanks a lot for your help!"}),
    TaskType.TEXT: ({"max_length": 200}, {"text": "Translate: Guten Morgen"}),
    TaskType.SPANS: ({"labels": ["PERSON", "CITY"]},
                     {"text": "Ada Lovelace lived in London."}),
    TaskType.BBOX: ({"labels": ["car", "person"]}, {"image": "/static/web/favicon.svg"}),
    TaskType.PAIRWISE: ({"allow_tie": True}, {"a": "The cat sat on the mat.",
                                              "b": "On the mat the cat sat."}),
    TaskType.RANKING: ({"size": 3}, {"text": "Rank by relevance to 'python'",
                                     "options": ["Python docs", "Snake facts", "Cooking"]}),
}

# Form inputs that are not project fields.
BUILDER_ONLY = ("sample_item", "estimate_items", "skill_level", "skills")


@dataclass
class FieldView:
    name: str
    label: str
    kind: str          # text | textarea | number | select | checkbox | json
    required: bool
    help_text: str
    choices: list
    step: str = "1"


def form_fields() -> list[FieldView]:
    """Every field of ProjectInput, in its order, as the template shows it."""
    shown = []
    for name, field in ProjectInput().fields.items():
        if name == "required_skills":
            continue
        choices, kind, step = [], "text", "1"
        if name == "domain":
            kind = "select"
            choices = [("", "Any")] + list(Domain.objects.order_by("name")
                                           .values_list("slug", "name"))
        elif isinstance(field, serializers.ChoiceField):
            kind, choices = "select", list(field.choices.items())
        elif isinstance(field, serializers.BooleanField):
            kind = "checkbox"
        elif isinstance(field, serializers.IntegerField):
            kind = "number"
        elif isinstance(field, serializers.FloatField):
            kind, step = "number", "0.01"
        elif isinstance(field, serializers.JSONField):
            kind = "json"
        elif name == "instructions":
            kind = "textarea"
        shown.append(FieldView(name=name, label=name.replace("_", " ").capitalize(),
                               kind=kind, required=field.required,
                               help_text=str(field.help_text or ""), choices=choices,
                               step=step))
    return shown


def skill_choices() -> list[tuple[str, str]]:
    return list(Skill.objects.order_by("domain__name", "name").values_list("slug", "name"))


def payload_from_form(data) -> dict:
    """The API body the form stands for: blank optional fields are left out (so the
    serializer's defaults apply), checkboxes are booleans, the label config is JSON."""
    fields = ProjectInput().fields
    body = {}
    for name, field in fields.items():
        if name == "required_skills":
            continue
        if isinstance(field, serializers.BooleanField):
            body[name] = data.get(name) in ("on", "true", True, "1")
            continue
        value = data.get(name)
        if value is None or value == "":
            continue
        if name == "label_config" and isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                value = {"__invalid__": value}
        body[name] = value
    skills = data.getlist("skills") if hasattr(data, "getlist") else data.get("skills") or []
    level = data.get("skill_level") or 0
    body["required_skills"] = [{"skill": slug, "min_level": level} for slug in skills]
    return body


def _serializer_errors(errors) -> dict[str, list[str]]:
    flat = {}
    for name, problems in errors.items():
        if isinstance(problems, dict):
            for key, inner in _serializer_errors(problems).items():
                flat[f"{name}.{key}"] = inner
        elif isinstance(problems, list) and problems and isinstance(problems[0], dict):
            for index, entry in enumerate(problems):
                for key, inner in _serializer_errors(entry).items():
                    flat[f"{name}.{index}.{key}"] = inner
        else:
            flat[name] = [str(problem) for problem in problems]
    return flat


class _DryRun(Exception):
    pass


def validate(*, organization, actor, body: dict) -> tuple[dict | None, dict[str, list[str]]]:
    """(validated fields, problems by field) from the serializer and the service. The
    service runs for real and its transaction is rolled back: one set of rules."""
    if isinstance(body.get("label_config"), dict) and "__invalid__" in body["label_config"]:
        return None, {"label_config": ["Not valid JSON."]}
    payload = ProjectInput(data=body)
    if not payload.is_valid():
        return None, _serializer_errors(payload.errors)
    try:
        with transaction.atomic():
            projects_flow.create(organization=organization, actor=actor,
                                 fields=payload.validated_data)
            raise _DryRun
    except _DryRun:
        pass
    except ApiError as exc:
        return None, {key: list(problems) for key, problems in (exc.fields or {}).items()} \
            or {"form": [str(exc.detail)]}
    return payload.validated_data, {}


def create(*, organization, actor, body: dict):
    """(project, problems): the project created through the API's serializer and service."""
    payload = ProjectInput(data=body)
    if not payload.is_valid():
        return None, _serializer_errors(payload.errors)
    try:
        project = projects_flow.create(organization=organization, actor=actor,
                                       fields=payload.validated_data)
    except ApiError as exc:
        return None, {key: list(problems) for key, problems in (exc.fields or {}).items()} \
            or {"form": [str(exc.detail)]}
    return project, {}


def estimate(*, fields: dict, items: int) -> dict:
    """What launch will reserve for ``items`` items (escrow: tasks x overlap x (pay +
    fee); gold rides inside each assignment), what raised overlap could add, and the
    implied hourly pay against the floor - from the services launch itself uses."""
    project = Project(**{name: value for name, value in fields.items()
                         if name not in ("required_skills", "domain",
                                         *projects_flow.AUTOMATION_FIELDS)})
    project.max_overlap = fields.get("max_overlap") or project.overlap
    tasks = -(-items // project.items_per_task) if items else 0
    slots = tasks * project.overlap
    pay = assignment_pay_max_cents(project=project)
    cost = assignment_cost_cents(project=project)
    floor = pay_floor_cents(project=project)
    implied = None
    if project.pay_model == PayModel.HOURLY:
        implied = project.hourly_rate_cents
    elif project.estimated_seconds_per_task and project.reward_cents is not None:
        implied = implied_hourly_cents(reward_cents=project.reward_cents,
                                       seconds=project.estimated_seconds_per_task)
    labels_per_assignment = project.items_per_task + project.gold_per_task
    return {
        "items": items, "tasks": tasks, "assignments": slots,
        "pay_cents": slots * pay, "fee_cents": slots * (cost - pay),
        "total_cents": slots * cost,
        "max_total_cents": tasks * project.max_overlap * cost,
        "gold_labels": slots * project.gold_per_task,
        "gold_share": (project.gold_per_task / labels_per_assignment
                       if labels_per_assignment else 0),
        "implied_hourly_cents": implied, "floor_cents": floor,
        "below_floor": bool(floor and implied is not None and implied < floor),
        "budget_cents": project.budget_cents,
        "over_budget": bool(project.budget_cents is not None
                            and slots * cost > project.budget_cents),
    }


def preview_html(*, task_type: str, label_config, sample, instructions: str,
                 request) -> tuple[str, list[str]]:
    """The task as a worker will see it (the worker templates), or the label config's
    and sample item's problems."""
    if task_type not in TaskType.values:
        return "", ["Choose a task type."]
    problems = list(task_types.label_config_problems(task_type, label_config))
    if not problems:
        problems = list(task_types.item_data_problems(task_type, sample, label_config))
    if problems:
        return "", problems
    project = Project(task_type=task_type, label_config=label_config,
                      instructions=instructions)
    items = widgets.items_for(project=project, served=[{"id": 0, "data": sample}])
    html = render_to_string("console/_preview.html", {
        "project": project, "config": widgets.config_for(project), "items": items},
        request=request)
    return html, []
