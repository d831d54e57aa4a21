"""ORM reads whose SQL is built once per process and then only bound to new values.

Why: on the worker's hot path the Django ORM spends more CPU building a query's SQL
(``SQLCompiler.as_sql``: resolving lookups, joins and the select list) than PostgreSQL
spends answering it. Measured on the bearer-token lookup with its three joins: 0.87 ms of
CPU through the ORM, 0.42 ms of it compiling, 0.15 ms for the same SQL through the
cursor. A ``CompiledQuery`` keeps the queryset as the one definition of the read (its
filters, joins, locks and the model instances it yields stay the ORM's) and skips only
the rebuilding.

    TOKEN = CompiledQuery(lambda key: AuthToken.objects.filter(token_key=key)
                          .select_related("user"), key=str)
    tokens = TOKEN.fetch(key=text)      # a list of AuthToken, user attached
    token = TOKEN.get(key=text)         # one, or AuthToken.DoesNotExist

How: the queryset is built once with marker values (one distinct, implausible value per
parameter, of its declared type) and compiled; each marker is found among the compiled
parameters, so later calls put their values in the same places. A parameter the ORM
transforms before it reaches the SQL (a list for ``__in``, a ``__contains`` pattern) is
not found and the definition fails at its first use, loudly. Results are fetched whole
(``fetch``): a caller cannot chain ``filter`` or ``get`` onto compiled SQL.

The definition's own constants (a status, a flag) are written into the SQL as literals,
and only the caller's values stay parameters: the statements run prepared, and a
prepared statement's generic plan must know the constants to use a partial index on
them (``_inline_constants``).

Only PostgreSQL's compilation is kept; on other databases (SQLite for ``make run``)
``fetch`` simply evaluates the queryset, so both run the same definition.
"""
import contextlib
import copy
import functools
import re
import threading
from datetime import UTC, datetime, timedelta

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models.sql.query import Query
from django.db.transaction import TransactionManagementError

_MARKER_BASE = -(2**52)  # no id, count or amount of ours comes near
_MARKER_EPOCH = datetime(1901, 1, 1, tzinfo=UTC)


def _marker(kind: type, index: int):
    if kind is int:
        return _MARKER_BASE - index
    if kind is str:
        return f"\x1fcompiled-query-marker-{index}\x1f"
    if kind is datetime:
        return _MARKER_EPOCH + timedelta(seconds=index)
    raise TypeError(f"CompiledQuery parameters are int, str or datetime, not {kind!r}")


_PLACEHOLDER = re.compile(r"%%|%s")
_PLAIN_TEXT = re.compile(r"[A-Za-z0-9_.:-]*")


