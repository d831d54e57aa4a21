from django.urls import path

from . import views

urlpatterns = [
    path("projects/<int:project_id>/items/<int:item_id>/sensitivity",
         views.ItemSensitivityView.as_view(), name="item-sensitivity"),
    path("projects/<int:project_id>/items/<int:item_id>/access",
         views.ItemAccessView.as_view(), name="item-access"),
    path("admin/items/<int:item_id>/access", views.AdminItemAccessView.as_view(),
         name="admin-item-access"),
    path("projects/<int:project_id>/erasures", views.ErasureListView.as_view(),
         name="erasure-list"),
    path("projects/<int:project_id>/erasures/<uuid:receipt_id>",
         views.ErasureDetailView.as_view(), name="erasure-detail"),
    path("projects/<int:project_id>/privacy-events", views.PrivacyEventListView.as_view(),
         name="privacy-events"),
]
