"""What the labeling page shows of each served item, per task type. Items arrive as the
API serves them ({id, data}: gold items look like any other) and leave as template
context; the widget templates are web/templates/web/widgets/<task_type>.html."""
import json

from marketplace.enums import TaskType

_IMAGE_KEYS = ("image", "image_url", "url")
_OPTION_KEYS = ("options", "candidates", "items")


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def _image(data: dict) -> str:
    for key in _IMAGE_KEYS:
        value = data.get(key)
        if isinstance(value, str) and value.startswith(("https://", "http://", "/",
                                                        "data:image/")):
            return value
    return ""


def items_for(*, project, served: list[dict]) -> list[dict]:
    """Served items ({id, data, prediction?: {value}}) as the widget templates show them."""
    task_type, config = project.task_type, project.label_config
    shown = []
    for index, item in enumerate(served):
        data = item["data"] if isinstance(item["data"], dict) else {"value": item["data"]}
        used = {"text"} | set(_IMAGE_KEYS)
        view = {"id": item["id"], "index": index, "number": index + 1,
                "text": _text(data.get("text")), "image": _image(data)}
        if task_type == TaskType.PAIRWISE:
            view["a"], view["b"] = data.get("a", ""), data.get("b", "")
            used |= {"a", "b"}
        if task_type == TaskType.RANKING:
            options = next((data[key] for key in _OPTION_KEYS
                            if isinstance(data.get(key), list)), None)
            size = config["size"]
            if not options or len(options) != size:
                options = [f"Option {n + 1}" for n in range(size)]
            view["options"] = [{"index": n, "label": str(label)}
                               for n, label in enumerate(options)]
            used |= set(_OPTION_KEYS)
        view["fields"] = [(key, value if isinstance(value, str) else str(value))
                          for key, value in data.items() if key not in used]
        # Prelabel mode: the model's answer (or a gold decoy), JSON for labeling.js to
        # pre-fill the widget with; the worker checks and corrects it.
        if item.get("prediction") is not None:
            view["prediction"] = json.dumps(item["prediction"]["value"])
        shown.append(view)
    return shown


def config_for(project) -> dict:
    """The label config in the shape the widget templates use: choices with their digit
    shortcut (1-9), the rating scale, labels, limits."""
    config, task_type = project.label_config, project.task_type
    view = {"task_type": task_type}
    if task_type in (TaskType.SINGLE_CHOICE, TaskType.MULTI_CHOICE):
        view["choices"] = [{"value": choice, "key": str(n + 1) if n < 9 else ""}
                           for n, choice in enumerate(config["choices"])]
    elif task_type == TaskType.RATING:
        low, high = config["min"], config["max"]
        view.update(min=low, max=high, scale=(
            [{"value": v, "key": str(n + 1)} for n, v in enumerate(range(low, high + 1))]
            if high - low < 9 else None))
    elif task_type == TaskType.TEXT:
        view["max_length"] = config["max_length"]
    elif task_type in (TaskType.SPANS, TaskType.BBOX):
        view["labels"] = config["labels"]
    elif task_type == TaskType.PAIRWISE:
        view["choices"] = [{"value": "a", "label": "A is better", "key": "1"},
                           {"value": "b", "label": "B is better", "key": "2"}]
        if config["allow_tie"]:
            view["choices"].append({"value": "tie", "label": "Tie", "key": "3"})
    elif task_type == TaskType.RANKING:
        view["size"] = config["size"]
    return view


def with_answers(*, project, shown: list[dict], values: list) -> list[dict]:
    """Read-only mode (the requester console's review): each shown item carries the
    worker's answer in the shape its widget template shows it - ``answer`` for choices,
    ratings and text, the choice and rationale of a pairwise answer, the ranking's options
    in the worker's order, and JSON for the spans and boxes scripts."""
    for view, value in zip(shown, values):
        view["answer"] = value
        if project.task_type == TaskType.PAIRWISE:
            if isinstance(value, dict):
                view["answer_choice"] = value.get("choice")
                view["answer_rationale"] = value.get("rationale", "")
            else:
                view["answer_choice"], view["answer_rationale"] = value, ""
        elif project.task_type == TaskType.RANKING and isinstance(value, list):
            by_index = {option["index"]: option for option in view["options"]}
            if sorted(value) == sorted(by_index):
                view["options"] = [by_index[index] for index in value]
        elif project.task_type in (TaskType.SPANS, TaskType.BBOX):
            view["answer_json"] = json.dumps(value if isinstance(value, list) else [])
        elif project.task_type == TaskType.MULTI_CHOICE and not isinstance(value, list):
            view["answer"] = []
    return shown