def _literal(value) -> str | None:
    """A constant of the definition as SQL text, or None to keep it a parameter (only
    values whose text is unambiguous: integers, booleans, plain words)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"({int(value)})" if value < 0 else str(int(value))  # "- -1" is a comment
    if isinstance(value, str):  # enum members too (TaskStatus.OPEN): their text
        text = str.__str__(value)
        return f"'{text}'" if _PLAIN_TEXT.fullmatch(text) else None
    return None


def _inline_constants(sql: str, slots: list) -> tuple[str, tuple]:
    """The definition's constants (a status, a flag, an EXISTS' 1) written into the SQL:
    a prepared statement's generic plan then knows them. With ``status = $2`` PostgreSQL
    cannot use a partial index ``WHERE status = 'open'``; the generic plan of the claim's
    pick sorted every free task of the project instead of reading the first in order."""
    kept, position = [], 0

    def placeholder(match):
        nonlocal position
        if match.group() == "%%":
            return "%%"
        slot = slots[position]
        position += 1
        literal = _literal(slot[0]) if isinstance(slot, tuple) else None
        if literal is None:
            kept.append(slot)
            return "%s"
        return literal

    sql = _PLACEHOLDER.sub(placeholder, sql)
    if position != len(slots):
        raise ValueError("CompiledQuery: the SQL's placeholders do not match its parameters")
    return sql, tuple(kept)


class _Plan:
    __slots__ = ("queryset", "sql", "slots", "select", "klass_info", "annotation_col_map",
                 "col_count", "has_extra_select", "locks", "converters")

    def bind(self, values: dict) -> tuple:
        return tuple(values[slot] if isinstance(slot, str) else slot[0]
                     for slot in self.slots)


class _BoundQuery(Query):
    """The plan's query with this call's parameters: its compiler returns the compiled
    SQL instead of building it again."""

    def get_compiler(self, using=None, connection=None, elide_empty=True):
        compiler = super().get_compiler(using, connection, elide_empty)
        plan, params = self.compiled_plan, self.compiled_params
        if plan.locks and compiler.connection.get_autocommit():
            # What as_sql would have refused: a row lock outside a transaction is a bug.
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction.")
        compiler.select = plan.select
        compiler.klass_info = plan.klass_info
        compiler.annotation_col_map = plan.annotation_col_map
        compiler.col_count = plan.col_count
        compiler.has_extra_select = plan.has_extra_select
        compiler.as_sql = lambda *args, **kwargs: (plan.sql, params)
        # The select list is the plan's, so are its converters (each field's from_db_value;
        # PostgreSQL adds none): found once, where results_iter looked them up per run.
        compiler.get_converters = lambda expressions: plan.converters
        compiler.execute_sql = lambda *args, **kwargs: _rows_prepared(compiler, plan, params)
        return compiler


def _bound_queryset(plan: _Plan, params: tuple):
    """The plan's queryset over a shallow copy of its query, bound to ``params``.
    QuerySet._chain() would deep-copy the query's select_related tree on every call (8 %
    of a token lookup's CPU); nothing here changes the plan's query, so sharing its parts
    is safe. The attributes are the ones QuerySet._clone() carries over."""
    query = copy.copy(plan.queryset.query)
    query.__class__ = _BoundQuery
    query.compiled_plan, query.compiled_params = plan, params
    source = plan.queryset
    bound = source.__class__(model=source.model, query=query, using=source._db,
                             hints=source._hints)
    bound._sticky_filter = source._sticky_filter
    bound._for_write = source._for_write
    bound._prefetch_related_lookups = source._prefetch_related_lookups[:]
    bound._known_related_objects = source._known_related_objects
    bound._iterable_class = source._iterable_class
    bound._fields = source._fields
    return bound


def _rows_prepared(compiler, plan: _Plan, params: tuple) -> list:
    """What SQLCompiler.execute_sql gives the iterables (a list of row batches), the
    statement run through a prepared-statement cursor."""
    with prepared_cursor(compiler.connection) as cursor:
        cursor.execute(plan.sql, params)
        rows = cursor.fetchall()
    if plan.has_extra_select:  # columns only ordering needed, not the caller
        rows = [row[:plan.col_count] for row in rows]
    return [rows]


def prepared_cursor(connection):
    """A cursor whose statements PostgreSQL plans once per connection rather than on
    every run: psycopg's server-side parameters, a statement prepared once it has run
    DATABASE_PREPARE_THRESHOLD times on the connection (config/settings.py). Django's
    own cursors bind parameters on the client, so
    PostgreSQL parses and plans each statement afresh: measured on the worker's cycle,
    planning took more of the database's time than executing (token lookup 0.3 ms to
    plan, 0.05 ms to run).

    Only for statements whose parameter types PostgreSQL can infer or that cast them
    (``%s::bigint[]``). Wrapped like any Django cursor: database errors become Django's,
    and the statement is logged where queries are captured (tests, DEBUG)."""
    import psycopg  # PostgreSQL only: SQLite deployments never import it

    _convert_long_statements_once()
    # What Django's cursor() does first: a connection that died while idle is replaced
    # before this request's first statement (the claim's, the submit's) fails on it.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    return connection._prepare_cursor(psycopg.Cursor(connection.connection))


@contextlib.contextmanager
def pipelined(connection):
    """The block's statements sent to PostgreSQL together (psycopg's pipeline mode) and
    answered after one Sync, where each waited for its answer alone. The server still
    runs them one after another, each with its own snapshot under READ COMMITTED. Fetch
    the results after the block: an error is raised at its end (as Django's), and the
    statements after the failed one did not run. In autocommit the block's statements
    are one implicit transaction, committed at the Sync; in a transaction that has not
    begun yet psycopg still sends BEGIN with a Sync of its own (a round trip)."""
    connection.ensure_connection()
    with connection.wrap_database_errors, connection.connection.pipeline():
        yield


class ModelColumns:
    """A model's concrete columns at a place in a hand-written statement's rows: their
    select list, and the instance a row holds, its values converted by the fields' own
    ``from_db_value`` as the ORM would (the fields needing it found once)."""

    def __init__(self, model, *, alias: str | None = None, start: int = 0):
        self.model, self.alias, self.start = model, alias, start
        self.fields = list(model._meta.concrete_fields)
        self.end = start + len(self.fields)
        self.attnames = [field.attname for field in self.fields]
        self.key_position = start + self.fields.index(model._meta.pk)
        self._converted = [(position, field) for position, field in enumerate(self.fields)
                           if hasattr(field, "from_db_value")]

    def select(self, quote, *, named: bool = False) -> list[str]:
        """``alias."column"`` for each (``AS alias_N`` with ``named``: unique in a CTE)."""
        prefix = f"{self.alias}." if self.alias else ""
        return [f"{prefix}{quote(field.column)}"
                + (f" AS {self.alias}_{position}" if named else "")
                for position, field in enumerate(self.fields)]

    def instance(self, row, connection):
        values = list(row[self.start:self.end])
        for position, field in self._converted:
            values[position] = field.from_db_value(values[position], None, connection)
        return self.model.from_db(connection.alias, self.attnames, values)


# The hot path's statements (the claim: 4-8 KB, 20-60 parameters) are longer than psycopg
# converts once per text: past 4,096 characters or 50 parameters it finds the
# placeholders again on every run (it expects such statements from ORMs, each text
# different). Ours are the same text every time. Measured on a next -> submit cycle:
# 0.3M of its 13.5M instructions went to converting the claim again.
_CONVERTED_STATEMENT_LENGTH = 16384
_CONVERTED_STATEMENT_PARAMS = 256


@functools.cache
def _convert_long_statements_once() -> None:
    from psycopg import _queries

    _queries.MAX_CACHED_STATEMENT_LENGTH = max(_queries.MAX_CACHED_STATEMENT_LENGTH,
                                               _CONVERTED_STATEMENT_LENGTH)
    _queries.MAX_CACHED_STATEMENT_PARAMS = max(_queries.MAX_CACHED_STATEMENT_PARAMS,
                                               _CONVERTED_STATEMENT_PARAMS)


class CompiledQuery:
    def __init__(self, build, **parameters: type):
        self._build = build
        self._parameters = parameters
        self._plans: dict[str, _Plan] = {}
        self._lock = threading.Lock()

    def _check(self, values: dict) -> dict:
        """The values as the ORM would have prepared them: ``pk="12"`` is the integer 12
        there (a prepared statement would refuse the text), ``pk="x"`` a ValueError."""
        if values.keys() != self._parameters.keys():
            raise TypeError(f"expected parameters {sorted(self._parameters)}, "
                            f"got {sorted(values)}")
        kinds = self._parameters
        return {name: value if kinds[name] is datetime else kinds[name](value)
                for name, value in values.items()}

    def fetch(self, *, using: str = DEFAULT_DB_ALIAS, **values) -> list:
        values = self._check(values)
        connection = connections[using]
        if connection.vendor != "postgresql":
            return list(self._build(**values).using(using))
        plan = self._plans.get(using) or self._compile(using)
        return list(_bound_queryset(plan, plan.bind(values)))

    def sql_with_params(self, *, using: str = DEFAULT_DB_ALIAS, **values) -> tuple[str, tuple]:
        """The compiled SQL and this call's parameters, for a statement that embeds the
        read (PostgreSQL only: marketplace/services/claim_sql.py builds its claim on it)."""
        values = self._check(values)
        plan = self._plans.get(using) or self._compile(using)
        return plan.sql, plan.bind(values)

    def get(self, *, using: str = DEFAULT_DB_ALIAS, **values):
        """The one row, or the model's DoesNotExist / MultipleObjectsReturned (the
        definition must not slice: ``get`` sees every matching row)."""
        rows = self.fetch(using=using, **values)
        if len(rows) == 1:
            return rows[0]
        model = self._build(**values).model
        if not rows:
            raise model.DoesNotExist(f"{model._meta.object_name} matching query does not exist.")
        raise model.MultipleObjectsReturned(
            f"get() returned more than one {model._meta.object_name} -- it returned {len(rows)}!")

    def _compile(self, using: str) -> _Plan:
        with self._lock:
            if using in self._plans:
                return self._plans[using]
            markers = {name: _marker(kind, index)
                       for index, (name, kind) in enumerate(self._parameters.items())}
            queryset = self._build(**markers).using(using)
            compiler = queryset.query.get_compiler(using=using)
            # A row lock compiles only inside a transaction (Django's guard against
            # running one outside); the plan may be first wanted outside, by a statement
            # that embeds it or sends it in a pipeline's implicit transaction (the claim).
            # No statement runs: the block is BEGIN-less and commits nothing.
            with (transaction.atomic(using=using) if queryset.query.select_for_update
                  else contextlib.nullcontext()):
                sql, params = compiler.as_sql()
            slots, found = [], set()
            for param in params:
                name = next((name for name, marker in markers.items()
                             if type(param) is type(marker) and param == marker), None)
                slots.append(name if name is not None else (param,))
                found.add(name)
            missing = set(markers) - found
            if missing:
                raise ValueError(f"CompiledQuery: {sorted(missing)} did not reach the SQL "
                                 "as given (transformed by a lookup?); use the ORM here")
            sql, slots = _inline_constants(sql, slots)
            plan = _Plan()
            plan.queryset, plan.sql, plan.slots = queryset, sql, slots
            plan.select, plan.klass_info = compiler.select, compiler.klass_info
            plan.annotation_col_map = compiler.annotation_col_map
            plan.col_count, plan.has_extra_select = compiler.col_count, compiler.has_extra_select
            plan.locks = bool(queryset.query.select_for_update)
            plan.converters = compiler.get_converters(
                [column[0] for column in compiler.select[:compiler.col_count]])
            self._plans[using] = plan
            return plan
