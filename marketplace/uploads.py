"""Parsing item uploads (inline JSON, .json, .jsonl, .csv) into rows.

Only syntax and shape are checked here; what a row means (data, answer, duplicates) is
checked by ``services.items_import``. Row numbers are what a person finds in the file:
the line number for JSONL and CSV (the CSV header is line 1), the 1-based position for
JSON arrays and inline items.
"""
import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from config import input_rules
from config.errors import InvalidInput
from config.gc_pause import gc_paused

FORMATS = ("json", "jsonl", "csv")
# The keys a JSON/JSONL row may carry; everything else in a row is refused.
ROW_KEYS = {"external_id", "answer", "data", "prediction"}
PREDICTION_KEYS = ("value", "score", "model_version")
# CSV has no nesting: a prediction is three columns (the value JSON-encoded, or a bare
# label), and none of them is a data column.
PREDICTION_COLUMNS = {"prediction": "value", "prediction_score": "score",
                      "prediction_model_version": "model_version"}
RESERVED_COLUMNS = ROW_KEYS | set(PREDICTION_COLUMNS)
MAX_ROW_ERRORS = 20
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _strict_loads(text: str, loads=input_rules.loads):
    """json.loads without NaN/Infinity (PostgreSQL refuses them); too deep a document is a
    JSONDecodeError like any other syntax problem."""
    try:
        return loads(text)
    except input_rules.TooDeep as exc:
        raise json.JSONDecodeError(str(exc), "", 0) from None


# Not frozen: a frozen dataclass sets each field through object.__setattr__, which made
# building the rows of a 100,000-line file cost as much as parsing it.
@dataclass(slots=True)
class UploadRow:
    row: int
    external_id: Any
    data: Any
    answer: Any
    has_answer: bool
    unknown_keys: tuple[str, ...] = ()
    # A CSV answer cell as written: "3" may be the choice "3" or the number 3, and only the
    # project's label config can tell (services.imports reads it).
    answer_text: str | None = None
    # A model's prediction ``{value, score, model_version}`` (validated by services.imports
    # like the bulk predictions endpoint); None when the row has none.
    prediction: Any = None
    # The CSV prediction cell as written, read against the label config like answer_text.
    prediction_text: str | None = None


def format_from_filename(filename: str) -> str:
    lowered = filename.lower()
    for extension, file_format in ((".jsonl", "jsonl"), (".ndjson", "jsonl"),
                                   (".json", "json"), (".csv", "csv")):
        if lowered.endswith(extension):
            return file_format
    raise InvalidInput("Upload a .jsonl, .csv or .json file.", code="unsupported_file_type",
                       fields={"file": ["Unsupported file type; use .jsonl, .csv or .json."]})


def _row_error(row: int, message: str) -> InvalidInput:
    return InvalidInput(f"Row {row}: {message}", code="invalid_row",
                        fields={f"rows.{row}": [message]})


def _check_row_value(row: int, value: Any) -> None:
    """Depth, NUL / lone surrogates (keys too) and integer range, named by row and field."""
    found = input_rules.value_problem(value)
    if found is not None:
        path, problem = found
        raise _row_error(row, f"{path}: {problem}" if path else problem)


def _row_from_object(row: int, obj: Any, *, checked: bool = False) -> UploadRow:
    if not checked:
        _check_row_value(row, obj)
    if not isinstance(obj, dict):
        raise _row_error(row, "each row must be an object with 'data'.")
    if "data" not in obj:
        raise _row_error(row, "'data' is required.")
    return UploadRow(
        row=row,
        external_id=obj.get("external_id"),
        data=obj["data"],
        answer=obj.get("answer"),
        has_answer="answer" in obj,
        unknown_keys=() if obj.keys() <= ROW_KEYS else tuple(sorted(set(obj) - ROW_KEYS)),
        prediction=obj.get("prediction"),
    )


def rows_from_objects(objects: Any) -> list[UploadRow]:
    if not isinstance(objects, list):
        raise InvalidInput("'items' must be a list.", fields={"items": ["Must be a list."]})
    return [_row_from_object(index, obj) for index, obj in enumerate(objects, start=1)]


def _decode(payload: bytes) -> str:
    try:
        return payload.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("The file is not valid UTF-8.", code="invalid_encoding",
                           fields={"file": [f"Not UTF-8 near byte {exc.start}."]})


def _parse_json(text: str) -> list[UploadRow]:
    try:
        document = _strict_loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"Invalid JSON at line {exc.lineno}: {exc.msg}.",
                           code="invalid_json", fields={"file": [exc.msg]})
    if isinstance(document, dict) and "items" in document:
        document = document["items"]
    if not isinstance(document, list):
        return rows_from_objects(document)
    # One look at the whole text instead of a walk per row when nothing can be wrong.
    checked = input_rules.json_text_is_clean(text)
    return [_row_from_object(index, obj, checked=checked)
            for index, obj in enumerate(document, start=1)]


