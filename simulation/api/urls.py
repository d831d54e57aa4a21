from django.urls import path

from . import views

urlpatterns = [
    path("projects/<int:project_id>/simulations", views.ProjectSimulationsView.as_view(),
         name="project-simulations"),
    path("simulations/<int:simulation_id>", views.SimulationDetailView.as_view(),
         name="simulation-detail"),
]
