"""The OpenAPI schema tells what the API does, errors included (drf-spectacular).

- A view's description is its own docstring or its method's, never one inherited from an
  internal base class ("Base for requester endpoints...").
- Every operation documents the error envelope for the 4xx codes it can answer: the ones
  every request can meet (400 bad input or query, 401, 403, 404, 429), and on writes the
  state conflict (409), unsupported body type (415) and too large body (413); 402 where
  money is spent, 503 where the payment provider is called and did not answer.
"""
import inspect
import re

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers


class ErrorBody(serializers.Serializer):
    code = serializers.CharField(help_text="snake_case, e.g. validation_error, not_found")
    message = serializers.CharField(help_text="For people")
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                   help_text="Problems per field (dotted paths into the "
                                   "body, query parameter names, or rows.N for uploads)")


class ErrorEnvelope(serializers.Serializer):
    error = ErrorBody()


_ERRORS_ALWAYS = {
    "400": "Invalid input (body, query or path), in the error envelope",
    "401": "Missing, malformed or expired token",
    "403": "Authenticated, but not in the right role",
    "404": "Not found, or another organization's",
    "429": "Rate limited; see Retry-After",
}
_ERRORS_ON_WRITE = {
    "409": "Conflicts with the current state",
    "413": "Body larger than the upload limit",
    "415": "Unsupported body content type",
}
_SPENDS_MONEY = re.compile(r"/(launch|resume|approve|bonuses|resolve|credit)$")
_CALLS_THE_PAYMENT_PROVIDER = re.compile(r"/(billing/topups|worker/payout-account|retry)$")


class QuorumAutoSchema(AutoSchema):
    def get_operation_id(self) -> str:
        # A GET answering a page is a list, not a retrieve: keeps the list and the detail
        # operation ids apart (.../projects vs .../projects/{id}).
        operation_id = super().get_operation_id()
        responses = self.get_response_serializers()
        if (self.method == "GET" and operation_id.endswith("_retrieve")
                and getattr(responses, "__name__", "").startswith("Paginated")):
            return operation_id.removesuffix("_retrieve") + "_list"
        return operation_id

    def get_description(self) -> str:
        method = getattr(self.view, getattr(self.view, "action", self.method.lower()), None)
        own = getattr(method, "__doc__", None) or self.view.__class__.__dict__.get("__doc__")
        return inspect.cleandoc(own) if own else ""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        errors = dict(_ERRORS_ALWAYS)
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            errors.update(_ERRORS_ON_WRITE)
            if _SPENDS_MONEY.search(self.path):
                errors["402"] = "Insufficient funds"
            if _CALLS_THE_PAYMENT_PROVIDER.search(self.path):
                errors["503"] = "The payment provider did not answer; nothing changed, retry"
        for code, description in errors.items():
            if code not in responses:
                response = self._get_response_for_code(ErrorEnvelope, code, direction=direction)
                response["description"] = description
                responses[code] = response
        return responses
