"""Requester and admin endpoints for sensitive data: item sensitivity, access records,
erasure requests and the privacy audit log."""
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from config.errors import Conflict
from config.idempotency import idempotent
from config.pagination import paginated, paginated_response
from config.schema import ErrorEnvelope
from marketplace.api.views import RequesterView
from marketplace.services.sensitive_data import item_sensitivity_set, items_erase
from workers.api.views import AdminView

from .. import selectors
from .serializers import (
    AccessRecordOutput,
    ErasureInput,
    ErasureReceiptOutput,
    ItemSensitivityOutput,
    PrivacyEventOutput,
    SensitivityInput,
)


# No access record is kept for a public item: a 409 (not_sensitive), not an empty list.
_PUBLIC_ITEM = OpenApiResponse(ErrorEnvelope, description="The item is public (not_sensitive)")


def _item_of(project, item_id):
    from django.http import Http404

    from marketplace.models import Item

    try:
        return Item.objects.get(project=project, pk=int(item_id))
    except (Item.DoesNotExist, ValueError, TypeError):
        raise Http404


def _access_body(item, *, pseudonymous: bool) -> dict:
    sensitivity = max(item.sensitivity, item.project.sensitivity,
                      key=selectors.sensitivity_rank)
    if not selectors.is_sensitive(sensitivity):
        raise Conflict("Access records are kept for confidential, pii and phi items; this "
                       "item is public.", code="not_sensitive")
    return {"item_id": item.pk, "sensitivity": sensitivity,
            "masked_for_workers": item.project.mask_pii_for_workers,
            "access": selectors.item_access_record(item=item, pseudonymous=pseudonymous)}


class ItemSensitivityView(RequesterView):
    @extend_schema(request=SensitivityInput, responses=ItemSensitivityOutput, tags=["privacy"],
                   description="Raise an item's sensitivity, or lower it with a reason "
                   "(audited). Raising above the project's raises the project.")
    def post(self, request, project_id, item_id):
        project = self.get_project(project_id)
        payload = SensitivityInput(data=request.data)
        payload.is_valid(raise_exception=True)
        item = item_sensitivity_set(project=project, item_id=item_id, actor=request.user,
                                    **payload.validated_data)
        return Response(ItemSensitivityOutput(item).data)


class ItemAccessView(RequesterView):
    @extend_schema(responses={200: AccessRecordOutput, 409: _PUBLIC_ITEM}, tags=["privacy"],
                   description="Which workers (pseudonyms) were served this sensitive item, "
                   "when, and what became of the assignment.")
    def get(self, request, project_id, item_id):
        item = _item_of(self.get_project(project_id), item_id)
        return Response(AccessRecordOutput(_access_body(item, pseudonymous=True)).data)


class AdminItemAccessView(AdminView):
    @extend_schema(responses={200: AccessRecordOutput, 409: _PUBLIC_ITEM}, tags=["admin"])
    def get(self, request, item_id):
        item = selectors.item_get_for_admin(item_id=item_id)
        return Response(AccessRecordOutput(_access_body(item, pseudonymous=False)).data)


class ErasureListView(RequesterView):
    @extend_schema(request=ErasureInput, responses={201: ErasureReceiptOutput},
                   tags=["privacy"], description="Erase items by external_id (a data "
                   "subject's request) from items, answers, webhook bodies and caches; "
                   "answers a receipt.")
    @idempotent
    def post(self, request, project_id):
        project = self.get_project(project_id)
        payload = ErasureInput(data=request.data)
        payload.is_valid(raise_exception=True)
        receipt = items_erase(project=project, actor=request.user, **payload.validated_data)
        return Response(ErasureReceiptOutput(receipt).data, status=status.HTTP_201_CREATED)


class ErasureDetailView(RequesterView):
    @extend_schema(responses=ErasureReceiptOutput, tags=["privacy"])
    def get(self, request, project_id, receipt_id):
        receipt = selectors.erasure_receipt_get(project=self.get_project(project_id),
                                                receipt_id=receipt_id)
        return Response(ErasureReceiptOutput(receipt).data)


class PrivacyEventListView(RequesterView):
    @extend_schema(responses=paginated(PrivacyEventOutput), tags=["privacy"])
    def get(self, request, project_id):
        events = selectors.privacy_event_list(project=self.get_project(project_id))
        return paginated_response(request, events, PrivacyEventOutput, view=self)