def _parse_jsonl(text: str) -> Iterator[UploadRow]:
    # One look at the whole file for bad strings and integers, and a bracket count per
    # line for depth, instead of a walk over every parsed row: only a row that could break
    # a rule is walked.
    scalars_clean = input_rules.json_text_has_no_bad_scalars(text)
    is_shallow = input_rules.json_text_is_shallow
    # Only "\n" ends a JSONL line: str.splitlines() would also split on U+2028, U+0085
    # and other separators that JSON strings may hold unescaped. A "\r" left by CRLF is
    # whitespace to json.loads.
    for line_number, line in enumerate(text.split("\n"), start=1):
        if not line or line.isspace():
            continue
        try:
            obj = _strict_loads(line, input_rules.loads_line)
        except json.JSONDecodeError as exc:
            raise _row_error(line_number, f"invalid JSON ({exc.msg}).")
        yield _row_from_object(line_number, obj, checked=scalars_clean and is_shallow(line))


CSV_DELIMITERS = (",", ";", "\t")


def _delimiter(text: str) -> str:
    """Spreadsheets in many locales save CSV with semicolons (or tabs): read with the
    delimiter the header line uses most, so such a file is not stored as one junk column."""
    header_line = text.split("\n", 1)[0]
    counts = {delimiter: header_line.count(delimiter) for delimiter in CSV_DELIMITERS}
    best = max(CSV_DELIMITERS, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def _csv_number(text: str) -> Any:
    """A score cell as a number when it reads as one; else the text, which the prediction
    check then refuses with its own message."""
    try:
        return float(text)
    except ValueError:
        return text


def _csv_prediction(record: dict) -> tuple[dict | None, str | None]:
    """The prediction columns of one record: ``({value, score, model_version}, the
    prediction cell as written)``, or ``(None, None)`` when all three are empty."""
    cells = {key: (record.get(column) or "").strip()
             for column, key in PREDICTION_COLUMNS.items()}
    if not any(cells.values()):
        return None, None
    value: Any = None
    if cells["value"]:
        try:
            value = _strict_loads(cells["value"])
        except (json.JSONDecodeError, TypeError):
            value = cells["value"]  # a bare label such as positive
    score = _csv_number(cells["score"]) if cells["score"] else None
    return ({"value": value, "score": score, "model_version": cells["model_version"]},
            cells["value"] or None)


def _parse_csv(text: str) -> Iterator[UploadRow]:
    # The csv module refuses cells over 128 KiB by default; long documents are fine as
    # items, and the upload size limit already bounds every cell. (The limit is global.)
    if csv.field_size_limit() < len(text):
        csv.field_size_limit(len(text))
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    if not reader.fieldnames:
        raise InvalidInput("The CSV file has no header row.", code="invalid_csv",
                           fields={"file": ["A header row is required."]})
    header = [name.strip() for name in reader.fieldnames]
    _check_row_value(1, header)
    if len(set(header)) != len(header) or any(not name for name in header):
        raise InvalidInput("CSV header names must be distinct and non-empty.",
                           code="invalid_csv", fields={"file": ["Bad header row."]})
    reader.fieldnames = header
    data_columns = [name for name in header if name not in RESERVED_COLUMNS]
    try:
        for record in reader:
            # line_num is where the record ends; a quoted cell may span lines, and a
            # person looks for the line the record starts on.
            line = reader.line_num - sum(len(_LINE_BREAK.findall(value))
                                         for value in record.values()
                                         if isinstance(value, str))
            if None in record:
                raise _row_error(line, "more cells than header columns.")
            _check_row_value(line, record)
            columns = {name: record[name] for name in data_columns}
            if "data" in header:
                try:
                    data = _strict_loads(record["data"])
                except (json.JSONDecodeError, TypeError):
                    raise _row_error(line, "the 'data' cell must hold JSON.")
                # Other columns are data fields too; dropping them would lose them silently.
                if columns and isinstance(data, dict):
                    clashes = sorted(set(columns) & set(data))
                    if clashes:
                        raise _row_error(line, "column(s) " + ", ".join(clashes)
                                         + " also appear in the 'data' cell.")
                    data = {**data, **columns}
            else:
                data = columns
            raw_answer = record.get("answer") or ""
            # An empty cell is no answer, as it is no external_id.
            answer, has_answer = None, bool(raw_answer.strip())
            if has_answer:
                try:
                    answer = _strict_loads(raw_answer)
                except (json.JSONDecodeError, TypeError):
                    answer = raw_answer  # a bare label such as positive
            external_id = (record.get("external_id") or "").strip() or None
            prediction, prediction_text = _csv_prediction(record)
            _check_row_value(line, {"data": data, "answer": answer, "prediction": prediction})
            yield UploadRow(row=line, external_id=external_id, data=data, answer=answer,
                            has_answer=has_answer,
                            answer_text=raw_answer if has_answer else None,
                            prediction=prediction, prediction_text=prediction_text)
    except csv.Error as exc:
        raise _row_error(reader.line_num, f"malformed CSV ({exc}).")


_PARSERS = {"json": _parse_json, "jsonl": _parse_jsonl, "csv": _parse_csv}


def upload_rows(payload: bytes, file_format: str) -> Iterator[UploadRow]:
    """The upload's rows as they are parsed: a background import validates and stores the
    first rows while later ones are still being read. A syntax error is raised when its
    row is reached; the whole file was parsed once already when it was accepted."""
    parser = _PARSERS.get(file_format)
    if parser is None:
        raise ValueError(f"unknown upload format {file_format!r}")
    yield from parser(_decode(payload))


def parse_upload(payload: bytes, file_format: str) -> list[UploadRow]:
    with gc_paused():
        return list(upload_rows(payload, file_format))
