"""Structured request logging: one JSON line per request with timing and identity."""
import json
import logging
import time
import uuid

logger = logging.getLogger("quorum.request")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        payload.update(getattr(record, "fields", {}))
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex
        # Other middleware (config.middleware) logs with it too.
        request.request_id = request_id
        started = time.perf_counter()
        response = self.get_response(request)
        # DRF copies the user it authenticates onto the Django request, so this sees it.
        user = getattr(request, "user", None)
        fields = {
            "request_id": request_id,
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            "user_id": getattr(user, "pk", None),
        }
        response["X-Request-Id"] = request_id
        level = logging.ERROR if response.status_code >= 500 else logging.INFO
        logger.log(level, "request", extra={"fields": fields})
        return response
