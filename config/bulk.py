"""``bulk_update`` as one plain statement on PostgreSQL.

Django's ``QuerySet.bulk_update`` writes ``SET f = CASE WHEN id = 1 THEN ... END`` and
resolves a ``When`` expression per row and field: for the 200 items of an aggregation
batch that compiling cost more CPU than the rest of the job. On PostgreSQL the rows go
instead as one JSON document, typed by ``jsonb_to_recordset`` with the columns' own
types: ``UPDATE t SET f = v.f FROM jsonb_to_recordset(%s) AS v(id bigint, f ...) WHERE
t.id = v.id``, compiled by nobody and planned once per connection (a prepared
statement). A single row is a plain primary-key update (config/compiled_write.py): the
join through ``jsonb_to_recordset`` cost PostgreSQL 0.29 ms for the one answer of a
one-item task, six times the plain update. Other databases (SQLite under ``make run``), and
values JSON cannot carry exactly (a NaN, a JSON field with its own encoder), keep
Django's.

Same contract as ``bulk_update``: the caller holds the rows (this takes no lock of its
own order), fields are concrete non-primary-key columns, ``auto_now`` is not applied.
"""
import datetime
import json
import math

from django.db import connection
from django.db.models import JSONField

from .compiled_write import Write, execute_counted, update_statement


def bulk_update(model, objects: list, fields: list[str]) -> int:
    if not objects:
        return 0
    return bulk_update_write(model, objects, fields).run()


def bulk_update_write(model, objects: list, fields: list[str]) -> Write:
    """``bulk_update`` as a Write (config/compiled_write.py), for ``write_together``;
    ``run()`` alone gives the number of rows updated."""
    if connection.vendor == "postgresql" and len(objects) == 1:
        # a primary-key update: planned once per connection
        sql, params = update_statement(objects[0], fields, connection, pre_save=False)
    else:
        columns = [model._meta.get_field(name) for name in fields]
        rows = _rows(model, objects, columns) if connection.vendor == "postgresql" else None
        if rows is None:
            return Write.through_orm(lambda: model.objects.bulk_update(objects, fields))
        pk = model._meta.pk
        types = ", ".join([f'"{pk.column}" {pk.rel_db_type(connection)}'] + [
            f'"{field.column}" {field.db_type(connection)}' for field in columns])
        assignments = ", ".join(f'"{field.column}" = v."{field.column}"'
                                for field in columns)
        table = model._meta.db_table
        # Its text is the same for every batch: prepared once per connection.
        sql = (f'UPDATE "{table}" SET {assignments} FROM jsonb_to_recordset(%s::jsonb) '
               f'AS v({types}) WHERE "{table}"."{pk.column}" = v."{pk.column}"')
        params = [rows]
    return Write(sql=sql, params=params, returning="count", done=lambda count: None,
                 alone=lambda: execute_counted(connection, sql, params))


def _rows(model, objects: list, columns: list) -> str | None:
    """The rows as a JSON array of {column: value}, or None when JSON would change a
    value."""
    pk = model._meta.pk
    rows = []
    for obj in objects:
        row = {pk.column: obj.pk}
        for field in columns:
            value = getattr(obj, field.attname)
            if isinstance(field, JSONField) and field.encoder is not None:
                return None
            if isinstance(value, float) and not math.isfinite(value):
                return None
            if isinstance(value, datetime.datetime):
                value = value.isoformat()
            row[field.column] = value
        rows.append(row)
    try:
        return json.dumps(rows, allow_nan=False)
    except (TypeError, ValueError):  # a NaN inside a JSON value, a type JSON lacks
        return None
