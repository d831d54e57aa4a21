"""Requester webhook endpoints: subscribe, list, inspect, delete, rotate the secret,
re-enable, and read the delivery log. Thin: parse, one service call, serialize."""
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from config.errors import InvalidInput
from config.idempotency import idempotent
from config.pagination import paginated, paginated_response

from ..api.views import RequesterView
from . import selectors, services
from .enums import DeliveryStatus, WebhookEvent


class WebhookEndpointInput(serializers.Serializer):
    url = serializers.CharField(max_length=services.URL_MAX_LENGTH,
                                help_text="https:// (or http://) URL on a public address")
    events = serializers.ListField(child=serializers.ChoiceField(WebhookEvent.values),
                                   allow_empty=False, max_length=len(WebhookEvent.values) * 2)


class WebhookEndpointOutput(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
    is_active = serializers.BooleanField(help_text="False once disabled for failing")
    failing_since = serializers.DateTimeField(
        allow_null=True, help_text="Start of the current run of failed attempts")
    disabled_at = serializers.DateTimeField(allow_null=True)
    disabled_reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class WebhookEndpointWithSecretOutput(WebhookEndpointOutput):
    secret = serializers.CharField(help_text="Signing secret; shown only in this answer")


class DeliveryAttemptOutput(serializers.Serializer):
    number = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    duration_ms = serializers.IntegerField(allow_null=True)
    status_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()


class DeliveryOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id", help_text="Sent as Quorum-Delivery")
    event = serializers.CharField()
    status = serializers.ChoiceField(DeliveryStatus.choices)
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    created_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    attempt_log = DeliveryAttemptOutput(many=True)


class SecretOnceResponse(Response):
    """A response whose ``secret`` joins the body only when it is rendered.

    ``@idempotent`` stores ``response.data`` to replay it later; keeping the secret out of
    ``data`` keeps it out of that table (secrets are never stored). A replayed create
    therefore answers without the secret: rotate it if the first answer was lost.
    """

    def __init__(self, data, *, secret: str, **kwargs):
        super().__init__(data, **kwargs)
        self._secret = secret

    @property
    def rendered_content(self):
        self.data = {**self.data, "secret": self._secret}
        return super().rendered_content


class WebhookListView(RequesterView):
    @extend_schema(responses=paginated(WebhookEndpointOutput), tags=["webhooks"])
    def get(self, request):
        endpoints = selectors.webhook_endpoint_list(organization=self.organization)
        return paginated_response(request, endpoints, WebhookEndpointOutput, view=self)

    @extend_schema(request=WebhookEndpointInput,
                   responses={201: WebhookEndpointWithSecretOutput}, tags=["webhooks"],
                   description="Events: " + ", ".join(WebhookEvent.values) + ". Deliveries "
                   "are signed `Quorum-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "
                   "\"t.body\">`; the secret is in this answer only.")
    @idempotent
    def post(self, request):
        payload = WebhookEndpointInput(data=request.data)
        payload.is_valid(raise_exception=True)
        endpoint, secret = services.webhook_endpoint_create(
            organization=self.organization, actor=request.user, **payload.validated_data)
        return SecretOnceResponse(WebhookEndpointOutput(endpoint).data, secret=secret,
                                  status=status.HTTP_201_CREATED)


class _EndpointView(RequesterView):
    def get_endpoint(self, endpoint_id):
        return selectors.webhook_endpoint_get(organization=self.organization,
                                              endpoint_id=endpoint_id)


class WebhookDetailView(_EndpointView):
    @extend_schema(responses=WebhookEndpointOutput, tags=["webhooks"])
    def get(self, request, endpoint_id):
        return Response(WebhookEndpointOutput(self.get_endpoint(endpoint_id)).data)

    @extend_schema(responses={204: None}, tags=["webhooks"])
    def delete(self, request, endpoint_id):
        services.webhook_endpoint_delete(endpoint=self.get_endpoint(endpoint_id),
                                         actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookRotateSecretView(_EndpointView):
    @extend_schema(request=None, responses=WebhookEndpointWithSecretOutput, tags=["webhooks"],
                   description="A new secret, shown once; the old one stops working now.")
    def post(self, request, endpoint_id):
        endpoint, secret = services.webhook_endpoint_rotate_secret(
            endpoint=self.get_endpoint(endpoint_id), actor=request.user)
        return SecretOnceResponse(WebhookEndpointOutput(endpoint).data, secret=secret)


class WebhookEnableView(_EndpointView):
    @extend_schema(request=None, responses=WebhookEndpointOutput, tags=["webhooks"],
                   description="Re-enable an endpoint disabled after 24 h of failures.")
    def post(self, request, endpoint_id):
        endpoint = services.webhook_endpoint_enable(endpoint=self.get_endpoint(endpoint_id),
                                                    actor=request.user)
        return Response(WebhookEndpointOutput(endpoint).data)


class WebhookDeliveriesView(_EndpointView):
    @extend_schema(responses=paginated(DeliveryOutput), tags=["webhooks"], parameters=[
        OpenApiParameter("status", str, enum=DeliveryStatus.values)])
    def get(self, request, endpoint_id):
        endpoint = self.get_endpoint(endpoint_id)
        status_filter = request.query_params.get("status")
        if status_filter is not None and status_filter not in DeliveryStatus.values:
            raise InvalidInput(f"Unknown status {status_filter!r}.", fields={"status": [
                f"Choose from {', '.join(DeliveryStatus.values)}."]})
        deliveries = selectors.webhook_delivery_list(endpoint=endpoint, status=status_filter)
        return paginated_response(request, deliveries, DeliveryOutput, view=self)


class WebhookDeliveryResendView(_EndpointView):
    @extend_schema(request=None, responses={202: DeliveryOutput}, tags=["webhooks"],
                   description="Send a finished (succeeded or failed) delivery again: a new "
                   "delivery with the same body, so the envelope id is unchanged. 409 "
                   "`endpoint_disabled` or `delivery_in_progress` (the same event is still "
                   "on its way).")
    def post(self, request, endpoint_id, delivery_id):
        resent = services.webhook_delivery_resend(endpoint=self.get_endpoint(endpoint_id),
                                                  delivery_id=delivery_id, actor=request.user)
        resent = selectors.webhook_delivery_list(endpoint=resent.endpoint).get(pk=resent.pk)
        return Response(DeliveryOutput(resent).data, status=status.HTTP_202_ACCEPTED)
