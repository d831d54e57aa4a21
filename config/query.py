"""Query-string filters read one way on every list endpoint: an unknown value is a 400
naming the parameter and the accepted values, never an empty list (a typo would look like
"no data") and never a database error."""
from collections.abc import Iterable

from config.errors import InvalidInput

_TRUE = ("1", "true", "yes")
_FALSE = ("0", "false", "no")


def choice_param(request, name: str, choices: Iterable[str], default: str | None = None
                 ) -> str | None:
    """The value of ``?name=`` if it is one of ``choices``; ``default`` when absent or empty."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    allowed = list(choices)
    if raw not in allowed:
        raise InvalidInput(f"Unknown {name} {raw!r}: choose from {', '.join(allowed)}.",
                           fields={name: [f"Choose from {', '.join(allowed)}."]})
    return raw


def bool_param(request, name: str) -> bool | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    lowered = raw.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise InvalidInput(f"{name} must be true or false.", fields={name: ["Must be true or false."]})
