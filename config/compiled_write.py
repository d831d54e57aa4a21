"""Single-row writes whose SQL is built once per process: the write side of
config/compiled_query.py.

Why: ``Model.save(update_fields=...)`` and ``objects.create`` rebuild their statement
through the ORM's update and insert compilers on every call. Measured with py-spy on the
worker's submit (three such writes: the assignment, the worker's project record, the
event row), those writes took 13 % of the web process's CPU, most of it building SQL
that is the same every time; the statement itself is a primary-key update or a
one-row insert.

    save_fields(assignment, ["status", "submitted_at"])   # instance.save(update_fields=...)
    insert(AssignmentEvent(assignment=..., kind=...))     # instance.save() of a new row
    write_together(save_fields_write(assignment, [...]),  # both in one statement
                   insert_write(AssignmentEvent(...)))
    update_returning(WorkerProjectStats, where={...}, add={"submitted": 1})
                                          # select_for_update() + save() in one statement
    counted = update_returning_write(WorkerProjectStats, where={...}, add={...})
    write_together(save_fields_write(assignment, [...]), counted)
    counted.outcome                       # the counted row, or None when there was none

The model stays the one definition: columns, ``auto_now``/``auto_now_add`` (each field's
``pre_save``), defaults and value preparation (``get_db_prep_save``) are the ORM's; only
the statement's text is kept. The statements run through the prepared-statement cursor of
compiled_query (planned once per connection by PostgreSQL).

Falls back to the ORM, identically, on other databases (SQLite for ``make run``) and for
a model with ``pre_save``/``post_save`` receivers (the routing and settings caches listen
to some models: their signals must fire).
"""
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.models import signals

from .compiled_query import ModelColumns, prepared_cursor

_UPDATES: dict[tuple, tuple[str, list]] = {}
_INSERTS: dict[tuple, tuple[str, list]] = {}
_RETURNING: dict[tuple, tuple[str, list]] = {}


def _compiled_path(model, using: str):
    connection = connections[using]
    if connection.vendor != "postgresql":
        return None
    if signals.pre_save.has_listeners(model) or signals.post_save.has_listeners(model):
        return None
    return connection


class Write:
    """One row write, built and not yet run: ``run()`` it alone, or hand several to
    ``write_together`` for one statement. ``sql`` is None when it can only go through the
    ORM (another database, a model with save receivers, values JSON cannot carry).
    ``returning`` is "count" (the statement returns nothing of its own), "key" (it returns
    the new row's key) or the columns it returns, in order (a row read back)."""
    __slots__ = ("sql", "params", "returning", "outcome", "_alone", "_done")

    def __init__(self, *, sql, params, returning, alone, done):
        self.sql, self.params, self.returning = sql, params, returning
        self._alone, self._done = alone, done
        self.outcome = None  # what the write gives back once run, if anything

    @classmethod
    def through_orm(cls, alone) -> "Write":
        return cls(sql=None, params=None, returning=None, alone=alone, done=None)

    def run(self):
        self.outcome = self._alone()
        return self.outcome

    def finish(self, result) -> None:
        """After the combined statement: its count of rows written (``returning`` is
        "count"), the new row's key ("key") or the returned columns' values (all None
        when no row was written)."""
        self.outcome = self._done(result)


def save_fields(instance, fields: list[str], *, using: str = DEFAULT_DB_ALIAS) -> None:
    """``instance.save(update_fields=fields)`` for a row that exists: the same values
    written (``auto_now`` fields set on the instance too), DatabaseError if no row was."""
    save_fields_write(instance, fields, using=using).run()


def save_fields_write(instance, fields: list[str], *, using: str = DEFAULT_DB_ALIAS) -> Write:
    """``save_fields`` as a Write. ``auto_now`` values are taken when it is built."""
    connection = _compiled_path(type(instance), using)
    if connection is None or instance.pk is None:
        return Write.through_orm(lambda: instance.save(update_fields=fields, using=using))
    sql, params = update_statement(instance, fields, connection, pre_save=True)

    def done(count: int) -> None:
        if count == 0:
            raise DatabaseError("Save with update_fields did not affect any rows.")
        instance._state.db = using

    return Write(sql=sql, params=params, returning="count", done=done,
                 alone=lambda: done(execute_counted(connection, sql, params)))


