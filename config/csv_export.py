"""The one CSV writer for every CSV Quorum hands out (results, payouts, statements).

Spreadsheets run a cell that starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return
as a formula, so text written by other people (a worker's name, a bonus reason, an item's
external id) would become ``=HYPERLINK(...)`` in the reader's spreadsheet. Such text gets a
leading apostrophe (OWASP's advice); numbers are written as numbers, structures as JSON.
"""
import csv
import io
import json
from collections.abc import Iterable, Iterator

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str | int | float:
    if value is None:
        return ""
    if isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return value
    if not isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # lists, dicts: never formulas
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def csv_lines(rows: Iterable[Iterable]) -> Iterator[str]:
    """Each row as one CSV chunk (streaming); every cell passes through ``safe_cell``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate(0)
        yield text


def csv_text(rows: Iterable[Iterable]) -> str:
    return "".join(csv_lines(rows))
