"""``Idempotency-Key`` for create endpoints: same key + same body -> the first response.

The record is inserted in the same transaction as the work it guards. A duplicate that
arrives while the first request is still running blocks on the unique index, and once the
first commits it finds the stored response; if the first rolled back, the duplicate does
the work itself. A key reused with a different body or path is refused with 409.
"""
import functools
import hashlib
import json

from django.db import IntegrityError, transaction
from rest_framework.response import Response

from accounts.models import IdempotencyRecord

from .errors import Conflict, InvalidInput

HEADER = "Idempotency-Key"


def _request_fingerprint(request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(request.path.encode())
    if request.content_type.startswith("multipart/"):
        for name in sorted(request.FILES):
            upload = request.FILES[name]
            digest.update(name.encode())
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
        digest.update(json.dumps(sorted(request.POST.items()), default=str).encode())
    else:
        digest.update(request.body)
    return digest.hexdigest()


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.request_hash != fingerprint:
        raise Conflict("This Idempotency-Key was used with a different request.",
                       code="idempotency_key_reused")
    response = Response(record.response_body, status=record.response_status)
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent(view_method):
    """Decorate a DRF view's ``post``; a no-op when the header is absent."""

    @functools.wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if not key:
            return view_method(self, request, *args, **kwargs)
        if len(key) > 255:
            raise InvalidInput("Idempotency-Key is at most 255 characters.",
                               fields={HEADER: ["Too long."]})
        if "\x00" in key:
            # PostgreSQL rejects NUL in a query parameter: refuse it here instead of a 500.
            raise InvalidInput("Idempotency-Key must not contain NUL characters.",
                               fields={HEADER: ["Contains a NUL character."]})
        fingerprint = _request_fingerprint(request)
        existing = IdempotencyRecord.objects.filter(user=request.user, key=key).first()
        if existing is not None and existing.response_status is not None:
            return _replay(existing, fingerprint)
        with transaction.atomic():
            try:
                with transaction.atomic():
                    record = IdempotencyRecord.objects.create(
                        user=request.user, key=key, method=request.method,
                        path=request.path[:500], request_hash=fingerprint)
            except IntegrityError:
                # A concurrent twin committed first (we waited on the index for it).
                existing = IdempotencyRecord.objects.filter(user=request.user, key=key).first()
                if existing is None or existing.response_status is None:
                    raise Conflict("A request with this Idempotency-Key is in progress.",
                                   code="idempotency_key_in_progress")
                return _replay(existing, fingerprint)
            response = view_method(self, request, *args, **kwargs)
            if response.status_code >= 400:
                # Failures are not remembered: a corrected retry with the same key must
                # work, so the record rolls back with the failure.
                transaction.set_rollback(True)
                return response
            record.response_status = response.status_code
            record.response_body = response.data
            record.save(update_fields=["response_status", "response_body"])
            return response

    return wrapper
