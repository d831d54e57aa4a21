from django.contrib import admin
from django.urls import include, path
from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from .health import healthz, metrics

api_v1 = [
    path("", include("marketplace.api.urls")),  # first: it holds the worker's hot path
    path("", include("accounts.api.urls")),
    path("", include("workers.api.urls")),
    path("", include("qa.api.urls")),
    path("", include("payments.api.urls")),
    path("", include("privacy.api.urls")),
    path("", include("simulation.api.urls")),
    path("", include("automation.api.urls")),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(authentication_classes=[],
                                                   permission_classes=[]), name="schema"),
    # Self-hosted Swagger UI and ReDoc. The split view serves Swagger UI's start-up script
    # as a file (no inline script); both inject <style> tags, so only these two pages
    # allow inline styles.
    path("api/docs/", csp_update({"style-src": [UNSAFE_INLINE]})(
        SpectacularSwaggerSplitView.as_view(url_name="schema", authentication_classes=[],
                                            permission_classes=[])), name="docs"),
    path("api/redoc/", csp_update({"style-src": [UNSAFE_INLINE]})(
        SpectacularRedocView.as_view(url_name="schema", template_name="web/redoc.html",
                                     authentication_classes=[], permission_classes=[])),
         name="redoc"),
    path("healthz", healthz, name="healthz"),
    path("healthz/metrics", metrics, name="healthz-metrics"),
    path("admin/", admin.site.urls),
    # The requester console, then the worker web app at the site root.
    path("console/", include("console.urls")),
    path("", include("web.urls")),
]

handler400 = "config.errors.json_bad_request"
handler403 = "config.errors.json_permission_denied"
handler404 = "config.errors.json_not_found"
handler500 = "config.errors.json_server_error"