def update_statement(instance, fields: list[str], connection, *,
                      pre_save: bool) -> tuple[str, list]:
    model = type(instance)
    key = (model, tuple(fields), connection.alias)
    compiled = _UPDATES.get(key)
    if compiled is None:
        columns = [model._meta.get_field(name) for name in fields]
        if any(not field.concrete or field.primary_key for field in columns):
            raise ValueError(f"compiled update: {fields} must be concrete non-key fields")
        quote = connection.ops.quote_name
        compiled = (f"UPDATE {quote(model._meta.db_table)} SET "
                    + ", ".join(f"{quote(field.column)} = %s" for field in columns)
                    + f" WHERE {quote(model._meta.pk.column)} = %s", columns)
        _UPDATES[key] = compiled
    sql, columns = compiled
    params = [field.get_db_prep_save(field.pre_save(instance, add=False) if pre_save
                                     else getattr(instance, field.attname), connection)
              for field in columns]
    params.append(model._meta.pk.get_db_prep_value(instance.pk, connection))
    return sql, params


def execute_counted(connection, sql: str, params: list) -> int:
    with prepared_cursor(connection) as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def insert(instance, *, using: str = DEFAULT_DB_ALIAS):
    """``instance.save()`` of a new row with a database-assigned primary key: defaults and
    ``auto_now_add`` applied, the new key set on the instance. Returns the instance."""
    insert_write(instance, using=using).run()
    return instance


def insert_write(instance, *, using: str = DEFAULT_DB_ALIAS) -> Write:
    """``insert`` as a Write: the key is set on the instance once it has run."""
    model = type(instance)
    connection = _compiled_path(model, using)
    if connection is None or instance.pk is not None:
        return Write.through_orm(lambda: instance.save(force_insert=True, using=using))
    key = (model, using)
    compiled = _INSERTS.get(key)
    if compiled is None:
        columns = [field for field in model._meta.concrete_fields if not field.primary_key]
        quote = connection.ops.quote_name
        compiled = (f"INSERT INTO {quote(model._meta.db_table)} ("
                    + ", ".join(quote(field.column) for field in columns)
                    + ") VALUES (" + ", ".join("%s" for _ in columns)
                    + f") RETURNING {quote(model._meta.pk.column)}", columns)
        _INSERTS[key] = compiled
    sql, columns = compiled
    params = [field.get_db_prep_save(field.pre_save(instance, add=True), connection)
              for field in columns]

    def done(new_key) -> None:
        instance.pk = new_key
        instance._state.adding = False
        instance._state.db = using

    def alone() -> None:
        with prepared_cursor(connection) as cursor:
            cursor.execute(sql, params)
            done(cursor.fetchone()[0])

    return Write(sql=sql, params=params, returning="key", done=done, alone=alone)


_TOGETHER: dict[tuple, str] = {}


