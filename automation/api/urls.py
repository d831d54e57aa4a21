from django.urls import path

from . import views

urlpatterns = [
    path("projects/<int:project_id>/predictions", views.PredictionsView.as_view(),
         name="project-predictions"),
    path("projects/<int:project_id>/automation", views.AutomationView.as_view(),
         name="project-automation"),
    path("projects/<int:project_id>/prediction-endpoint",
         views.PredictionEndpointView.as_view(), name="project-prediction-endpoint"),
    path("projects/<int:project_id>/prediction-endpoint/run",
         views.PredictionEndpointRunView.as_view(), name="project-prediction-endpoint-run"),
]
