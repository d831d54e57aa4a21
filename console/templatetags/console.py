from django import template

register = template.Library()


@register.filter
def duration(seconds) -> str:
    """Seconds as "3 h 20 min" ("–" when unknown, "done" at 0)."""
    if seconds is None or seconds == "":
        return "–"
    seconds = int(seconds)
    if seconds == 0:
        return "done"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = max(1, rest // 60) if not days and not hours else rest // 60
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "",
             f"{minutes} min" if minutes and not days else ""]
    return " ".join(part for part in parts if part)


@register.filter
def field_problems(problems: dict, name: str) -> list:
    return problems.get(name, []) if problems else []


@register.filter
def jsonish(value) -> str:
    import json

    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@register.filter
def get_value(data, name: str):
    """A submitted form value (for re-rendering the builder after a refusal)."""
    if not data:
        return ""
    value = data.get(name, "")
    return value if value is not None else ""
