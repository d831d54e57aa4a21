from django.urls import path

from . import views

app_name = "console"

urlpatterns = [
    path("", views.projects, name="projects"),
    path("projects/new", views.project_new, name="project-new"),
    path("projects/new/preview", views.project_preview, name="project-preview"),
    path("projects/<int:project_id>/", views.overview, name="overview"),
    path("projects/<int:project_id>/upload", views.upload, name="upload"),
    path("projects/<int:project_id>/transition", views.transition, name="transition"),
    path("projects/<int:project_id>/quality", views.quality, name="quality"),
    path("projects/<int:project_id>/quality/items/<int:item_id>/review", views.item_review,
         name="item-review"),
    path("projects/<int:project_id>/quality/gold/<int:item_id>", views.gold_edit,
         name="gold-edit"),
    path("projects/<int:project_id>/review", views.review, name="review"),
    path("projects/<int:project_id>/review/<int:assignment_id>", views.decide, name="decide"),
    path("projects/<int:project_id>/review/bulk-approve", views.bulk_approve,
         name="bulk-approve"),
    path("projects/<int:project_id>/results", views.results, name="results"),
    path("projects/<int:project_id>/results.<str:file_format>", views.results_download,
         name="results-download"),
    path("webhooks/<int:endpoint_id>/deliveries/<uuid:delivery_id>/resend", views.resend,
         name="resend"),
    path("billing", views.billing, name="billing"),
]
