from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from .health import healthz, metrics

api_v1 = [
    path("", include("accounts.api.urls")),
    path("", include("marketplace.api.urls")),
    path("", include("workers.api.urls")),
    path("", include("qa.api.urls")),
    path("", include("payments.api.urls")),
    path("", include("privacy.api.urls")),
    path("", include("automation.api.urls")),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(authentication_classes=[],
                                                   permission_classes=[]), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema",
                                                     authentication_classes=[],
                                                     permission_classes=[]), name="docs"),
    path("healthz", healthz, name="healthz"),
    path("healthz/metrics", metrics, name="healthz-metrics"),
    path("admin/", admin.site.urls),
]

handler400 = "config.errors.json_bad_request"
handler403 = "config.errors.json_permission_denied"
handler404 = "config.errors.json_not_found"
handler500 = "config.errors.json_server_error"
