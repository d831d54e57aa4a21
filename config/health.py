"""/healthz: is the database answering, and is the broker (when one is configured)?"""
from django.conf import settings
from django.db import connection
from django.http import JsonResponse

from config.celery import app


def _database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return "ok"
    except Exception as exc:  # any failure means "not healthy", reported, not raised
        return f"error: {exc.__class__.__name__}"


def _broker_status() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager"
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as exc:
        return f"error: {exc.__class__.__name__}"


def healthz(request):
    checks = {"database": _database_status(), "broker": _broker_status()}
    healthy = all(value in ("ok", "eager") for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "unhealthy", **checks},
                        status=200 if healthy else 503)


def metrics(request):
    """Counters an operator watches beside /healthz: database errors that reached a client
    (each also logged with its request id by config.middleware.DatabaseErrorMiddleware)."""
    from config.middleware import database_error_counts

    return JsonResponse({"database_errors": database_error_counts()})