def write_together(*writes: Write, using: str = DEFAULT_DB_ALIAS) -> None:
    """Run the writes as one statement on PostgreSQL, a round trip for all instead of one
    each: ``WITH w0 AS (UPDATE ... RETURNING 1), w1 AS (INSERT ... RETURNING id) SELECT
    (SELECT count(*) FROM w0), (SELECT id FROM w1)``. Each write keeps its own outcome (a
    save of a vanished row is still a DatabaseError, an insert still gets its key).

    The writes must touch different rows and not read one another's effects: the parts
    of one statement all see the snapshot it started with, and PostgreSQL leaves the
    outcome of two changes to one row undefined. Foreign keys between them are fine (they
    are checked at the statement's end). When any write can only go through the ORM, or
    on another database, each runs alone, in the order given."""
    connection = connections[using]
    if len(writes) < 2 or connection.vendor != "postgresql" or any(
            write.sql is None for write in writes):
        for write in writes:
            write.run()
        return
    shape = tuple((write.sql, write.returning) for write in writes)
    sql = _TOGETHER.get(shape)
    if sql is None:
        parts, outcomes = [], []
        for index, write in enumerate(writes):
            if write.returning == "key":
                parts.append(f"w{index} AS ({write.sql})")  # RETURNING the key already
                outcomes.append(f"(SELECT * FROM w{index})")
            elif write.returning == "count":
                parts.append(f"w{index} AS ({write.sql} RETURNING 1)")
                outcomes.append(f"(SELECT count(*) FROM w{index})")
            else:  # RETURNING these columns already; NULLs when no row was written
                parts.append(f"w{index} AS ({write.sql})")
                outcomes.extend(f"(SELECT {column} FROM w{index})"
                                for column in write.returning)
        sql = f"WITH {', '.join(parts)} SELECT {', '.join(outcomes)}"
        _TOGETHER[shape] = sql
    params = [param for write in writes for param in write.params]
    with prepared_cursor(connection) as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    position = 0
    for write in writes:
        if isinstance(write.returning, tuple):
            write.finish(row[position:position + len(write.returning)])
            position += len(write.returning)
        else:
            write.finish(row[position])
            position += 1


def update_returning(model, *, where: dict, add: dict, using: str = DEFAULT_DB_ALIAS):
    """``UPDATE t SET f = f + n, ..., <auto_now fields> = now WHERE k = v ... RETURNING *``:
    a row locked, counted and read in one statement, where ``select_for_update`` and
    ``save`` take two (the same FOR NO KEY UPDATE-strength lock). The row as a model
    instance after the update, or None when none matches. ``where`` must match at most
    one row (a unique key)."""
    return update_returning_write(model, where=where, add=add, using=using).run()


def update_returning_write(model, *, where: dict, add: dict,
                           using: str = DEFAULT_DB_ALIAS) -> Write:
    """``update_returning`` as a Write: its ``outcome``, once run, is the row or None."""
    fields = model._meta.concrete_fields
    touched = [field for field in fields if getattr(field, "auto_now", False)]
    connection = _compiled_path(model, using)
    if connection is None:
        def through_orm():
            instance = model.objects.using(using).select_for_update().filter(**where).first()
            if instance is None:
                return None
            for name, amount in add.items():
                setattr(instance, name, getattr(instance, name) + amount)
            instance.save(update_fields=[*add, *(field.name for field in touched)],
                          using=using)
            return instance

        return Write.through_orm(through_orm)
    key = (model, tuple(where), tuple(add), using)
    compiled = _RETURNING.get(key)
    if compiled is None:
        quote = connection.ops.quote_name

        def column(name: str) -> str:
            return quote(model._meta.get_field(name).column)

        sets = [f"{column(name)} = {column(name)} + %s" for name in add]
        sets += [f"{quote(field.column)} = %s" for field in touched]
        row = ModelColumns(model)
        columns = tuple(row.select(quote))
        compiled = (f"UPDATE {quote(model._meta.db_table)} SET {', '.join(sets)} WHERE "
                    + " AND ".join(f"{column(name)} = %s" for name in where)
                    + " RETURNING " + ", ".join(columns), columns, row)
        _RETURNING[key] = compiled
    sql, columns, row = compiled
    params = [*add.values(),
              *(field.get_db_prep_save(field.pre_save(model(), add=False), connection)
                for field in touched),
              *(model._meta.get_field(name).get_db_prep_value(value, connection)
                for name, value in where.items())]

    def done(values):
        if values is None or values[row.key_position] is None:  # no row matched
            return None
        return row.instance(values, connection)

    def alone():
        with prepared_cursor(connection) as cursor:
            cursor.execute(sql, params)
            return done(cursor.fetchone())

    return Write(sql=sql, params=params, returning=columns, alone=alone, done=done)
