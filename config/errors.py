"""Every API error leaves in one shape:

    {"error": {"code": "<snake_case>", "message": "<human text>", "fields": {...}}}

Services raise the exceptions below (or DRF's); views never build error bodies by hand.
"""
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler


class ApiError(exceptions.APIException):
    """Base for domain errors with a fixed status and code."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "bad_request"
    default_detail = "Bad request."

    def __init__(self, message: str | None = None, *, code: str | None = None,
                 fields: dict | None = None, details: dict | None = None):
        super().__init__(detail=message or self.default_detail, code=code or self.default_code)
        self.error_code = code or self.default_code
        self.fields = fields or {}
        # Machine-readable numbers behind the message (e.g. the pay floor at launch),
        # answered as error.details beside the contract's code, message and fields.
        self.details = details


class Conflict(ApiError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "The request conflicts with the current state."


class PaymentRequired(ApiError):
    status_code = status.HTTP_402_PAYMENT_REQUIRED
    default_code = "insufficient_funds"
    default_detail = "Insufficient funds."


class PayloadTooLarge(ApiError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"
    default_detail = "The upload is too large."


class InvalidInput(ApiError):
    """A 400 with per-field problems, raised from services after parsing."""

    default_code = "validation_error"
    default_detail = "Invalid input."


_CODES_BY_STATUS = {
    400: "validation_error",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "throttled",
}


def _flatten_fields(detail, prefix: str = "") -> dict[str, list[str]]:
    """Turn DRF's nested ValidationError detail into {"a.b.0.c": ["problem"]}."""
    fields: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            for sub_key, problems in _flatten_fields(value, name).items():
                fields.setdefault(sub_key, []).extend(problems)
    elif isinstance(detail, list):
        if all(not isinstance(entry, (dict, list)) for entry in detail):
            fields[prefix or "non_field_errors"] = [str(entry) for entry in detail]
        else:
            for index, value in enumerate(detail):
                if value in ({}, [], None):
                    continue
                name = f"{prefix}.{index}" if prefix else str(index)
                for sub_key, problems in _flatten_fields(value, name).items():
                    fields.setdefault(sub_key, []).extend(problems)
    else:
        fields[prefix or "non_field_errors"] = [str(detail)]
    return fields


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def api_exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge("The request body is larger than the upload limit.")
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let Django's 500 handler (JSON) log it

    if isinstance(exc, ApiError):
        body = error_body(exc.error_code, str(exc.detail), exc.fields)
        if exc.details is not None:
            body["error"]["details"] = exc.details
    elif isinstance(exc, exceptions.ValidationError):
        fields = _flatten_fields(exc.detail)
        first = next(iter(fields.items()), None)
        message = "Invalid input."
        if first:
            message = f"Invalid input: {first[0]}: {first[1][0]}"
        body = error_body("validation_error", message, fields)
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        code = _CODES_BY_STATUS.get(response.status_code, "error")
        if isinstance(exc, exceptions.NotAuthenticated):
            code = "not_authenticated"
        elif isinstance(exc, exceptions.AuthenticationFailed):
            code = "authentication_failed"
        body = error_body(code, str(detail))
    response.data = body
    return response


def json_not_found(request, exception=None):
    return JsonResponse(error_body("not_found", "Not found."), status=404)


def json_server_error(request):
    return JsonResponse(error_body("server_error", "Internal server error."), status=500)


def json_bad_request(request, exception=None):
    if isinstance(exception, RequestDataTooBig):
        return JsonResponse(
            error_body("payload_too_large", "The request body is larger than the upload limit."),
            status=413,
        )
    return JsonResponse(error_body("bad_request", "Bad request."), status=400)


def json_permission_denied(request, exception=None):
    return JsonResponse(error_body("permission_denied", "Permission denied."), status=403)


def required_text(value, *, field: str = "reason", message: str = "A reason is required.") -> str:
    """The stripped text, or a 400 naming ``field``: reasons and messages people will read
    must say something."""
    text = (value or "").strip()
    if not text:
        raise InvalidInput(message, fields={field: ["This field is required."]})
    return text
