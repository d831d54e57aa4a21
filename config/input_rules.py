"""What every input must be before any code reads it, whatever endpoint or upload row it
arrives through (API.md, "every input"):

- JSON nests at most ``MAX_JSON_DEPTH`` levels. Python's parser and every recursive walk
  after it (serializers, jsonb adaptation) would otherwise hit RecursionError: a 500 that an
  anonymous client can trigger on /auth/register.
- No string holds NUL or a lone UTF-16 surrogate, in values or keys: PostgreSQL refuses both
  in text and jsonb (a DataError after validation passed), and neither is text anyone meant.
- Integers fit a signed 64-bit column, the widest one we have; narrower fields carry their
  own ``max_value``.

A breach is a 400 in the contract's error shape naming the field (``fields`` path) or the
upload row, raised before anything is written.
"""
import json
import re

MAX_JSON_DEPTH = 32
MAX_BIGINT = 2**63 - 1
MIN_BIGINT = -(2**63)
BAD_CHARACTERS = re.compile("[\x00\ud800-\udfff]")


def text_problem(text: str) -> str | None:
    """Why this string cannot be stored, or None."""
    found = BAD_CHARACTERS.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "Must not contain the NUL character (\\u0000)."
    return "Must not contain a lone UTF-16 surrogate (invalid Unicode)."


def value_problem(value, *, max_depth: int = MAX_JSON_DEPTH) -> tuple[str, str] | None:
    """The first (dotted path, problem) in a parsed JSON value, or None.

    Iterative, so that checking a deep document cannot itself overflow the stack."""
    stack = [(value, "", 1)]
    while stack:
        current, path, depth = stack.pop()
        if isinstance(current, str):
            problem = text_problem(current)
            if problem:
                return path, problem
        elif isinstance(current, bool) or current is None or isinstance(current, float):
            continue
        elif isinstance(current, int):
            if not MIN_BIGINT <= current <= MAX_BIGINT:
                return path, f"Integers must lie between {MIN_BIGINT} and {MAX_BIGINT}."
        elif isinstance(current, (dict, list)):
            if depth > max_depth:
                return path, f"Nested deeper than {max_depth} levels."
            entries = current.items() if isinstance(current, dict) else enumerate(current)
            # Reversed onto the stack, so the first problem reported is the first in the
            # document.
            for key, child in reversed(list(entries)):
                child_path = f"{path}.{key}" if path else str(key)
                if isinstance(key, str):
                    problem = text_problem(key)
                    if problem:
                        return child_path, "Key: " + problem
                stack.append((child, child_path, depth + 1))
    return None


# In JSON text, NUL and surrogates can only arrive as \u escapes (the parser refuses raw
# control characters, UTF-8 decoding refuses encoded surrogates), and a 64-bit integer has
# at most 19 digits - ASCII ones: other Unicode digits can only sit inside strings.
# The escape search is skipped when the text holds no "\u". Long digit runs are found by
# turning every ASCII digit of the UTF-8 text into "9" and searching for 19 of them: bytes
# translate and find run at memory speed, ten times faster over an 11 MB upload than the
# regex [0-9]{19} (no other character's UTF-8 encoding holds an ASCII digit byte).
_BAD_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")
_DIGITS_AS_NINES = bytes.maketrans(b"0123456789", b"9999999999")
_LONG_INTEGER = b"9" * 19
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


def json_text_has_no_bad_scalars(text: str) -> bool:
    """True when no string in the JSON text can hold NUL or a lone surrogate and no
    integer can leave 64 bits; False means "walk to be sure"."""
    if "\\u" in text and _BAD_ESCAPE.search(text):
        return False
    digits = text.encode("utf-8", "surrogatepass").translate(_DIGITS_AS_NINES)
    return _LONG_INTEGER not in digits


def json_text_is_shallow(text: str) -> bool:
    """True when the JSON text cannot nest deeper than MAX_JSON_DEPTH: it does not even
    open that many brackets (strings included, so this errs towards "walk")."""
    return text.count("[") + text.count("{") <= MAX_JSON_DEPTH


def json_text_is_clean(text: str) -> bool:
    """True when the JSON text cannot break a rule, so the walk over the parsed value can
    be skipped (a large upload is checked at regex speed). False means "walk to be sure"."""
    if not json_text_has_no_bad_scalars(text):
        return False
    if json_text_is_shallow(text):
        return True
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_JSON_STRING.sub('""', text)):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest <= MAX_JSON_DEPTH


def check_value(value, *, where: str | None = None) -> None:
    """Raise a 400 naming the field when ``value`` breaks a rule above."""
    # Imported here: DRF's settings load config.parsers, which loads this module, while
    # config.errors is still importing DRF.
    from config.errors import InvalidInput

    found = value_problem(value)
    if found is not None:
        path, problem = found
        field = path or where or "non_field_errors"
        if where and path:
            field = f"{where}.{path}"
        raise InvalidInput(f"Invalid input: {field}: {problem}", fields={field: [problem]})


class TooDeep(ValueError):
    pass


def _refuse_constant(name: str):
    raise json.JSONDecodeError(f"{name} is not valid JSON", name, 0)


# Shared like json's own default decoder: decoding keeps no state between calls, and
# json.loads with an argument builds a decoder and its scanner per call - a third of the
# cost of a short JSONL line.
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def loads(text: str | bytes):
    """json.loads without NaN/Infinity (not JSON; PostgreSQL refuses them in jsonb) and
    with RecursionError turned into ``TooDeep`` (a ValueError callers report as bad JSON).
    The result still needs ``value_problem`` for the depth limit itself."""
    try:
        if isinstance(text, str) and not text.startswith("\ufeff"):
            return _DECODER.decode(text)
        # bytes (encoding detection) and a leading BOM (its own message) as json.loads does
        return json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise TooDeep(f"JSON nested deeper than {MAX_JSON_DEPTH} levels.") from None


_scan_value = _DECODER.scan_once


def loads_line(line: str):
    """``loads`` for one line of JSON Lines, a third faster on short lines: the decoder's
    scanner is called directly, without ``decode``'s two whitespace regexes. A line it
    does not take whole goes through ``loads``, for the same value or the same error."""
    text = line.strip(" \t\r")  # JSON's whitespace; str.strip() would take more
    try:
        value, end = _scan_value(text, 0)
    except (StopIteration, ValueError, RecursionError):
        return loads(line)
    return value if end == len(text) else loads(line)
