from django.urls import path

from . import api

urlpatterns = [
    path("webhooks", api.WebhookListView.as_view(), name="webhook-list"),
    path("webhooks/<int:endpoint_id>", api.WebhookDetailView.as_view(), name="webhook-detail"),
    path("webhooks/<int:endpoint_id>/rotate-secret", api.WebhookRotateSecretView.as_view(),
         name="webhook-rotate-secret"),
    path("webhooks/<int:endpoint_id>/enable", api.WebhookEnableView.as_view(),
         name="webhook-enable"),
    path("webhooks/<int:endpoint_id>/deliveries", api.WebhookDeliveriesView.as_view(),
         name="webhook-deliveries"),
    path("webhooks/<int:endpoint_id>/deliveries/<uuid:delivery_id>/resend",
         api.WebhookDeliveryResendView.as_view(), name="webhook-delivery-resend"),
]
