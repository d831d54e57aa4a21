"""Two guards around every request.

``InputGuardMiddleware`` refuses a path or query string that breaks ``config.input_rules``
(NUL, lone surrogates) before URL resolution: such a value would reach a database lookup
(``?status=%00``, ``/blocks/%00``) and PostgreSQL answers NUL with a DataError.

``DatabaseErrorMiddleware`` is the net under everything else: a database error that reaches
the client as a 500 is a bug we must hear about, so it is logged with the request id and
counted per error type (shared through the cache, so every process adds to one figure);
``/healthz/metrics`` shows the counts.
"""
import logging

from django.core.cache import cache
from django.db import DatabaseError
from django.http import JsonResponse

from config import input_rules
from config.errors import error_body, json_server_error

logger = logging.getLogger("quorum.database_errors")

COUNTER_KEY = "metrics:database_errors:{}"
COUNTED_TYPES_KEY = "metrics:database_errors:types"
COUNTER_TTL_SECONDS = 30 * 24 * 3600


class InputGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        return self.get_response(request)

    @staticmethod
    def _refusal(request):
        problem = input_rules.text_problem(request.path)
        if problem:
            return JsonResponse(error_body("validation_error", f"Invalid path: {problem}",
                                           {"path": [problem]}), status=400)
        for key, values in request.GET.lists():
            for name in [key, *values]:
                problem = input_rules.text_problem(name)
                if problem:
                    return JsonResponse(error_body(
                        "validation_error", f"Invalid query parameter {key!r}: {problem}",
                        {key: [problem]}), status=400)
        return None


def database_error_counts() -> dict:
    types = sorted(cache.get(COUNTED_TYPES_KEY) or [])
    by_type = {name: cache.get(COUNTER_KEY.format(name), 0) for name in types}
    return {"total": sum(by_type.values()), "by_type": by_type}


def _count(error_type: str) -> None:
    key = COUNTER_KEY.format(error_type)
    # add() creates the counter only if absent; incr() is atomic on Redis.
    cache.add(key, 0, COUNTER_TTL_SECONDS)
    cache.incr(key)
    types = set(cache.get(COUNTED_TYPES_KEY) or [])
    if error_type not in types:
        cache.set(COUNTED_TYPES_KEY, sorted(types | {error_type}), COUNTER_TTL_SECONDS)


class DatabaseErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DatabaseError):
            return None
        error_type = type(exception).__name__
        try:
            _count(error_type)
        except Exception:  # a cache outage must not hide the original error
            logger.exception("could not count a database error")
        logger.error("database error reached the client", exc_info=exception, extra={
            "fields": {"request_id": getattr(request, "request_id", None),
                       "method": request.method, "path": request.path,
                       "error_type": error_type}})
        return json_server_error(request)
